"""Fixtures: a real database (SQLite file, or PostgreSQL when
CIVICPOST_TEST_DATABASE_URL names one), migrated by Alembic once per run and
emptied after every test; the app on that database; users with tokens."""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from civicpost import accounts, migrate
from civicpost.config import Settings
from civicpost.db import Base, make_engine, make_sessionmaker, transaction
from civicpost.models import Role

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return os.environ.get("CIVICPOST_TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'civicpost.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate.upgrade_engine(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def empty_tables(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(autouse=True)
def _clean_database(request) -> Iterator[None]:
    yield
    if "engine" in request.fixturenames:
        empty_tables(request.getfixturevalue("engine"))


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        secret_key=TEST_SECRET,
        timezone="America/New_York",
        media_dir=tmp_path / "media",
        # Channels in tests point at receivers and the sandbox on 127.0.0.1.
        allow_private_network=True,
    )


@pytest.fixture
def app(settings: Settings, engine: Engine):
    from civicpost.web import create_app

    return create_app(settings, engine=engine)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@dataclass
class Person:
    id: int
    email: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def people(sessions):
    """Make departments and users straight through the services, with tokens."""

    def department(slug: str, name: str | None = None) -> None:
        with transaction(sessions) as session:
            accounts.create_department(session, actor=None, slug=slug, name=name or slug.title())

    def person(role: Role | str = Role.staff, departments: tuple[str, ...] = (), email: str | None = None) -> Person:
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@city.example"
        with transaction(sessions) as session:
            user = accounts.create_user(
                session, actor=None, email=email, name=email.split("@")[0], role=Role(role),
                departments=list(departments), password="correct horse battery staple",
            )
            token = accounts.create_token(session, user=user)
            return Person(user.id, user.email, token)

    return type("People", (), {"department": staticmethod(department), "person": staticmethod(person)})


@dataclass
class City:
    admin: Person
    parks_staff: Person
    police_staff: Person
    approver: Person
    parks_channels: list[int]
    police_channels: list[int]


@pytest.fixture
def city(client, people) -> City:
    """Two departments, a staff member in each, an approver, an admin, and channels."""
    people.department("parks", "Parks and Recreation")
    people.department("police", "Police Department")
    admin = people.person(Role.admin, email="admin@city.example")
    parks = people.person(Role.staff, ("parks",), email="pat@city.example")
    police = people.person(Role.staff, ("police",), email="sam@city.example")
    approver = people.person(Role.approver, email="comms@city.example")
    channel_ids: dict[str, list[int]] = {"parks": [], "police": []}
    for dept in ("parks", "police"):
        for platform, name, settings in (
            ("feed", "City website", {}),
            ("webhook", "Partner hook", {"url": "http://127.0.0.1:9/hook"}),
        ):
            credentials = {"secret": "hook-secret-value"} if platform == "webhook" else {}
            r = client.post(
                "/api/v1/channels",
                headers=admin.auth,
                json={"department": dept, "platform": platform, "name": f"{dept} {name}", "credentials": credentials, "settings": settings},
            )
            assert r.status_code == 201, r.text
            channel_ids[dept].append(r.json()["id"])
    return City(admin, parks, police, approver, channel_ids["parks"], channel_ids["police"])


@pytest.fixture
def draft(client, city):
    """POST a Parks draft and return its JSON."""

    def make(**overrides) -> dict:
        body = {
            "department": "parks",
            "title": "Pool opens Saturday",
            "body": "The Elm Street pool opens Saturday at 9 a.m. Lifeguards on duty all day.",
            "channels": city.parks_channels,
        }
        body.update(overrides)
        r = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    return make
