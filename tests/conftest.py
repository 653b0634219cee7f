"""Fixtures: a real database (SQLite file, or PostgreSQL when
CIVICPOST_TEST_DATABASE_URL names one), migrated by Alembic once per run and
emptied after every test; the app on that database; users with tokens."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from civicpost import migrate, security
from civicpost.config import Settings
from civicpost.db import Base, make_engine, make_sessionmaker
from civicpost.models import Role
from civicpost.text import lengths
from tests.factories import PASSWORD, City, Person, create_city, create_department, create_draft, create_person
from tests.pages import csrf_of

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"

# twitter-text reads its emoji list through setuptools' pkg_resources, which setuptools 81 and later and
# the venvs of Python 3.12 and later lack; civicpost imports it with a stand-in (text/lengths.py). Imported
# that way first, it is there for the tests that compare civicpost's counts with twitter-text's own.
lengths.warm_up()


# Passwords hash with argon2id here too, at a lower cost: production's (64 MiB, three passes) takes
# about 0.3 s of CPU per hash, and most tests make a city of four people and sign some of them in.
# tests/test_access.py checks production's parameters; the sign-in timing test runs at them
# (the production_password_cost fixture).
_TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def _test_password_cost() -> Iterator[None]:
    production = security.use_password_hasher(_TEST_HASHER)
    yield
    security.use_password_hasher(production)


@pytest.fixture
def production_password_cost() -> Iterator[None]:
    """Hash and verify passwords as production does (people made before this still verify at their cost)."""
    cheap = security.use_password_hasher(PasswordHasher())
    yield
    security.use_password_hasher(cheap)


# Tests that use no database but take a while: .ci/run's PostgreSQL pass (which has less to do) runs them
# after its own instead of the SQLite pass, so the two passes side by side end about together.
MOVED_TO_THE_DATABASE_PASS = ("tests/platforms/", "tests/sandbox/", "tests/test_zipstream.py", "tests/test_lengths.py",
                              "tests/test_cli_people.py",
                              # 85 s on a slow 2-core VM, where the SQLite pass ended 2.6 minutes after this one.
                              "tests/test_page_evidence.py::test_lighthouse_scores")


def pytest_collection_modifyitems(config, items) -> None:
    """With CIVICPOST_TEST_DATABASE_ONLY=1 (.ci/run's PostgreSQL pass) only the tests that use a database
    run, browser tests apart (the others run in the SQLite pass), and the slow ones without a database named
    above; CIVICPOST_TEST_LEAVE_MOVED=1 (.ci/run's SQLite pass) leaves those out. Neither set: everything."""
    database_only = os.environ.get("CIVICPOST_TEST_DATABASE_ONLY") == "1"
    leave_moved = os.environ.get("CIVICPOST_TEST_LEAVE_MOVED") == "1"
    if not (database_only or leave_moved):
        return

    def uses_database(item) -> bool:
        return bool({"engine", "database_url"} & set(getattr(item, "fixturenames", ())))

    def moved(item) -> bool:
        return not uses_database(item) and item.nodeid.startswith(MOVED_TO_THE_DATABASE_PASS)

    if database_only:
        # Browser tests look at pages: the database under them is the web tests' concern, run on both.
        keep = [item for item in items
                if (uses_database(item) and item.get_closest_marker("browser") is None) or moved(item)]
    else:
        keep = [item for item in items if not moved(item)]
    others = [item for item in items if item not in keep]
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = keep


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


# On PostgreSQL, after each test: which tables hold rows, and which ids were handed out (their sequences
# restart, so every test counts from 1 as on a fresh database). A TRUNCATE of even one table cost 120 ms here
# (a new file for the table and each index, and its CASCADE reaches most tables): 1,500 tests, three minutes
# of CI. Emptying only the tables a test wrote, with DELETE, costs 4-8 ms.
_SEQUENCES_USED = text(
    "SELECT s.relname FROM pg_depend d"
    " JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
    " JOIN pg_sequences q ON q.schemaname = current_schema() AND q.sequencename = s.relname"
    " WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND q.last_value IS NOT NULL"
)


def empty_tables(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]  # each before the tables it refers to
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            holding = text(" UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT FROM {name})" for name in tables))
            written = set(connection.scalars(holding))
            for name in tables:
                if name in written:
                    connection.execute(text(f"DELETE FROM {name}"))
            for sequence in connection.scalars(_SEQUENCES_USED).all():
                connection.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))
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
        # Most tests sign approvers and admins in with a password alone; tests/test_factors.py turns it on.
        second_factor_required=False,
        # A test that writes the database and reads a public page at once sees the change (test_public_cache.py
        # proves the pages follow within the interval, between processes).
        public_check_seconds=0,
    )


@pytest.fixture
def app(settings: Settings, engine: Engine):
    from civicpost.web import create_app

    return create_app(settings, engine=engine)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def people(sessions):
    """Make departments and users straight through the services, with tokens."""

    def department(slug: str, name: str | None = None) -> None:
        create_department(sessions, slug, name)

    def person(role: Role | str = Role.staff, departments: tuple[str, ...] = (), email: str | None = None) -> Person:
        return create_person(sessions, role, departments, email)

    return type("People", (), {"department": staticmethod(department), "person": staticmethod(person)})


@pytest.fixture
def city(client, sessions) -> City:
    """Two departments, a staff member in each, an approver, an admin, and channels."""
    return create_city(client, sessions)


@pytest.fixture
def draft(client, city):
    """POST a Parks draft and return its JSON."""

    def make(**overrides) -> dict:
        return create_draft(client, city.parks_staff, **{"channels": city.parks_channels, **overrides})

    return make


@pytest.fixture
def sign_in(app):
    """A fresh browser-like client signed in as `person` (cookies kept)."""
    clients: list[TestClient] = []

    def make(person: Person) -> TestClient:
        c = TestClient(app)
        clients.append(c)
        page = c.get("/staff/login")
        form = {"email": person.email, "password": PASSWORD, "csrf_token": csrf_of(page.text), "next": "/staff/"}
        r = c.post("/staff/login", data=form, follow_redirects=False)
        assert r.status_code == 303, r.text
        return c

    yield make
    for c in clients:
        c.close()
