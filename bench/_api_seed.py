"""A fresh, migrated database with a realistic city's worth of announcements.

People who sign in are made through civicpost.accounts, so their tokens
authenticate exactly like real ones; the bulk rows go in through SQLAlchemy
Core in chunks, because 100,000 ORM objects would take longer than the run.
"""

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

from civicpost import accounts, migrate
from civicpost.db import make_engine, make_sessionmaker, transaction
from civicpost.models import Announcement, Channel, Department, Role, State, Target, Translation, User, user_departments

DEPARTMENTS = [
    ("parks", "Parks and Recreation", 0.22),
    ("police", "Police Department", 0.20),
    ("transit", "Transit Authority", 0.18),
    ("water", "Water and Sewer", 0.14),
    ("library", "Public Library", 0.14),
    ("clerk", "City Clerk", 0.12),
]
# Most of a mature city's history is published; the rest is work in progress
# or things that were stopped.
STATES = [
    (State.published, 0.65),
    (State.cancelled, 0.07),
    (State.draft, 0.08),
    (State.submitted, 0.05),
    (State.scheduled, 0.05),
    (State.rejected, 0.04),
    (State.retracted, 0.03),
    (State.failed, 0.02),
    (State.publishing, 0.01),
]
EMERGENCY_SHARE = 0.02
AUTHORS_PER_DEPARTMENT = 5
CHUNK = 5_000
PASSWORD = "benchmark password, never used to sign in"
WORDS = (
    "road closure water main library hours pool opens council meeting snow plow route "
    "parking ban recycling pickup park event permit bus detour notice residents please"
).split()


@dataclass(frozen=True)
class Seeded:
    approver_token: str
    staff_token: str
    staff_department: str
    staff_channels: list[int]
    departments: list[str]
    min_id: int
    max_id: int
    seconds: float


def seed(url: str, *, rows: int, rng: random.Random) -> Seeded:
    started = time.perf_counter()
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        approver_token, staff_token = _people(engine)
        authors = _authors(engine)
        channels = _channels(engine)
        with engine.connect() as connection:
            staff_department_id = connection.scalar(
                select(Department.id).where(Department.slug == DEPARTMENTS[0][0])
            )
        _announcements(engine, rows=rows, authors=authors, channels=channels, rng=rng)
        if engine.dialect.name == "postgresql":
            # Autovacuum would vacuum and analyse 100,000 new rows within a
            # minute, and a timed checkpoint would write the seed's pages out:
            # both in the middle of the run. Do them now, so the run starts
            # from the state a running service settles in (as pgbench does).
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
                connection.execute(text("CHECKPOINT"))
        with engine.connect() as connection:
            low, high = connection.execute(select(func.min(Announcement.id), func.max(Announcement.id))).one()
    finally:
        engine.dispose()
    return Seeded(
        approver_token=approver_token,
        staff_token=staff_token,
        staff_department=DEPARTMENTS[0][0],
        staff_channels=channels[staff_department_id],
        departments=[slug for slug, _, _ in DEPARTMENTS],
        min_id=low,
        max_id=high,
        seconds=time.perf_counter() - started,
    )


def _people(engine: Engine) -> tuple[str, str]:
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        for slug, name, _ in DEPARTMENTS:
            accounts.create_department(session, actor=None, slug=slug, name=name)
        approver = accounts.create_user(
            session, actor=None, email="comms@city.example", name="Comms", role=Role.approver,
            departments=[], password=PASSWORD,
        )
        staff = accounts.create_user(
            session, actor=None, email="pat@city.example", name="Pat", role=Role.staff,
            departments=[DEPARTMENTS[0][0]], password=PASSWORD,
        )
        return accounts.create_token(session, user=approver), accounts.create_token(session, user=staff)


def _authors(engine: Engine) -> dict[int, list[int]]:
    """Department id -> author ids. Authors never sign in, so their hash is a stub."""
    now = datetime.now(UTC)
    by_department: dict[int, list[int]] = {}
    with engine.begin() as connection:
        departments = connection.execute(text("SELECT id, slug FROM departments ORDER BY id")).all()
        for department_id, slug in departments:
            ids = []
            for n in range(AUTHORS_PER_DEPARTMENT):
                ids.append(
                    connection.execute(
                        insert(User).returning(User.id),
                        {"email": f"{slug}{n}@city.example", "name": f"{slug} author {n}",
                         "password_hash": "!", "role": Role.staff, "active": True, "created_at": now},
                    ).scalar_one()
                )
            connection.execute(
                insert(user_departments), [{"user_id": i, "department_id": department_id} for i in ids]
            )
            by_department[department_id] = ids
    return by_department


def _channels(engine: Engine) -> dict[int, list[int]]:
    """Department id -> channel ids: the city website feed and a Mastodon account."""
    now = datetime.now(UTC)
    by_department: dict[int, list[int]] = {}
    with engine.begin() as connection:
        for department_id, slug in connection.execute(text("SELECT id, slug FROM departments ORDER BY id")).all():
            by_department[department_id] = [
                connection.execute(
                    insert(Channel).returning(Channel.id),
                    {"department_id": department_id, "platform": platform, "name": f"{slug} {platform}",
                     "language": "en", "settings": {}, "active": True, "needs_attention": False,
                     "created_at": now},
                ).scalar_one()
                for platform in ("feed", "mastodon")
            ]
    return by_department


def _announcements(
    engine: Engine, *, rows: int, authors: dict[int, list[int]], channels: dict[int, list[int]], rng: random.Random
) -> None:
    department_ids = sorted(authors)
    weights = [w for _, _, w in DEPARTMENTS]
    states = [s for s, _ in STATES]
    state_weights = [w for _, w in STATES]
    # Wording is drawn from a small pool: making 100,000 sentences would be
    # most of the seed's time and tells the database nothing new.
    titles = [_sentence(rng, 4, 9).capitalize() for _ in range(500)]
    bodies = [_sentence(rng, 25, 70).capitalize() + "." for _ in range(500)]
    # Two years of history, oldest first, so ids grow with created_at as they do live.
    start = datetime.now(UTC) - timedelta(days=730)
    step = timedelta(days=730) / rows
    with engine.begin() as connection:
        # Nothing else writes during the seed, so each chunk's ids follow on.
        next_id = connection.execute(select(func.coalesce(func.max(Announcement.id), 0))).scalar_one() + 1
        for chunk in _chunks(rows):
            chunk_departments = rng.choices(department_ids, weights, k=len(chunk))
            chunk_states = rng.choices(states, state_weights, k=len(chunk))
            batch: list[dict[str, Any]] = []
            for n, department_id, state in zip(chunk, chunk_departments, chunk_states, strict=True):
                created = start + step * n
                approved = state in (State.published, State.scheduled, State.publishing, State.failed, State.retracted)
                batch.append({
                    "department_id": department_id,
                    "author_id": rng.choice(authors[department_id]),
                    "title": rng.choice(titles),
                    "body": rng.choice(bodies),
                    "link": "https://city.example/news" if rng.random() < 0.3 else None,
                    "language": "es" if rng.random() < 0.05 else "en",
                    "publish_at": created + timedelta(hours=rng.randint(0, 48)) if approved else None,
                    "emergency": rng.random() < EMERGENCY_SHARE,
                    "state": state,
                    "version": 3 if approved else 1,
                    "approved_fingerprint": "0" * 64 if approved else None,
                    "approved_by_id": None,
                    "approved_at": created + timedelta(minutes=30) if approved else None,
                    "created_at": created,
                    "updated_at": created + timedelta(hours=1),
                })
            connection.execute(insert(Announcement), batch)
            ids = range(next_id, next_id + len(batch))
            next_id += len(batch)
            connection.execute(
                insert(Target),
                [{"announcement_id": i, "channel_id": channel, "override_text": None}
                 for i, row in zip(ids, batch, strict=True) for channel in channels[row["department_id"]]],
            )
            translated = [(i, row) for i, row in zip(ids, batch, strict=True) if rng.random() < 0.04]
            if translated:
                connection.execute(
                    insert(Translation),
                    [{"announcement_id": i, "language": "fr" if row["language"] == "en" else "en",
                      "title": row["title"], "body": row["body"]} for i, row in translated],
                )


def _chunks(rows: int) -> Iterator[range]:
    for first in range(0, rows, CHUNK):
        yield range(first, min(first + CHUNK, rows))


def _sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))
