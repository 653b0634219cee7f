"""The `emergency` scenario of dispatch.py: emergencies published now while 30,000 ordinary posts drain.

Eight sandbox channels on seven platforms (Instagram is left out: it fetches
the image from civicpost's own web server, which this benchmark does not run;
Mastodon has two). Each emergency goes through the real break-glass publish
(rendering, release, audit) in this process and is timed from its commit to
the sandbox receiving the request that carries its words, and to the
delivery's published_at as the worker recorded it.
"""

import json
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import _dispatch_seed as queue
from _dispatch_stack import SECRET_KEY, http_json
from sqlalchemy import Engine, func, select, text

from civicpost import accounts, channels
from civicpost.db import make_sessionmaker, transaction
from civicpost.drafting import break_glass, editing
from civicpost.models import Channel, Delivery, DeliveryStatus, Department, Role, User
from civicpost.platforms import spec
from civicpost.rendering import Renderer
from civicpost.schemas import AnnouncementIn
from civicpost.security import CredentialBox

AIM_MS = 1000
EXTRA = ("facebook", "linkedin", "telegram", "threads", "mastodon")
SANDBOX_NAMES = {"graph": "facebook"}  # the sandbox serves Facebook as Meta's Graph API
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def prepare(engine: Engine, city: queue.City, *, sandbox_url: str) -> tuple[list[int], int]:
    """The eight channels (the three the city has, five more) and an emergency publisher; their ids."""
    box = CredentialBox(SECRET_KEY)
    with transaction(make_sessionmaker(engine)) as session:
        department = session.get(Department, city.department_id)
        ids = list(city.channels.values())
        for n, platform in enumerate(EXTRA):
            sandbox = spec(platform).sandbox
            assert sandbox is not None
            ids.append(channels.create_channel(
                session, actor=None, box=box, department=department, platform=platform,
                name=f"Parks emergencies on {platform} {n}", language="en",
                credentials=sandbox.credentials("parks"), settings=sandbox.settings(sandbox_url)).id)
        user = session.scalar(select(User).where(User.email == "oncall@bench.city"))
        if user is None:
            user = accounts.create_user(session, actor=None, email="oncall@bench.city", name="On call",
                                        role=Role.staff, departments=["parks"],
                                        password="dispatch benchmark, never used")
            user.emergency_publisher = True
        return ids, user.id


class Emergencies:
    """Publishes emergencies now and watches the sandbox for them."""

    def __init__(self, engine: Engine, sandbox: str, channel_ids: list[int], publisher_id: int) -> None:
        self.engine, self.sandbox, self.channel_ids, self.publisher_id = engine, sandbox, channel_ids, publisher_id
        self.sessions = make_sessionmaker(engine)
        self.renderer = Renderer(TEMPLATES)
        self.committed: dict[str, tuple[int, datetime]] = {}  # tag -> (announcement id, commit time)
        # (tag, platform) -> the requests with its words (Mastodon has two channels)
        self.received: dict[tuple[str, str], list[datetime]] = {}
        self._seen = 0
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)

    def publish_now(self, tag: str) -> None:
        with transaction(self.sessions) as session:
            user = session.get(User, self.publisher_id)
            assert user is not None
            data = AnnouncementIn(department="parks", title="Boil water notice",
                                  body=f"{tag}: a water main broke on Elm Street: boil tap water before drinking.",
                                  channels=self.channel_ids, emergency=True)
            announcement = editing.create(session, author=user, data=data, zone=ZoneInfo("UTC"))
            session.flush()
            break_glass.publish_now(session, actor=user, announcement=announcement, renderer=self.renderer,
                                    reason="benchmark", review_hours=24)
            announcement_id = announcement.id
        self.committed[tag] = (announcement_id, datetime.now(UTC))

    def start(self) -> None:
        self._seen = max((e["seq"] for e in http_json("GET", f"{self.sandbox}/_sandbox/requests")["requests"]),
                         default=0)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        self._watcher.join()
        self._poll()

    def _watch(self) -> None:
        # The sandbox keeps its last 20,000 requests: read them as they come, not at the end.
        while not self._stop.wait(0.5):
            self._poll()

    def _poll(self) -> None:
        entries = http_json("GET", f"{self.sandbox}/_sandbox/requests?since={self._seen}")["requests"]
        for entry in entries:
            self._seen = max(self._seen, entry["seq"])
            # Tags are letters and digits only: LinkedIn's text format escapes brackets and the like.
            if entry["method"] != "POST" or "zem" not in (text := json.dumps(entry["body"])):
                continue
            for tag in list(self.committed):
                if tag in text:
                    at = datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
                    platform = SANDBOX_NAMES.get(entry["platform"], entry["platform"])
                    self.received.setdefault((tag, platform), []).append(at)

    def lags(self) -> tuple[dict[str, list[float]], dict[str, list[float]], int]:
        """Per platform: commit -> sandbox received (ms), commit -> published_at (ms); and how many never arrived."""
        received: dict[str, list[float]] = {}
        for (tag, platform), times in self.received.items():
            received.setdefault(platform, []).extend((at - self.committed[tag][1]).total_seconds() * 1000
                                                     for at in times)
        published: dict[str, list[float]] = {}
        by_id = {a: c for a, c in self.committed.values()}
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(Delivery.announcement_id, Delivery.channel_id, Delivery.published_at, Delivery.status,
                       Delivery.last_error)
                .where(Delivery.announcement_id.in_(list(by_id)))).all()
            names = dict(connection.execute(select(Channel.id, Channel.platform)).tuples().all())
        missing = 0
        for announcement_id, channel_id, published_at, status, error in rows:
            if status != DeliveryStatus.published or published_at is None:
                missing += 1
                # Say why, so a miss is explained by the run that saw it.
                print(f"  not published: announcement {announcement_id} on {names[channel_id]}: {status}"
                      f"{f' ({error})' if error else ''}")
                continue
            ms = (published_at - by_id[announcement_id]).total_seconds() * 1000
            published.setdefault(names[channel_id], []).append(ms)
        return received, published, missing


def _settle(engine: Engine, watch: "Emergencies", *, seconds: float) -> None:
    """Wait (up to `seconds`) until every emergency's deliveries are settled: a slow second call
    (Threads publishes a container it made first) is not counted as a miss."""
    ids = [a for a, _ in watch.committed.values()]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            open_left = connection.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.announcement_id.in_(ids), Delivery.status.in_(["pending", "retrying", "sending"])))
        if not open_left:
            return
        time.sleep(0.5)


def _ids_after_seeding(engine: Engine) -> None:
    """The seeding writes announcement ids itself: move PostgreSQL's sequence past them."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("SELECT setval(pg_get_serial_sequence('announcements', 'id'), "
                                    "(SELECT coalesce(max(id), 0) + 1000000 FROM announcements))"))


def run(runner, db, *, count: int, backlog: int, gap: float) -> dict:
    """Seed the backlog, start the workers, publish `count` emergencies `gap` seconds apart while they drain."""
    from _dispatch_stack import workers

    queue.clear(db.engine)
    runner._reset_sandbox()
    channel_ids, publisher = prepare(db.engine, db.city, sandbox_url=runner.sandbox)
    watch = Emergencies(db.engine, runner.sandbox, channel_ids, publisher)
    tag = runner._tag()
    with workers(database_url=db.url, workdir=runner.workdir, count=db.worker_count,
                 concurrency=runner.concurrency) as started:
        deadline = time.monotonic() + 60
        while queue.heartbeats(db.engine) < db.worker_count:
            started.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start:\n{started.output_tail()}")
            time.sleep(0.1)
        time.sleep(2)
        runner._warm_up(db, started, queue.PLATFORMS, tag)
        _ids_after_seeding(db.engine)
        # Every platform's adapter imported (and signed in) in both workers: a few emergencies first, unmeasured.
        for n in range(4):
            watch.publish_now(f"zemw{tag}n{n}e")
        time.sleep(3)
        watch.committed.clear()
        watch.start()
        now = datetime.now(UTC)
        queue.seed_due(db.engine, db.city, deliveries=backlog, platforms=queue.PLATFORMS, due=lambda i: now, tag=tag)
        _ids_after_seeding(db.engine)
        time.sleep(2)  # the drain is under way
        for n in range(count):
            watch.publish_now(f"zem{tag}n{n}e")
            ordinary_left = sum(queue.statuses(db.engine).get(s, 0) for s in ("pending", "retrying"))
            print(f"  emergency {n + 1}/{count} published now with {ordinary_left:,} ordinary deliveries waiting")
            time.sleep(gap)
        _settle(db.engine, watch, seconds=30)
        watch.stop()
    received, published, missing = watch.lags()
    _print(received, published, missing, count)
    return {"received": received, "published": published, "missing": missing}


def _pct(values: list[float]) -> str:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return (f"n={len(ordered):>3}  p50 {statistics.median(ordered):6.0f}  p95 {at(0.95):6.0f}  p99 {at(0.99):6.0f}"
            f"  max {ordered[-1]:6.0f} ms")


def _print(received: dict[str, list[float]], published: dict[str, list[float]], missing: int, count: int) -> None:
    print(f"\nemergency to 8 channels, {count} published now while the ordinary backlog drains (aim: p99 "
          f"{AIM_MS} ms from publish-now's commit to the sandbox receiving it)")
    every = [v for values in received.values() for v in values]
    for platform in sorted(received):
        print(f"  {platform:<10} received   {_pct(received[platform])}   published_at  "
              f"{_pct(published.get(platform, [0.0]))}")
    if every:
        verdict = "within" if sorted(every)[min(len(every) - 1, round(0.99 * (len(every) - 1)))] <= AIM_MS else "OVER"
        print(f"  {'overall':<10} received   {_pct(every)}   ({verdict} the aim)")
    print(f"  deliveries not published by the end: {missing}")
