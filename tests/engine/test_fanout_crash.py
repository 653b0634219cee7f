"""A worker process killed while it sends residents' mail: another finishes, nobody is missed, and
those who may have got it twice are counted (real processes, a real SMTP server)."""

import asyncio
import socket
import threading
from collections import Counter

import pytest
from aiosmtpd.controller import Controller

from tests.engine.observing import state_of, wait_for
from tests.engine.processes import WorkerProcess
from tests.factories import create_approved, create_channel, create_subscribers

pytestmark = pytest.mark.slow

RESIDENTS = 400


class SlowInbox:
    """Takes every message, 20 ms each (a busy mail server), and counts them per recipient."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.02)
        with self.lock:
            self.received.update(envelope.rcpt_tos)
        return "250 Message accepted"

    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())


@pytest.fixture
def inbox():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    found = SlowInbox()
    controller = Controller(found, hostname="127.0.0.1", port=port)
    controller.start()
    yield found, port
    controller.stop()


def test_a_worker_killed_mid_fan_out_leaves_nobody_missed_and_the_possible_doubles_counted(
        client, city, sessions, settings, database_url, tmp_path, inbox):
    received, port = inbox
    create_subscribers(sessions, settings.fernet_key(), "parks", [f"r{i}@example.org" for i in range(RESIDENTS)])
    channel = create_channel(client, city.admin, "subscribers", settings={"topics": ["parks"]})
    mail = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": "false", "fanout_connections": 4,
            "lease_seconds": 2, "retry_base_seconds": 0.1, "retry_max_seconds": 0.5}
    workers = []

    def start() -> WorkerProcess:
        workers.append(WorkerProcess(database_url=database_url, secret_key=settings.secret_key.get_secret_value(),
                                     workdir=tmp_path, **mail))
        return workers[-1]

    try:
        first = start()
        a = create_approved(client, city, channels=[channel])
        wait_for(lambda: received.total() >= RESIDENTS // 3, timeout=60)
        first.kill()
        start()
        wait_for(lambda: state_of(client, city, a["id"])["state"] == "published", timeout=90)
    finally:
        for worker in workers:
            worker.close()

    assert len(received.received) == RESIDENTS, "a resident was missed"
    twice = sum(n - 1 for n in received.received.values())
    counts = state_of(client, city, a["id"])["residents"]
    assert counts["sent"] == RESIDENTS and counts["pending"] == 0
    assert twice <= counts["maybe_twice"] and counts["maybe_twice"] > 0
