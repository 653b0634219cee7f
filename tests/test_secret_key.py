"""The secret key: required unless development is chosen, kept beside the
development database, and checked against the key the data was written with
at every start (issue 11, finding 12)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from civicpost import channels, keycheck, migrate
from civicpost.config import ConfigError, Settings
from civicpost.db import make_engine, make_sessionmaker, transaction
from civicpost.models import AuditEvent, Channel, Department, InstanceValue
from civicpost.security import CredentialBox
from tests.conftest import TEST_SECRET

BIN = Path(sys.executable).parent
OTHER_KEY = "another-key-entirely-0123456789abcdefghij"


def civicpost(args: list[str], *, cwd: Path, timeout: float = 60, stdin: str = "", **settings: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    env.update({f"CIVICPOST_{name.upper()}": value for name, value in settings.items()})
    return subprocess.run([str(BIN / "civicpost"), *args], cwd=cwd, env=env, input=stdin, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def database(tmp_path) -> str:
    """A database of its own (not the suite's), written with TEST_SECRET and holding one webhook channel."""
    url = f"sqlite:///{tmp_path / 'city.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    keycheck.verify(sessions, TEST_SECRET)
    with transaction(sessions) as session:
        parks = Department(slug="parks", name="Parks")
        session.add(parks)
        session.flush()
        channels.create_channel(session, actor=None, box=CredentialBox(TEST_SECRET), department=parks,
                                platform="webhook", name="Partner hook", language="en",
                                credentials={"secret": "hook-secret-value"}, settings={"url": "https://hooks.example/in"})
    engine.dispose()
    return url


def test_without_a_key_and_without_explicit_development_the_service_refuses_and_shows_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.delenv("CIVICPOST_ENV", raising=False)
    with pytest.raises(ConfigError) as refused:
        Settings(database_url=f"sqlite:///{tmp_path}/x.db", secret_key=None).fernet_key()
    assert "secrets.token_urlsafe" in str(refused.value) and "CIVICPOST_ENV=development" in str(refused.value)

    result = civicpost(["serve", "--port", "0"], cwd=tmp_path, database_url=f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 2
    assert "CIVICPOST_SECRET_KEY is not set" in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.secret")) and not (tmp_path / ".civicpost-secret").exists()


def test_development_writes_its_key_beside_the_sqlite_database_not_in_the_working_directory(tmp_path, monkeypatch):
    work, data = tmp_path / "work", tmp_path / "data"
    work.mkdir()
    monkeypatch.chdir(work)
    settings = Settings(env="development", database_url=f"sqlite:///{data / 'city.db'}", secret_key=None)

    key = settings.fernet_key()

    assert (data / "city.db.secret").read_text().strip() == key
    assert (data / "city.db.secret").stat().st_mode & 0o777 == 0o600
    assert not list(work.iterdir())
    other = Settings(env="development", database_url=f"sqlite:///{data / 'other.db'}", secret_key=None)
    assert other.fernet_key() != key  # each database its own key


def test_a_development_key_an_earlier_version_kept_in_the_working_directory_is_carried_over(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".civicpost-secret").write_text("an-earlier-development-key-0123456789abcdef\n")
    settings = Settings(env="development", database_url=f"sqlite:///{tmp_path / 'data' / 'city.db'}", secret_key=None)

    assert settings.fernet_key() == "an-earlier-development-key-0123456789abcdef"
    assert (tmp_path / "data" / "city.db.secret").exists()


def test_the_first_start_stores_a_check_value_that_does_not_reveal_the_key(database):
    engine = make_engine(database)
    with make_sessionmaker(engine)() as session:
        stored = session.get(InstanceValue, keycheck.KEY_CHECK).value
    engine.dispose()
    assert len(stored) == 64 and TEST_SECRET not in stored
    assert stored == keycheck.check_value(TEST_SECRET) != keycheck.check_value(OTHER_KEY)


def test_the_web_app_refuses_to_start_with_another_key_than_the_data_was_written_with(database, tmp_path):
    from civicpost.web import create_app

    written_with = Settings(env="test", database_url=database, secret_key=TEST_SECRET, media_dir=tmp_path / "media")
    create_app(written_with)  # the same key starts

    with pytest.raises(ConfigError) as refused:
        create_app(written_with.model_copy(update={"secret_key": SecretStr(OTHER_KEY)}))
    message = str(refused.value)
    assert "not the key this database's data was written with" in message
    assert "civicpost secret-key reset" in message


def test_a_worker_refuses_to_start_with_another_key(database, tmp_path):
    from civicpost.engine.worker import Worker

    settings = Settings(env="test", database_url=database, secret_key=OTHER_KEY, media_dir=tmp_path / "media")
    with pytest.raises(ConfigError, match="not the key this database's data was written with"):
        Worker(settings)


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["serve", "--workers", "2", "--port", "0"], ["worker"]])
def test_serve_and_worker_exit_with_one_clear_message_when_the_key_changed(command, database, tmp_path):
    result = civicpost(command, cwd=tmp_path, database_url=database, secret_key=OTHER_KEY)

    assert result.returncode == 2
    assert "not the key this database's data was written with" in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_key_reset_forgets_the_unreadable_credentials_and_the_new_key_then_starts(database, tmp_path):
    unchanged = civicpost(["secret-key", "reset", "--yes"], cwd=tmp_path, database_url=database, secret_key=TEST_SECRET)
    assert unchanged.returncode == 0 and "nothing to reset" in unchanged.stdout

    result = civicpost(["secret-key", "reset", "--yes"], cwd=tmp_path, database_url=database, secret_key=OTHER_KEY)

    assert result.returncode == 0, result.stderr
    assert "Partner hook" in result.stdout
    engine = make_engine(database)
    with make_sessionmaker(engine)() as session:
        channel = session.scalars(select(Channel)).one()
        assert channel.credentials_encrypted is None and channel.needs_attention
        assert "enter this channel's credentials again" in channel.last_error
        assert session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()[-1] == "channel.credentials_forgotten"
        assert keycheck.matches(session, OTHER_KEY)
    engine.dispose()
    from civicpost.web import create_app

    create_app(Settings(env="test", database_url=database, secret_key=OTHER_KEY, media_dir=tmp_path / "media"))
