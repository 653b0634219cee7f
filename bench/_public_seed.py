"""What the public site shows, on top of _api_seed's city: every published
announcement's post on the city's site, the current emergency, and a queue of
approved announcements the worker publishes while the surge runs.

Bulk rows go in through SQLAlchemy Core in chunks, as _api_seed's do.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, update

from civicpost.db import make_engine
from civicpost.models import Announcement, Channel, Delivery, DeliveryStatus, State

CHUNK = 5_000
FINGERPRINT = "0" * 64  # _api_seed's approved_fingerprint
ALERT = {
    "event": "Boil water advisory", "category": "Health", "urgency": "Immediate", "severity": "Severe",
    "certainty": "Observed", "instruction": "Boil tap water for one minute before drinking, cooking or brushing "
    "teeth until the advisory is lifted.", "area_desc": "East side, Elm to Oak Street",
    "polygon": "39.78,-89.65 39.79,-89.64 39.77,-89.63 39.78,-89.65", "exercise": False,
}


@dataclass(frozen=True)
class PublicSeed:
    emergency_id: int
    queued: int  # approved announcements waiting for the worker


def seed_public(url: str, *, queue: int) -> PublicSeed:
    engine = make_engine(url)
    try:
        site = _site_channels(engine)
        _published_posts(engine, site)
        emergency = _emergency(engine, site)
        queued = _queue(engine, site, queue)
    finally:
        engine.dispose()
    return PublicSeed(emergency, queued)


def release(url: str, *, count: int, over_seconds: float, starting_in: float = 1.0) -> int:
    """Make the next `count` queued deliveries due one after another over the coming run; how many were."""
    engine = make_engine(url)
    try:
        now = datetime.now(UTC)
        with engine.begin() as connection:
            ids = connection.scalars(
                select(Delivery.id).where(Delivery.status == DeliveryStatus.pending,
                                          Delivery.next_attempt_at > now + timedelta(days=300))
                .order_by(Delivery.id).limit(count)).all()
            step = over_seconds / max(1, len(ids))
            table = Delivery.__table__
            if ids:
                connection.execute(
                    update(table).where(table.c.id == bindparam("delivery_id"))
                    .values(next_attempt_at=bindparam("due"), due_at=bindparam("due")),
                    [{"delivery_id": i, "due": now + timedelta(seconds=starting_in + n * step)}
                     for n, i in enumerate(ids)])
        return len(ids)
    finally:
        engine.dispose()


def _site_channels(engine: Engine) -> dict[int, int]:
    """Department id -> its city-site (feed) channel."""
    with engine.connect() as connection:
        rows = connection.execute(select(Channel.department_id, Channel.id).where(Channel.platform == "feed")).all()
        return {department_id: channel_id for department_id, channel_id in rows}


def _published_posts(engine: Engine, site: dict[int, int]) -> None:
    """A post on the city's site for every announcement that went out (taken back for the retracted ones)."""
    went_out = (State.published, State.retracted, State.failed, State.publishing)
    with engine.begin() as connection:
        rows = connection.execute(
            select(Announcement.id, Announcement.department_id, Announcement.state, Announcement.body,
                   Announcement.language, Announcement.publish_at)
            .where(Announcement.state.in_(went_out)).order_by(Announcement.id)).all()
        for first in range(0, len(rows), CHUNK):
            batch: list[dict[str, Any]] = []
            for row in rows[first:first + CHUNK]:
                at = row.publish_at or datetime.now(UTC)
                retracted = row.state == State.retracted
                batch.append(_delivery(row.id, site[row.department_id], body=row.body, language=row.language,
                                       status=DeliveryStatus.retracted if retracted else DeliveryStatus.published,
                                       due=at, published_at=at, retracted_at=at + timedelta(hours=2) if retracted
                                       else None))
            connection.execute(insert(Delivery), batch)


def _emergency(engine: Engine, site: dict[int, int]) -> int:
    """The boil-water advisory every post links to: published ten minutes ago, in effect for six hours."""
    now = datetime.now(UTC)
    department_id = min(site)
    with engine.begin() as connection:
        author = connection.scalar(select(Announcement.author_id).where(Announcement.department_id == department_id)
                                   .limit(1))
        body = ("A water main break on Elm Street has lowered pressure on the east side. Until further notice, boil "
                "tap water for one minute before drinking it, cooking with it or brushing teeth.\n\nBottled water is "
                "handed out at the Oak Street fire station from 8 a.m. to 8 p.m. Crews expect repairs to take two "
                "days; this page is updated as they go.")
        emergency_id = connection.execute(insert(Announcement).returning(Announcement.id), {
            "department_id": department_id, "author_id": author, "title": "Boil water advisory for the east side",
            "body": body, "link": None, "language": "en", "publish_at": now - timedelta(minutes=10),
            "emergency": True, "alert": {**ALERT, "expires": (now + timedelta(hours=6)).isoformat()},
            "state": State.published, "version": 3, "approved_fingerprint": FINGERPRINT, "approved_by_id": None,
            "approved_at": now - timedelta(minutes=11), "created_at": now - timedelta(minutes=20),
            "updated_at": now - timedelta(minutes=10),
        }).scalar_one()
        connection.execute(insert(Delivery), [_delivery(
            emergency_id, site[department_id], body=body, language="en", status=DeliveryStatus.published,
            due=now - timedelta(minutes=10), published_at=now - timedelta(minutes=10))])
    return emergency_id


def _queue(engine: Engine, site: dict[int, int], count: int) -> int:
    """Approved announcements on the city's site, due far in the future until release() makes them due."""
    later = datetime.now(UTC) + timedelta(days=365)
    with engine.begin() as connection:
        author_of = dict(connection.execute(select(Announcement.department_id, func.min(Announcement.author_id))
                                            .group_by(Announcement.department_id)).all())
        departments = sorted(site)
        rows = [{
            "department_id": (department := departments[n % len(departments)]), "author_id": author_of[department],
            "title": f"Update {n}: water distribution points", "body": f"Update {n}: bottled water is handed out at "
            "the Oak Street fire station and the library until 8 p.m.", "link": None, "language": "en",
            "publish_at": later, "emergency": False, "alert": None, "state": State.scheduled, "version": 3,
            "approved_fingerprint": FINGERPRINT, "approved_by_id": None, "approved_at": later,
            "created_at": later, "updated_at": later,
        } for n in range(count)]
        ids = connection.execute(insert(Announcement).returning(Announcement.id), rows).scalars().all() if rows else []
        if ids:
            connection.execute(insert(Delivery), [
                _delivery(i, site[row["department_id"]], body=row["body"], language="en",
                          status=DeliveryStatus.pending, due=later, published_at=None)
                for i, row in zip(ids, rows, strict=True)])
    return len(ids)


def _delivery(announcement_id: int, channel_id: int, *, body: str, language: str, status: str, due: datetime,
              published_at: datetime | None, retracted_at: datetime | None = None) -> dict[str, Any]:
    key = str(uuid.uuid4())
    return {
        "key": key, "announcement_id": announcement_id, "channel_id": channel_id, "status": status,
        "fingerprint": FINGERPRINT, "rendition": {"text": body, "language": language, "media": []},
        "attempts": 1 if published_at else 0, "lane": 1, "due_at": due, "next_attempt_at": due,
        "remote_id": key if published_at else None, "published_at": published_at, "retracted_at": retracted_at,
        "reconcile": False, "created_at": due, "updated_at": published_at or due,
    }
