"""Reading how posts did, as one of the worker's APScheduler jobs (SPEC §8.3).

Each run sweeps for newly published posts (off the publishing path: the
publish records nothing here), claims the readings that are due under a
lease, reads each channel's batch from its platform outside any transaction,
and writes what it read in a new transaction while the lease is still ours.
A 429 pushes all of that channel's readings past the platform's wait.
Readings never count against a platform's posting limits (quotas.py counts
deliveries only).
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from civicpost import renewal
from civicpost.config import Settings
from civicpost.db import transaction, utcnow
from civicpost.engine.sending import Adapters
from civicpost.insights import jobs
from civicpost.insights.jobs import Batch, Post
from civicpost.models import Channel, MetricSnapshot
from civicpost.platforms import (
    AccessEnds,
    Counts,
    CredentialsError,
    LatestPost,
    Metrics,
    PermanentError,
    PlatformError,
    RateLimited,
    spec,
)
from civicpost.security import CredentialBox, CredentialsUnreadable

log = logging.getLogger(__name__)

# Post readings claimed per run; a run that took them all runs again at once.
CLAIM_LIMIT = 200
# A claim's lease: long enough for its slowest reading (Threads and Instagram take one call a
# post), and at least the deliveries' lease. A reading that outlives it writes nothing.
LEASE_SECONDS = 600
# A 429 that does not say how long: wait this long.
DEFAULT_WAIT = timedelta(minutes=15)


@dataclass
class Reading:
    """What one batch's platform calls gave: counts by delivery id, followers, or the error."""

    counts: dict[int, Counts]
    followers: int | None = None
    # When the account last posted, in any app (read with the followers, where the platform tells).
    latest_post_at: datetime | None = None
    # When the channel's access ends, where the platform tells (read with the followers).
    access_ends_at: datetime | None = None
    access_told: bool = False
    error: Exception | None = None


def read(batch: Batch, adapters: Adapters) -> Reading:
    """The platform calls for one batch, in chunks of the platform's own size. No database here."""
    reading = Reading(counts={})
    try:
        adapter = adapters.get(batch.channel)
    except (PlatformError, CredentialsUnreadable) as exc:
        reading.error = exc
        return reading
    if not isinstance(adapter, Metrics):
        reading.error = PlatformError(f"{spec(batch.channel.platform).label} does not tell civicpost how posts do")
        return reading
    size = max(1, spec(batch.channel.platform).metrics_batch)
    try:
        if batch.followers:
            reading.followers = adapter.followers()
            reading.latest_post_at = _latest_post(batch.channel, adapter)
            _access_ends(batch.channel, adapter, reading)
        for start in range(0, len(batch.posts), size):
            chunk = batch.posts[start:start + size]
            by_remote = {post.remote_id: post.delivery_id for post in chunk}
            for remote_id, counts in adapter.read_counts(list(by_remote)).items():
                if remote_id in by_remote:
                    reading.counts[by_remote[remote_id]] = counts
    except Exception as exc:  # noqa: BLE001 - every error is written on the rows, in words
        reading.error = exc
    return reading


def _access_ends(channel: Channel, adapter: object, reading: Reading) -> None:
    """When the channel's access ends, where the platform tells; a debugger that will not
    answer leaves the last known time (the followers were read all the same)."""
    if not isinstance(adapter, AccessEnds):
        return
    try:
        reading.access_ends_at, reading.access_told = adapter.access_ends_at(), True
    except CredentialsError:
        raise
    except PlatformError as exc:
        log.info("channel %s: when its access ends cannot be read (%s)", channel.id, exc)


def _latest_post(channel: Channel, adapter: object) -> datetime | None:
    if not (spec(channel.platform).capabilities.latest_post and isinstance(adapter, LatestPost)):
        return None
    try:
        return adapter.latest_post_at()
    except CredentialsError:
        raise
    except PermanentError as exc:
        # X's lower access levels cannot read a timeline: the channel still works, civicpost's own posts count.
        log.info("channel %s: its latest post cannot be read (%s)", channel.id, exc)
        return None


class Collector:
    def __init__(self, settings: Settings, write_sessions: sessionmaker[Session], *, name: str,
                 adapters: Adapters | None = None) -> None:
        self.settings = settings
        self.sessions = write_sessions
        self.name = name
        self.adapters = adapters or Adapters(settings)
        self._last_sweep = 0.0

    def run_once(self, *, now: datetime | None = None) -> int:
        """Sweep (at most once a minute), claim what is due and read it; answers how many posts were read."""
        total = 0
        if time.monotonic() - self._last_sweep >= 60 or now is not None:
            with transaction(self.sessions) as session:
                jobs.sweep(session, now=now or utcnow())
            self._last_sweep = time.monotonic()
        while True:
            moment = now or utcnow()
            with transaction(self.sessions) as session:
                batches = jobs.claim(session, owner=self.name, now=moment, limit=CLAIM_LIMIT,
                                     lease_seconds=max(LEASE_SECONDS, self.settings.lease_seconds))
            if not batches:
                return total
            for batch in batches:
                total += self.collect(batch, now=now)
            if sum(len(b.posts) for b in batches) < CLAIM_LIMIT:
                return total

    def collect(self, batch: Batch, *, now: datetime | None = None) -> int:
        """Read one claimed batch and write it (or its error) while the lease is ours."""
        if batch.followers and renewal.renewer(batch.channel.platform) is not None:
            self._renew(batch, now=now or utcnow())
        reading = read(batch, self.adapters)
        moment = now or utcnow()
        with transaction(self.sessions) as session:
            if reading.error is not None:
                self._failed(session, batch, reading.error, now=moment)
                return 0
            written = jobs.record_posts(session, batch.channel, reading.counts, batch.posts, owner=self.name,
                                        now=moment, zone=self.settings.zone)
            if batch.followers:
                held = jobs.record_followers(session, batch.channel.id, reading.followers, owner=self.name,
                                             now=moment, latest_post_at=reading.latest_post_at)
                if held and reading.access_told:
                    jobs.access_ends(session, batch.channel.id, reading.access_ends_at)
        return written

    def _renew(self, batch: Batch, *, now: datetime) -> None:
        """The daily reading renews access that ends within a day, then reads with the new credentials."""
        renewal.renew_if_due(self.sessions, CredentialBox(self.settings.fernet_key()), batch.channel.id, now=now,
                            timeout=self.settings.publish_timeout_seconds,
                            allow_private_network=self.settings.allow_private_network)
        with self.sessions() as session:
            batch.channel = session.get(Channel, batch.channel.id) or batch.channel

    def _failed(self, session: Session, batch: Batch, error: Exception, *, now: datetime) -> None:
        label = spec(batch.channel.platform).label
        if isinstance(error, RateLimited):
            wait = timedelta(seconds=error.retry_after) if error.retry_after is not None else DEFAULT_WAIT
            until = now + max(wait, timedelta(seconds=1))
            message = f"{label} asked civicpost to wait before reading again ({error}); next reading after " \
                      f"{until:%Y-%m-%d %H:%M} UTC"
            jobs.failed(session, batch, message, owner=self.name, now=now, wait_until=until)
        else:
            message = f"Reading how posts did on {label} failed: {error}"
            jobs.failed(session, batch, message, owner=self.name, now=now)
        log.warning("channel %s: %s", batch.channel.id, message)

    def collect_now(self, *, now: datetime | None = None) -> tuple[int, list[str]]:
        """Every published post's counts at once, stage "now", and each channel's followers
        (`civicpost insights collect --now`); the scheduled readings stay as they are.
        Answers how many posts were read and each channel's error, in words."""
        moment = now or utcnow()
        with transaction(self.sessions) as session:
            channels = jobs.published(session)
        read_posts, problems = 0, []
        for channel, posts in channels:
            reading = read(Batch(channel, posts, followers=True), self.adapters)
            if reading.error is not None:
                problems.append(f"{channel.name} ({spec(channel.platform).label}): {reading.error}")
                continue
            with transaction(self.sessions) as session:
                self._write_now(session, channel, posts, reading, now=moment)
            read_posts += len(reading.counts)
        return read_posts, problems

    def _write_now(self, session: Session, channel: Channel, posts: list[Post], reading: Reading, *,
                   now: datetime) -> None:
        jobs.saw_post(session, channel.id, reading.latest_post_at)
        if reading.followers is not None:
            session.add(MetricSnapshot(channel_id=channel.id, delivery_id=None, taken_at=now, stage="now",
                                       name="followers", value=reading.followers))
            session.flush()
        counts = jobs.with_clicks(session, channel.id, reading.counts)
        snapshots = [{"channel_id": channel.id, "delivery_id": delivery_id, "taken_at": now, "stage": "now",
                      "name": name, "value": value}
                     for delivery_id, read in counts.items() for name, value in read.items()]
        if snapshots:
            session.execute(insert(MetricSnapshot), snapshots)
        jobs.summarise(session, channel, counts, stage={p.delivery_id: "now" for p in posts},
                       zone=self.settings.zone)
