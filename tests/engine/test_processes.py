"""The worker as real processes: killed mid-request, stopped with SIGTERM,
run four at a time on PostgreSQL, and beside the web process on SQLite."""

import threading

import httpx
import pytest
from sqlalchemy import func, select

from civicpost.db import transaction
from civicpost.drafting import editing, workflow
from civicpost.models import AuditEvent, Delivery, User
from civicpost.rendering import Renderer
from civicpost.sandbox.testing import running_sandbox
from civicpost.schemas import AnnouncementIn
from tests.engine.observing import state_of, wait_for
from tests.engine.processes import WorkerProcess
from tests.factories import create_approved, create_channel

pytestmark = pytest.mark.slow

CREATE_PATHS = {"x": "/x/2/tweets", "facebook": "/feed", "mastodon": "/api/v1/statuses", "bluesky": "createRecord"}


@pytest.fixture
def sandbox():
    with running_sandbox() as base:
        yield base


@pytest.fixture
def processes(database_url, settings, tmp_path):
    started: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:
        defaults = {"lease_seconds": 3, "publish_timeout_seconds": 60, "retry_base_seconds": 0.1, "retry_max_seconds": 0.5}
        p = WorkerProcess(database_url=database_url, secret_key=settings.secret_key.get_secret_value(),
                          workdir=tmp_path, **{**defaults, **kwargs})
        started.append(p)
        return p

    yield start
    for p in started:
        p.close()


def sandbox_channels(client, city, base: str) -> dict[str, int]:
    return {platform: create_channel(client, city.admin, platform, base=base) for platform in CREATE_PATHS}


def creates(base: str, platform: str) -> list[dict]:
    name = "graph" if platform == "facebook" else platform
    entries = httpx.get(f"{base}/_sandbox/requests", params={"platform": name}).json()["requests"]
    return [e for e in entries if e["method"] == "POST" and e["path"].endswith(CREATE_PATHS[platform])]


def test_a_worker_killed_mid_request_leaves_posts_that_the_next_worker_finds_not_reposts(client, city, sandbox, processes, sessions):
    channels = sandbox_channels(client, city, sandbox)
    # Every platform accepts the post, then never answers: the worker is mid-request.
    httpx.post(f"{sandbox}/_sandbox/faults", json={"*": {"hang_next": 1, "hang_max_s": 120}}).raise_for_status()
    a = create_approved(client, city, channels=list(channels.values()))
    first = processes()
    wait_for(lambda: all(creates(sandbox, p) for p in channels), timeout=60)
    first.kill()

    second = processes()
    got = wait_for(lambda: (s := state_of(client, city, a["id"]))["state"] == "published" and s, timeout=60)
    for platform in channels:
        assert len(creates(sandbox, platform)) == 1, (platform, second.output())
    assert all(d["remote_id"] for d in got["deliveries"])
    with sessions() as session:
        found = [e.detail for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "delivery.published"))]
    assert all(d["found_on_platform"] for d in found) and len(found) == 4


def test_sigterm_finishes_what_is_in_flight_and_exits_cleanly(client, city, sandbox, processes, sessions):
    channels = sandbox_channels(client, city, sandbox)
    httpx.post(f"{sandbox}/_sandbox/faults", json={"*": {"latency_ms": 1500}}).raise_for_status()
    a = create_approved(client, city, channels=list(channels.values()))
    worker = processes(concurrency=2)
    wait_for(lambda: sum(len(creates(sandbox, p)) for p in channels) >= 1, timeout=60)
    assert worker.terminate(timeout=60) == 0, worker.output()
    with sessions() as session:
        statuses = session.scalars(select(Delivery.status).where(Delivery.announcement_id == a["id"])).all()
    # Sends in flight finished; claims that never started were given back.
    assert "sending" not in statuses
    assert statuses.count("published") >= 1
    assert sum(len(creates(sandbox, p)) for p in channels) == statuses.count("published")
    processes()
    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published", timeout=60)
    assert all(len(creates(sandbox, p)) == 1 for p in channels)


def test_a_send_slower_than_its_lease_keeps_the_lease_and_posts_once(client, city, sandbox, processes, sessions):
    channels = sandbox_channels(client, city, sandbox)
    # Every answer takes 2.5 s; Bluesky signs in first, so its send takes 5 s: two and a half leases.
    httpx.post(f"{sandbox}/_sandbox/faults", json={"*": {"latency_ms": 2500}}).raise_for_status()
    a = create_approved(client, city, channels=list(channels.values()))
    worker = processes(lease_seconds=2)
    got = wait_for(lambda: (s := state_of(client, city, a["id"]))["state"] == "published" and s, timeout=90)
    for platform in channels:
        assert len(creates(sandbox, platform)) == 1, (platform, worker.output())
    # Nobody took a lease that was still being used: one attempt each, nothing reconciled.
    assert [d["attempts"] for d in got["deliveries"]] == [1, 1, 1, 1]
    with sessions() as session:
        found = [e.detail for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "delivery.published"))]
    assert len(found) == 4 and not any(d["found_on_platform"] for d in found)


def test_four_workers_on_postgresql_publish_two_thousand_deliveries_each_exactly_once(
    client, city, receiver, processes, sessions, settings, is_postgres
):
    if not is_postgres:
        pytest.skip("scale-out is PostgreSQL's job; this runs in the suite's PostgreSQL pass")
    hooks = [create_channel(client, city.admin, "webhook", name=f"Hook {n}", settings={"url": receiver.url})
             for n in range(10)]
    renderer = Renderer(settings.templates_dir)
    with transaction(sessions) as session:
        author = session.get(User, city.parks_staff.id)
        approver = session.get(User, city.approver.id)
        for n in range(200):
            a = editing.create(
                session, author=author, zone=settings.zone,
                data=AnnouncementIn(department="parks", title=f"Notice {n}", body=f"Body {n}.", channels=hooks),
            )
            workflow.submit(session, actor=author, announcement=a, renderer=renderer)
            workflow.approve(session, actor=approver, announcement=a, renderer=renderer,
                             seen_fingerprint=workflow.current_fingerprint(renderer, a))
    workers = [processes(concurrency=8) for _ in range(4)]

    def done() -> bool:
        with sessions() as session:
            return session.scalar(select(func.count()).where(Delivery.status == "published")) == 2000

    wait_for(done, timeout=240, interval=0.5)
    keys = [r.headers["idempotency-key"] for r in receiver.received]
    assert len(keys) == 2000 and len(set(keys)) == 2000
    with sessions() as session:
        owners = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "delivery.published")
        ).all()
    assert len(owners) == 2000
    for w in workers:
        assert w.terminate() == 0


def test_a_worker_on_sqlite_publishes_while_the_web_process_keeps_writing(client, city, receiver, processes, is_postgres):
    if is_postgres:
        pytest.skip("this is the SQLite pairing")
    hook = create_channel(client, city.admin, "webhook", name="Partner hook", settings={"url": receiver.url})
    processes(concurrency=4)
    errors: list[str] = []
    ids: list[int] = []

    def drafting() -> None:
        for n in range(30):
            try:
                a = create_approved(client, city, channels=[hook, city.parks_channels[0]], title=f"Notice {n}")
                ids.append(a["id"])
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))

    t = threading.Thread(target=drafting)
    t.start()
    t.join(timeout=120)
    assert errors == []
    wait_for(lambda: all(state_of(client, city, i)["state"] == "published" for i in ids), timeout=60, interval=0.5)
    assert len(receiver.published()) == 30
    assert len({r.headers["idempotency-key"] for r in receiver.published()}) == 30
