"""`civicpost worker`: APScheduler is the clock, the deliveries table the queue.

One loop thread claims due work under a lease and hands it to a bounded pool
that makes the (blocking) platform calls. The loop sleeps until the next due
time (an APScheduler date job wakes it), or until something new may be due:
an approval in this process, a NOTIFY from PostgreSQL, a commit seen through
SQLite's data_version, or a finished job freeing a slot. SIGTERM stops
claiming, lets calls in flight finish, and releases what never started.
"""

import heapq
import itertools
import logging
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from civicpost import keycheck, renewal
from civicpost.config import Settings
from civicpost.db import make_engine, make_sessionmaker, transaction, utcnow
from civicpost.engine import claims, guard, sending
from civicpost.engine.claims import Job
from civicpost.engine.guard import Ready, Skip, Stop
from civicpost.engine.outcomes import Stopped
from civicpost.engine.recorder import Recorder
from civicpost.engine.wakeups import watch_commits
from civicpost.exports import jobs as exports
from civicpost.fanout import queue as fanout_queue
from civicpost.fanout.sender import FanoutSender
from civicpost.insights.collector import Collector
from civicpost.models import Channel, WorkerHeartbeat
from civicpost.notifications import weekly
from civicpost.notifications.sender import Sender
from civicpost.platforms import spec
from civicpost.replies.collector import Collector as ReplyCollector
from civicpost.runtime import settle_memory
from civicpost.suspensions import expiry

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10
# How often a busy worker also looks for expired leases and retractions (two
# queries each claim would otherwise make); a quiet worker, waking less often, looks every time.
SWEEP_EVERY = timedelta(seconds=1)
# A claimed job waits in the pool's queue for a free send thread; a guard read
# longer ago than this is read again before the send (a slow platform can hold
# every thread for seconds).
GUARD_FRESH_SECONDS = 0.5
# However quiet it seems, look again this often (a missed wake-up costs at most this).
SAFETY_POLL_SECONDS = 30
# Under a steady trickle (a delivery due every few milliseconds) a claim at
# each due time takes one row for a whole transaction; claiming at most this
# often takes several at once, for a few milliseconds of lag.
CLAIM_TICK = timedelta(milliseconds=20)
# How often a worker looks for a records export to write.
EXPORT_POLL_SECONDS = 5


class Worker:
    """Claims, sends and records in threads of this process; `civicpost worker` runs one."""

    def __init__(self, settings: Settings, *, engine: Engine | None = None, name: str | None = None,
                 concurrency: int | None = None) -> None:
        self.settings = settings
        self.concurrency = concurrency or settings.worker_concurrency
        # Every send thread may hold a connection briefly (its own guard read, a release).
        # No pre-ping (a round trip before every claim, read and batch): a
        # connection lost to a database restart fails that one step, which is
        # tried again, and SQLAlchemy then replaces every pooled connection.
        self.engine = engine or make_engine(settings.database_url, pool_size=self.concurrency + 4, max_overflow=8,
                                            pool_pre_ping=False)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self) & 0xFFFF:x}"
        # Reads (the guard before each send, the next due time) need no
        # transaction of their own on PostgreSQL: no BEGIN/COMMIT round trips.
        read = self.engine if settings.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.sessions = make_sessionmaker(read)
        write = self.engine.execution_options(sqlite_begin="IMMEDIATE") if settings.is_sqlite else self.engine
        self.write_sessions: sessionmaker = make_sessionmaker(write)
        self.adapters = sending.Adapters(settings, renew=self._renew_access)
        keycheck.verify(self.write_sessions, settings.fernet_key())  # stop now, not at the first publish
        self.pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="publish")
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        # Claims run ahead of the send threads by as many jobs as there are
        # threads, so a thread that finishes a send starts the next at once
        # instead of waiting for a claim, and a claim takes several rows at a
        # time (claiming half as far ahead, a claim took about four). Outcomes
        # waiting for the recorder are bounded too: a recorder that falls
        # behind slows the claims instead of letting leases pile up.
        self._ahead = max(1, self.concurrency)
        self._held_limit = 4 * self.concurrency
        self._claimed = 0  # jobs claimed whose send has not finished (queued or running)
        # Claimed jobs not yet started, emergency lane first, then in claim order: the pool
        # runs whichever is first when a thread frees up, so an emergency claimed
        # behind a full prefetch of ordinary sends starts next, not after them.
        self._queued: list[tuple[int, int, Job, Ready | None, float]] = []
        self._queued_order = itertools.count()
        self._leased: set[int] = set()  # deliveries claimed and not yet recorded; their leases are renewed
        self._last_sweep = datetime.min.replace(tzinfo=UTC)
        self._last_claim = datetime.min.replace(tzinfo=UTC)
        self._claim_was_full = False
        self.recorder = Recorder(self.write_sessions, settings=settings, written=self._recorded,
                                 take_back_due=self._take_back_now, name=self.name)
        self._thread: threading.Thread | None = None
        # Notifications to staff: their own rows and leases, sent from a scheduler job.
        self.notifier = Sender(settings, self.write_sessions, name=self.name)
        # How posts did: readings under their own leases, from a scheduler job (insights/collector.py).
        self.collector = Collector(settings, self.write_sessions, name=self.name, adapters=self.adapters)
        # Residents' replies: the same kind of leased readings, on the same clock (replies/collector.py).
        self.replies = ReplyCollector(settings, self.write_sessions, name=self.name, adapters=self.adapters)
        # Residents' mail of `subscribers` channels: its own rows and leases, sent from its own thread.
        self.fanout = FanoutSender(settings, self.write_sessions, name=self.name, reads=self.sessions)

    # -- control -------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        """Run in background threads (for `serve --with-worker` and tests)."""
        self._heartbeat()
        self.scheduler.add_job(self._heartbeat, "interval", seconds=HEARTBEAT_SECONDS, id="heartbeat")
        # Three renewals a lease: one late renewal still leaves a third of the lease to spare.
        self.scheduler.add_job(self._renew_leases, "interval", seconds=max(0.2, self.settings.lease_seconds / 3),
                               id="renew-leases")
        self.scheduler.add_job(self.notifier.run_once, "interval", seconds=self.settings.notify_poll_seconds,
                               id="notifications", max_instances=1, coalesce=True)
        # Hourly: the first worker past Monday 8 a.m. writes the week's report of quiet channels.
        self.scheduler.add_job(self._weekly_report, "interval", hours=1, id="weekly-report", max_instances=1,
                               coalesce=True, next_run_time=utcnow() + timedelta(seconds=30))
        self.scheduler.add_job(self._collect, "interval", seconds=self.settings.insights_poll_seconds,
                               id="insights", max_instances=1, coalesce=True)
        # Records exports: one at a time per worker, each under its own lease (exports/jobs.py).
        self.scheduler.add_job(self._export, "interval", seconds=EXPORT_POLL_SECONDS, id="exports", max_instances=1,
                               coalesce=True)
        self.scheduler.add_job(partial(expiry.run_once, self.write_sessions, name=self.name), "interval",
                               seconds=expiry.POLL_SECONDS, id="suspensions-expiry", max_instances=1, coalesce=True)
        self.scheduler.start()
        threading.Thread(target=watch_commits, args=(self.engine, self._wake, self._stopping),
                         name="watch-commits", daemon=True).start()
        self.recorder.start()
        self.fanout.start()
        self._thread = threading.Thread(target=self._loop, name="claim-loop", daemon=True)
        self._thread.start()
        log.info("worker %s started (%d concurrent sends)", self.name, self.concurrency)

    def stop(self, timeout: float | None = None) -> None:
        """Stop claiming, let sends in flight finish, release what never started."""
        if self._stopping.is_set():
            self._stopped.wait(timeout)
            return
        self._stopping.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        # Jobs still queued run `_run`, see the stop and give their claim back.
        self.pool.shutdown(wait=True)
        self.recorder.stop(timeout)
        self.fanout.stop(timeout)
        # Anything still leased to us crashed mid-job: it may have been sent, so reconcile.
        with transaction(self.write_sessions) as session:
            claims.release_all(session, owner=self.name)
        try:
            self.scheduler.shutdown(wait=False)
        except Exception:  # noqa: BLE001 - never started
            pass
        with transaction(self.write_sessions) as session:
            beat = session.get(WorkerHeartbeat, self.name)
            if beat:
                beat.stopped_at = utcnow()
                beat.in_flight = 0
        self._stopped.set()
        log.info("worker %s stopped", self.name)

    def run_forever(self) -> None:
        """The `civicpost worker` command: run until SIGTERM or SIGINT."""
        done = threading.Event()

        def _signal(signum, _frame) -> None:
            log.info("worker %s: %s received, finishing what is in flight", self.name, signal.Signals(signum).name)
            done.set()

        signal.signal(signal.SIGTERM, _signal)
        signal.signal(signal.SIGINT, _signal)
        self.start()
        settle_memory()
        while not done.wait(1):
            pass
        self.stop(timeout=self.settings.publish_timeout_seconds + 5)

    # -- the loop ------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            self._pace()
            if not self._room_to_claim():
                self._wake.wait(0.2)  # a send finishing frees a slot and wakes the loop
                continue
            try:
                claimed = self._claim()
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
                log.exception("worker %s: claiming failed; trying again shortly", self.name)
                self._wake.wait(2)
                continue
            if claimed and self._claim_was_full:
                # More is due: claim again as soon as there is room, without
                # asking when the next is due.
                if self._free_slots() <= 0:
                    self._wake.wait(0.2)  # a send finishing frees a slot and wakes the loop
                continue
            self._sleep_until_next_due()

    def _pace(self) -> None:
        """After a claim that took all that was due, the next waits for the tick:
        a send finishing (or a row coming due) every few milliseconds would
        otherwise cost a claim transaction each."""
        if not self._claim_was_full:
            rest = (self._last_claim + CLAIM_TICK - utcnow()).total_seconds()
            if rest > 0:
                self._stopping.wait(rest)

    def _room_to_claim(self) -> bool:
        """Claim when there are free slots, and, while claimed jobs still wait
        for a thread, only once a few have freed up: one claim of several rows
        rather than a claim per finished send."""
        free, waiting = self._slots()
        return free > 0 and (waiting <= 0 or free >= max(1, self._ahead // 2))

    def _free_slots(self) -> int:
        return self._slots()[0]

    def _slots(self) -> tuple[int, int]:
        """(jobs that may still be claimed, claimed jobs waiting for a send thread)."""
        with self._lock:
            free = min(self.concurrency + self._ahead - self._claimed, self._held_limit - len(self._leased))
            return free, self._claimed - self.concurrency

    def _claim(self) -> int:
        free = self._free_slots()
        if free <= 0:
            return 0
        now = utcnow()
        sweep = now - self._last_sweep >= SWEEP_EVERY
        limit = min(free, 200)
        with transaction(self.write_sessions) as session:
            jobs = claims.claim_due(session, owner=self.name, now=now, limit=limit,
                                    lease_seconds=self.settings.lease_seconds, sweep=sweep)
        self._last_claim, self._claim_was_full = now, len(jobs) == limit
        if sweep:
            self._last_sweep = now
        with self._lock:
            self._claimed += len(jobs)
            self._leased.update(job.delivery_id for job in jobs)
        # The guard for the whole claim in one read, right before the sends start.
        read_at = time.monotonic()
        ready: list[Ready | None]
        try:
            with transaction(self.sessions) as session:
                ready = list(guard.prepare_all(session, jobs, owner=self.name, settings=self.settings))
        except Exception:  # noqa: BLE001 - each job then guards itself
            log.exception("worker %s: reading the claimed deliveries failed; each will read its own", self.name)
            ready = [None] * len(jobs)
        with self._lock:
            for job, guarded in zip(jobs, ready, strict=True):
                heapq.heappush(self._queued, (job.lane, next(self._queued_order), job, guarded, read_at))
        for _ in jobs:
            self.pool.submit(self._run_next)
        return len(jobs)

    def _sleep_until_next_due(self) -> None:
        with self.sessions() as session:
            due = claims.next_due(session, now=utcnow())
        now = utcnow()
        if due is not None and due <= self._last_claim:
            # Due at the last claim and not taken (every slot busy, or another
            # worker holds it): wait for a slot or a moment.
            self._wake.wait(0.2)
            return
        if due is not None and due <= now:
            return  # came due since the last claim
        if due is not None and due < now + timedelta(seconds=SAFETY_POLL_SECONDS):
            self.scheduler.add_job(self.wake, "date", run_date=due, id="next-due", replace_existing=True)
        self._wake.wait(SAFETY_POLL_SECONDS)

    # -- one job -------------------------------------------------------------

    def process(self, job: Job, ready: Ready | None = None) -> None:
        """Do one claimed job in this thread: guard (unless `ready` is what the
        guard read), call the platform, and hand what happened to the recorder."""
        if ready is None:
            with transaction(self.sessions) as session:
                ready = guard.prepare(session, job, owner=self.name, settings=self.settings)
        if isinstance(ready, Skip):
            return
        if not isinstance(ready, Stop) and not ready.take_back and spec(ready.channel.platform).capabilities.fanout:
            # One message per resident: the delivery's rows go to the fan-out, which finishes it.
            with transaction(self.write_sessions) as session:
                fanout_queue.expand(session, delivery_id=ready.delivery.id, owner=self.name, settings=self.settings)
            self.fanout.wake()
            return
        happened = Stopped(ready.held_by) if isinstance(ready, Stop) else sending.attempt(ready, self.adapters)
        self.recorder.record(ready, happened)

    def _run_next(self) -> None:
        # One pool task per claimed job; each takes the first job waiting, not its own.
        with self._lock:
            _lane, _order, job, ready, read_at = heapq.heappop(self._queued)
        self._run(job, ready, read_at)

    def _run(self, job: Job, ready: Ready | None, read_at: float) -> None:
        before = self.recorder.handed_off()
        try:
            if self._stopping.is_set() and job.kind == "publish":
                with transaction(self.write_sessions) as session:
                    claims.release(session, job, owner=self.name)
                return
            if time.monotonic() - read_at > GUARD_FRESH_SECONDS:
                ready = None  # waited long for a thread: cancelled or edited since?
            self.process(job, ready)
        except Exception:  # noqa: BLE001 - keep the worker alive; the lease will expire and reconcile
            log.exception("worker %s: delivery %s crashed in processing", self.name, job.delivery_id)
        finally:
            # The lease is kept (and renewed) until the outcome is written.
            written = self.recorder.handed_off() == before
            with self._lock:
                self._claimed -= 1
                if written:
                    self._leased.discard(job.delivery_id)
            self._wake.set()

    def _recorded(self, delivery_ids: list[int]) -> None:
        with self._lock:
            self._leased.difference_update(delivery_ids)
        self._wake.set()

    def _take_back_now(self) -> None:
        """A post of a retracted announcement landed: the next claim looks for take-backs
        (it otherwise does so once a second)."""
        self._last_sweep = datetime.min.replace(tzinfo=UTC)
        self._wake.set()

    # -- liveness ------------------------------------------------------------

    def _renew_leases(self) -> None:
        """Keep the leases of sends still in progress: a send slower than the
        lease (a thread, a sign-in, a slow platform) must not look abandoned
        and be claimed again. A dead worker stops renewing, and its leases run out."""
        with self._lock:
            leased = sorted(self._leased)
        if not leased:
            return
        try:
            with transaction(self.write_sessions) as session:
                claims.renew(session, leased, owner=self.name,
                             until=utcnow() + timedelta(seconds=self.settings.lease_seconds))
        except Exception:  # noqa: BLE001 - the next renewal tries again
            log.exception("worker %s: renewing leases failed", self.name)

    def _renew_access(self, channel_id: int) -> bytes | None:
        """Before posting with access about to end: renew it (one worker does; the others find it done)
        and answer the channel's sealed credentials as they now are."""
        renewal.renew_if_due(self.write_sessions, self.adapters.box, channel_id, now=utcnow(),
                             timeout=self.settings.publish_timeout_seconds,
                             allow_private_network=self.settings.allow_private_network,
                             before=renewal.RENEW_BEFORE_SENDING)
        with self.sessions() as session:
            return session.scalar(select(Channel.credentials_encrypted).where(Channel.id == channel_id))

    def _weekly_report(self) -> None:
        try:
            with transaction(self.write_sessions) as session:
                weekly.queue_weekly(session, now=utcnow(), zone=self.settings.zone)
        except Exception:  # noqa: BLE001 - tried again in an hour
            log.exception("worker %s: the weekly report of quiet channels could not be written", self.name)

    def _collect(self) -> None:
        try:
            self.collector.run_once()
        except Exception:  # noqa: BLE001 - the next run tries again; the leases run out
            log.exception("worker %s: reading how posts did failed", self.name)
        try:
            self.replies.run_once()
        except Exception:  # noqa: BLE001 - the next run tries again; the leases run out
            log.exception("worker %s: reading residents' replies failed", self.name)

    def _export(self) -> None:
        try:
            while not self._stopping.is_set() and exports.run_once(self.write_sessions, self.settings,
                                                                   owner=self.name):
                pass
        except Exception:  # noqa: BLE001 - the lease runs out and the export is written again
            log.exception("worker %s: writing an export failed", self.name)

    def _heartbeat(self) -> None:
        try:
            with transaction(self.write_sessions) as session:
                beat = session.get(WorkerHeartbeat, self.name)
                if beat is None:
                    beat = WorkerHeartbeat(name=self.name)
                    session.add(beat)
                beat.last_seen_at = utcnow()
                beat.in_flight = self._claimed
                beat.stopped_at = None
        except Exception:  # noqa: BLE001
            log.exception("worker %s: heartbeat failed", self.name)
        self._wake.set()  # also a chance to see expired leases

