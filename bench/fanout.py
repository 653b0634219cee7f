"""Fan-out of one emergency to every subscriber of a topic, beside a bare aiosmtplib sender.

    python bench/fanout.py --subscribers 5000          # a first look (about a minute)
    python bench/fanout.py                             # 100,000 subscribers (the issue's size)
    python bench/fanout.py --subscribers 5000 --kill   # a worker killed mid-run, another finishes

A mail server that takes everything with 20 ms per message (aiosmtpd, bench/_fanout_sink.py) runs
in its own process; a real `civicpost worker` process sends one emergency announcement of a
`subscribers` channel to N confirmed subscribers in a scratch PostgreSQL database. Measured:
messages per second, time from the commit of the approved delivery to the last message accepted,
the worker's CPU per message (process CPU time, and PostgreSQL's backends beside it), and
whether every subscriber got it exactly once. The bare baseline (bench/_fanout_bare.py) sends
the same number of messages, with per-recipient headers and links, over the same number of
aiosmtplib connections, to a fresh sink, in the same run. Prints figures, not pass or fail.
"""

import argparse
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from _dispatch_stack import backend_cpu, backend_cpu_spent, cpu_seconds, scratch_postgres
from sqlalchemy import Engine, func, insert, select, text

from civicpost import accounts, channels, migrate
from civicpost.db import NOTIFY_CHANNEL, make_engine, make_sessionmaker, transaction
from civicpost.models import Announcement, Delivery, DeliveryStatus, Role, State, Subscriber, SubscriberSend, Topic
from civicpost.security import CredentialBox
from civicpost.subscribers.crypto import SubscriberBox

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
SECRET_KEY = "fanout-benchmark-key-not-a-secret-0123456789"
CHUNK = 5_000
AIM = {"ratio": 0.8, "last_s": 120}
TITLE = "Boil water notice for the east side"
BODY = "Boil water before drinking: a main broke on Elm Street. The notice lasts until the city says it ends."


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    def __init__(self, workdir: Path, delay_ms: float) -> None:
        self.port = free_port()
        self.status_file = workdir / f"sink-{uuid.uuid4().hex[:6]}.json"
        self.process = subprocess.Popen([sys.executable, str(HERE / "_fanout_sink.py"), str(self.port),
                                         str(self.status_file), str(delay_ms)])
        deadline = time.monotonic() + 20
        while not self.status_file.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the SMTP sink did not start")
            time.sleep(0.05)

    def status(self) -> dict:
        for _ in range(20):
            try:
                return json.loads(self.status_file.read_text())
            except (json.JSONDecodeError, OSError):
                time.sleep(0.01)
        raise RuntimeError("the sink's status cannot be read")

    def stop(self) -> dict:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(20)
        return self.status()


@contextmanager
def sink(workdir: Path, delay_ms: float):
    started = Sink(workdir, delay_ms)
    try:
        yield started
    finally:
        if started.process.poll() is None:
            started.stop()


def worker(database_url: str, workdir: Path, port: int, connections: int, lease_seconds: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    env.update(CIVICPOST_DATABASE_URL=database_url, CIVICPOST_SECRET_KEY=SECRET_KEY, CIVICPOST_ENV="test",
               CIVICPOST_SMTP_HOST="127.0.0.1", CIVICPOST_SMTP_PORT=str(port), CIVICPOST_SMTP_STARTTLS="false",
               CIVICPOST_SMTP_FROM="alerts@bench.city", CIVICPOST_FANOUT_CONNECTIONS=str(connections),
               CIVICPOST_LEASE_SECONDS=str(lease_seconds), CIVICPOST_MEDIA_DIR=str(workdir / "media"))
    log = (workdir / f"worker-{uuid.uuid4().hex[:6]}.log").open("w")
    return subprocess.Popen([str(BIN / "civicpost"), "worker"], env=env, cwd=workdir, stdout=log,
                            stderr=subprocess.STDOUT)


def wait_ready(engine: Engine, before: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with {process.returncode}")
        with engine.connect() as connection:
            alive = connection.scalar(text("SELECT count(*) FROM worker_heartbeats WHERE stopped_at IS NULL"))
            if (alive or 0) > before:
                return
        time.sleep(0.1)
    raise RuntimeError("the worker did not start")


def prepare(engine: Engine, subscribers: int) -> tuple[int, int, int]:
    """A department, its author, a `subscribers` channel and N confirmed subscribers of its topic."""
    migrate.upgrade(engine.url.render_as_string(hide_password=False))
    box, now = SubscriberBox(SECRET_KEY), datetime.now(UTC)
    with transaction(make_sessionmaker(engine)) as session:
        department = accounts.create_department(session, actor=None, slug="water", name="Water Department")
        author = accounts.create_user(session, actor=None, email="pat@bench.city", name="Pat", role=Role.staff,
                                      departments=["water"], password="fan-out benchmark, never used")
        channel = channels.create_channel(session, actor=None, box=CredentialBox(SECRET_KEY), department=department,
                                          platform="subscribers", name="Water subscribers", language="en",
                                          credentials={}, settings={"topics": ["water"]})
        ids = (department.id, author.id, channel.id)
    with engine.begin() as connection:
        for start in range(0, subscribers, CHUNK):
            rows = []
            for i in range(start, min(subscribers, start + CHUNK)):
                email = f"resident{i}@bench.city"
                rows.append({"email_encrypted": box.seal(email), "email_digest": box.digest(email),
                             "email_confirmed_at": now, "link_nonce": secrets.token_hex(16), "bounces": 0,
                             "mode": "immediate", "created_at": now, "updated_at": now})
            connection.execute(insert(Subscriber), rows)
        topic = connection.scalar(select(Topic.id).where(Topic.slug == "water"))
        connection.execute(text("INSERT INTO subscriptions (subscriber_id, topic_id, created_at) "
                                "SELECT id, :topic, :now FROM subscribers"), {"topic": topic, "now": now})
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE subscribers, subscriptions"))
    return ids


def queue_emergency(engine: Engine, department_id: int, author_id: int, channel_id: int) -> None:
    """One approved emergency, its delivery to the channel due now; committed with a NOTIFY."""
    now = datetime.now(UTC)
    fingerprint = hashlib.sha256(b"fanout").hexdigest()
    html = (f'<!doctype html>\n<html lang="en">\n<body>\n<h1>{TITLE}</h1>\n<p>{BODY}</p>\n'
            "<p>— Water Department</p>\n</body>\n</html>")
    with engine.begin() as connection:
        announcement = connection.scalar(insert(Announcement).values(
            department_id=department_id, author_id=author_id, title=TITLE, body=BODY, language="en",
            publish_at=now, emergency=True, state=State.scheduled, version=3, approved_fingerprint=fingerprint,
            approved_at=now, created_at=now, updated_at=now).returning(Announcement.id))
        connection.execute(insert(Delivery).values(
            key=str(uuid.uuid4()), announcement_id=announcement, channel_id=channel_id,
            status=DeliveryStatus.pending, fingerprint=fingerprint, lane=0, attempts=0, due_at=now,
            next_attempt_at=now, reconcile=False, created_at=now, updated_at=now,
            rendition={"text": f"URGENT: {TITLE}\n\n{BODY}\n\n--\nWater Department", "parts": None, "media": [],
                       "extra": {"subject": f"URGENT: {TITLE} — Water Department", "html": html}}))
        connection.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


def open_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(SubscriberSend)
                                 .where(SubscriberSend.state.in_(("pending", "sending")))) or 0


def tally(engine: Engine) -> dict:
    with engine.connect() as connection:
        states = dict(connection.execute(
            select(SubscriberSend.state, func.count()).group_by(SubscriberSend.state)).all())
        reclaimed = connection.scalar(select(func.count()).where(SubscriberSend.reclaimed)) or 0
        delivery = connection.scalar(select(Delivery.status))
    return {"rows": states, "reclaimed": reclaimed, "delivery": delivery}


def engine_run(url: str, workdir: Path, args, ids: tuple[int, int, int]) -> dict:
    engine = make_engine(url)
    with sink(workdir, args.delay_ms) as box:
        first = worker(url, workdir, box.port, args.connections, lease_seconds=args.lease_seconds)
        try:
            wait_ready(engine, 0, first)
            time.sleep(1)  # settled: the idle worker's start-up CPU is not counted
            cpu_before, backends_before = cpu_seconds(first.pid), backend_cpu(engine)
            committed = time.time()
            queue_emergency(engine, *ids)
            killed = None
            if args.kill:
                while box.status()["count"] < args.subscribers // 2:
                    time.sleep(0.01)
                first.kill()
                killed = box.status()["count"]
                first.wait()
                second = worker(url, workdir, box.port, args.connections, lease_seconds=args.lease_seconds)
            deadline = time.monotonic() + args.timeout
            while open_rows(engine) or tally(engine)["delivery"] not in ("published", "failed"):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not done after {args.timeout} s: {box.status()} {tally(engine)}")
                time.sleep(0.2)
            cpu = None if args.kill else cpu_seconds(first.pid) - cpu_before
            backends = backend_cpu_spent(backends_before, backend_cpu(engine))
        finally:
            for process in [first] + ([second] if args.kill else []):
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(30)
        final = box.stop()
    result = {"seconds": final["last"] - committed, "first_s": final["first"] - committed, "cpu": cpu,
              "backends_cpu": backends, "sink": final, "db": tally(engine), "killed_at": killed}
    engine.dispose()
    return result


def bare_run(workdir: Path, args) -> dict:
    with sink(workdir, args.delay_ms) as box:
        out = subprocess.run([sys.executable, str(HERE / "_fanout_bare.py"), str(box.port), str(args.subscribers),
                              str(args.connections)], capture_output=True, text=True, check=True)
        final = box.stop()
    return {**json.loads(out.stdout), "sink": final}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=40,
                        help="SMTP connections, both senders (CIVICPOST_FANOUT_CONNECTIONS's default)")
    parser.add_argument("--delay-ms", type=float, default=20, help="the sink's time per message")
    parser.add_argument("--kill", action="store_true", help="kill -9 the worker halfway; a second one finishes")
    parser.add_argument("--lease-seconds", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--admin-url", default=os.environ.get(
        "CIVICPOST_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    args.lease_seconds = args.lease_seconds or (5 if args.kill else 120)
    n = args.subscribers
    print(f"fan-out of one emergency to {n:,} subscribers, {args.connections} SMTP connections, "
          f"sink {args.delay_ms:g} ms per message; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp, scratch_postgres(args.admin_url) as url:
        workdir = Path(tmp)
        seeded = time.perf_counter()
        ids = prepare(make_engine(url), n)
        print(f"seeded in {time.perf_counter() - seeded:.1f} s")
        bare = bare_run(workdir, args)
        run = engine_run(url, workdir, args, ids)
    sink_seen = run["sink"]
    print(f"\nbare aiosmtplib : {n / bare['seconds']:8.0f} msg/s, last message after {bare['seconds']:6.1f} s, "
          f"CPU {1000 * bare['cpu'] / n:.3f} ms/msg")
    print(f"civicpost worker: {n / run['seconds']:8.0f} msg/s, last message after {run['seconds']:6.1f} s "
          f"(first after {run['first_s']:.2f} s)" + (f", CPU {1000 * run['cpu'] / n:.3f} ms/msg" if run["cpu"] else "")
          + f", PostgreSQL backends {1000 * run['backends_cpu'] / n:.3f} ms/msg")
    print(f"ratio to bare   : {bare['seconds'] / run['seconds']:.2f} (aim >= {AIM['ratio']}); "
          f"last message within {AIM['last_s']} s: {run['seconds'] <= AIM['last_s']}")
    print(f"recipients      : {sink_seen['distinct']:,} of {n:,} (missed {n - sink_seen['distinct']}), "
          f"messages {sink_seen['count']:,}, received twice {sink_seen['twice']}")
    print(f"database        : {run['db']}")
    if args.kill:
        print(f"killed at       : {run['killed_at']:,} messages accepted; rows claimed again after the kill "
              f"(shown as 'maybe twice'): {run['db']['reclaimed']}; duplicates seen: {sink_seen['twice']}")


if __name__ == "__main__":
    main()
