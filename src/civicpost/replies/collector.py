"""Reading residents' replies, as one of the worker's scheduled jobs.

Each run sweeps for newly published posts, claims the readings that are due
under a lease, reads each post's replies from its platform outside any
transaction, and writes them in a new transaction while the lease is still
ours. A 429 pushes every reading of that channel past the platform's wait; an
account whose access level may not read replies is noted on its channel once
and not asked again. Readings never count against a platform's posting limits.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from civicpost.config import Settings
from civicpost.db import transaction, utcnow
from civicpost.engine.sending import Adapters
from civicpost.models import Channel
from civicpost.platforms import NotReadable, PlatformError, PostGone, RateLimited, Replies, spec
from civicpost.platforms import Reply as Read
from civicpost.replies import jobs
from civicpost.replies.jobs import Batch, Post
from civicpost.security import CredentialsUnreadable

log = logging.getLogger(__name__)

CLAIM_LIMIT = 100
# Long enough for a batch's slowest reading (one call a post); a reading that outlives it writes nothing.
LEASE_SECONDS = 600
# A 429 that does not say how long: wait this long.
DEFAULT_WAIT = timedelta(minutes=15)


@dataclass
class Reading:
    """What one batch's platform calls gave: replies by post, posts gone, and where it stopped."""

    found: list[tuple[Post, list[Read]]] = field(default_factory=list)
    gone: list[Post] = field(default_factory=list)
    unread: list[Post] = field(default_factory=list)
    error: Exception | None = None


def read(batch: Batch, adapters: Adapters) -> Reading:
    """The platform calls for one batch, a post at a time, stopping at the first error. No database here."""
    reading = Reading()
    try:
        adapter = adapters.get(batch.channel)
        if not isinstance(adapter, Replies):
            raise PlatformError(f"{spec(batch.channel.platform).label} does not let civicpost read replies")
    except (PlatformError, CredentialsUnreadable) as exc:
        reading.error, reading.unread = exc, list(batch.posts)
        return reading
    for n, post in enumerate(batch.posts):
        try:
            reading.found.append((post, adapter.read_replies(post.remote_id)))
        except PostGone:
            reading.gone.append(post)
        except Exception as exc:  # noqa: BLE001 - every error is written on the rows, in words
            reading.error, reading.unread = exc, batch.posts[n:]
            break
    return reading


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
            with transaction(self.sessions) as session:
                batches = jobs.claim(session, owner=self.name, now=now or utcnow(), limit=CLAIM_LIMIT,
                                     lease_seconds=max(LEASE_SECONDS, self.settings.lease_seconds))
            if not batches:
                return total
            for batch in batches:
                total += self.collect(batch, now=now)
            if sum(len(b.posts) for b in batches) < CLAIM_LIMIT:
                return total

    def collect(self, batch: Batch, *, now: datetime | None = None) -> int:
        """Read one claimed batch and write what it gave (and its error) while the leases are ours."""
        reading = read(batch, self.adapters)
        moment = now or utcnow()
        written = 0
        with transaction(self.sessions) as session:
            for post, found in reading.found:
                if jobs.ours(session, post, owner=self.name):
                    jobs.keep(session, batch.channel, post, found, now=moment)
                    jobs.advance(session, post, now=moment)
                    written += 1
            for post in reading.gone:
                if jobs.ours(session, post, owner=self.name):
                    jobs.remote_deleted(session, post, now=moment)
                    written += 1
            if reading.error is not None:
                self._failed(session, batch, reading, now=moment)
        return written

    def _failed(self, session: Session, batch: Batch, reading: Reading, *, now: datetime) -> None:
        error = reading.error
        label = spec(batch.channel.platform).label
        if isinstance(error, NotReadable):
            message = f"{label} does not let this account read replies at its access level: {error}"
            jobs.unreadable(session, batch.channel.id, message, now=now)
        elif isinstance(error, RateLimited):
            wait = timedelta(seconds=error.retry_after) if error.retry_after is not None else DEFAULT_WAIT
            until = now + max(wait, timedelta(seconds=1))
            message = (f"{label} asked civicpost to wait before reading replies again ({error}); "
                       f"next reading after {until:%Y-%m-%d %H:%M} UTC")
            jobs.failed(session, batch, reading.unread, message, owner=self.name, now=now, wait_until=until)
        else:
            message = f"Reading replies on {label} failed: {error}"
            jobs.failed(session, batch, reading.unread, message, owner=self.name, now=now)
        log.warning("channel %s: %s", batch.channel.id, message)

    def collect_now(self, *, now: datetime | None = None) -> tuple[int, list[str]]:
        """Every published post's replies at once (`civicpost replies collect --now`), also on a channel
        noted as unable to read them (a success clears the note); the schedule stays as it is.
        Answers how many posts were read and each channel's error, in words."""
        moment = now or utcnow()
        with transaction(self.sessions) as session:
            batches = jobs.published(session)
        done, problems = 0, []
        for batch in batches:
            reading = read(batch, self.adapters)
            with transaction(self.sessions) as session:
                for post, found in reading.found:
                    jobs.keep(session, batch.channel, post, found, now=moment)
                for post in reading.gone:
                    jobs.remote_deleted(session, post, now=moment)
                if reading.error is None:
                    session.execute(update(Channel).where(Channel.id == batch.channel.id)
                                    .values(replies_unreadable=None, replies_unreadable_at=None))
                elif isinstance(reading.error, NotReadable):
                    jobs.unreadable(session, batch.channel.id, str(reading.error), now=moment)
            done += len(reading.found) + len(reading.gone)
            if reading.error is not None:
                problems.append(f"{batch.channel.name} ({spec(batch.channel.platform).label}): {reading.error}")
        return done, problems
