"""A city with sandbox channels, and due deliveries put straight into the queue.

Approving 10,000 announcements through the workflow would measure rendering,
not dispatch; so announcements go in as `scheduled` with an approved
fingerprint, and their deliveries as `pending` with the rendition the worker
sends (what `engine.guard.prepare` reads), through SQLAlchemy Core in chunks.
"""

import hashlib
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from _dispatch_stack import SECRET_KEY
from sqlalchemy import Engine, func, insert, select, text

from civicpost import accounts, channels, migrate
from civicpost.db import NOTIFY_CHANNEL, make_sessionmaker, transaction
from civicpost.models import Announcement, Channel, Delivery, DeliveryStatus, Role, State
from civicpost.security import CredentialBox

PLATFORMS = ("x", "mastodon", "bluesky")
SANDBOX = {
    "x": ({"consumer_key": "k", "consumer_secret": "s", "access_token": "t", "access_token_secret": "ts"}, "/x"),
    "mastodon": ({"access_token": "tok"}, "/mastodon"),
    "bluesky": ({"handle": "parks.bench.city", "app_password": "pw-pw-pw-pw"}, "/bluesky"),
}
CHUNK = 5_000
# Wording close to a real notice: one link (Bluesky facets, X's t.co count), well under every limit.
WORDING = "the Elm Street pool opens Saturday at 9 a.m.; lifeguards are on duty until 7 p.m. https://city.example/parks"


@dataclass(frozen=True)
class City:
    department_id: int
    author_id: int
    channels: dict[str, int]


def prepare(engine: Engine, *, sandbox_url: str) -> City:
    migrate.upgrade(engine.url.render_as_string(hide_password=False))
    box = CredentialBox(SECRET_KEY)
    with transaction(make_sessionmaker(engine)) as session:
        department = accounts.create_department(session, actor=None, slug="parks", name="Parks and Recreation")
        author = accounts.create_user(session, actor=None, email="pat@bench.city", name="Pat", role=Role.staff,
                                      departments=["parks"], password="dispatch benchmark, never used")
        ids = {}
        for platform in PLATFORMS:
            credentials, prefix = SANDBOX[platform]
            ids[platform] = channels.create_channel(
                session, actor=None, box=box, department=department, platform=platform,
                name=f"Parks on {platform}", language="en", credentials=credentials,
                settings={"api_base": sandbox_url + prefix},
            ).id
        return City(department_id=department.id, author_id=author.id, channels=ids)


def clear(engine: Engine, *, heartbeats: bool = True) -> None:
    """Forget the last run's queue and outcomes; keep the city and its channels."""
    tables = ["deliveries", "announcement_targets", "announcements", "audit_events"]
    if heartbeats:
        tables.append("worker_heartbeats")
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
        connection.execute(text("UPDATE channels SET last_success_at = NULL, last_error = NULL, last_error_at = NULL, "
                                "needs_attention = false, paused_until = NULL"))


@dataclass(frozen=True)
class Seeded:
    count: int
    committed_at: datetime
    # Tag written into each post's text -> when that delivery was due.
    due_by_tag: dict[str, datetime]


def seed_due(engine: Engine, city: City, *, deliveries: int, platforms: tuple[str, ...], due, tag: str) -> Seeded:
    """`deliveries` pending deliveries, one per platform per announcement in turn.

    `due(i)` gives delivery i's due time. Commits once, with a NOTIFY, so a
    waiting worker sees the whole queue at the same moment.
    """
    now = datetime.now(UTC)
    fingerprint = hashlib.sha256(tag.encode()).hexdigest()
    due_by_tag: dict[str, datetime] = {}
    with engine.begin() as connection:
        first_id = connection.scalar(select(func.coalesce(func.max(Announcement.id), 0))) + 1
        announcements: list[dict] = []
        rows: list[dict] = []
        for i in range(deliveries):
            n, platform = divmod(i, len(platforms))
            if platform == 0:
                announcements.append({
                    "id": first_id + n, "department_id": city.department_id, "author_id": city.author_id,
                    "title": f"Notice {tag}-{n}", "body": WORDING, "link": "https://city.example/parks",
                    "language": "en", "publish_at": due(i), "emergency": False, "state": State.scheduled,
                    "version": 3, "approved_fingerprint": fingerprint, "approved_at": now,
                    "created_at": now, "updated_at": now,
                })
            label = f"{tag}-{i}"
            at = due(i)
            due_by_tag[label] = at
            rows.append({
                "key": str(uuid.uuid4()), "announcement_id": first_id + n,
                "channel_id": city.channels[platforms[platform]], "status": DeliveryStatus.pending,
                "fingerprint": fingerprint,
                "rendition": {"text": f"[{label}] {WORDING}", "parts": None, "media": [], "extra": {}},
                "attempts": 0, "due_at": at, "next_attempt_at": at, "reconcile": False,
                # Distinct creation times keep Bluesky's derived record keys apart.
                "created_at": now + timedelta(microseconds=i), "updated_at": now,
            })
        for start in range(0, len(announcements), CHUNK):
            connection.execute(insert(Announcement), announcements[start:start + CHUNK])
        for start in range(0, len(rows), CHUNK):
            connection.execute(insert(Delivery), rows[start:start + CHUNK])
        if engine.dialect.name == "postgresql":
            # Plans as a running service has them: ANALYZE inside the transaction
            # sees its own rows, so statistics are right at the first claim.
            connection.execute(text("ANALYZE deliveries, announcements"))
            connection.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
    return Seeded(count=deliveries, committed_at=datetime.now(UTC), due_by_tag=due_by_tag)


def statuses(engine: Engine) -> Counter:
    with engine.connect() as connection:
        return Counter(dict(connection.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()))


def published_times(engine: Engine) -> list[tuple[datetime, datetime]]:
    """(due_at, published_at) of every published delivery."""
    with engine.connect() as connection:
        return [(r[0], r[1]) for r in connection.execute(
            select(Delivery.due_at, Delivery.published_at).where(Delivery.status == DeliveryStatus.published)
        ).all()]


def heartbeats(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM worker_heartbeats WHERE stopped_at IS NULL")) or 0


def channel_ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(connection.execute(select(Channel.platform, Channel.id)).all())
