"""Running civicpost day to day from the command line: the schema, checks, backups."""

import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
KEY = "an-operations-test-key-that-is-long-enough-42"


def civicpost(args: list[str], *, env: dict, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "civicpost"), *args], input=stdin, capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


@pytest.fixture
def env(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    clean.update(CIVICPOST_DATABASE_URL=f"sqlite:///{tmp_path / 'city.db'}", CIVICPOST_SECRET_KEY=KEY,
                 CIVICPOST_MEDIA_DIR=str(tmp_path / "media"))
    return clean


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr + result.stdout
    assert "╭" not in result.stderr  # typer's framed traceback


def test_a_command_on_a_brand_new_sqlite_database_creates_the_schema_and_says_so(env, tmp_path):
    made = civicpost(["department", "parks", "Parks and Recreation"], env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "created the database at" in made.stderr and "created department parks" in made.stdout
    again = civicpost(["db", "upgrade"], env=env, cwd=tmp_path)
    assert again.returncode == 0 and "already up to date" in again.stdout


def test_db_upgrade_on_a_new_database_says_it_created_it(env, tmp_path):
    done = civicpost(["db", "upgrade"], env=env, cwd=tmp_path)
    assert done.returncode == 0
    assert "created the database" in done.stdout and "up to date" not in done.stdout


def test_an_unreachable_database_is_one_line_that_names_the_setting(env, tmp_path):
    env["CIVICPOST_DATABASE_URL"] = "postgresql+psycopg://postgres@127.0.0.1:9/nowhere"
    for args in (["department", "parks", "Parks"], ["db", "upgrade"], ["token", "create", "a@city.example"]):
        result = civicpost(args, env=env, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        no_traceback(result)
        assert "CIVICPOST_DATABASE_URL" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_postgresql_database_with_pending_migrations_is_not_upgraded_behind_the_operators_back(env, tmp_path, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("needs a PostgreSQL server to hold an empty scratch database")
    from sqlalchemy import text

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("DROP DATABASE IF EXISTS civicpost_pending"))
        connection.execute(text("CREATE DATABASE civicpost_pending"))
    try:
        env["CIVICPOST_DATABASE_URL"] = engine.url.set(database="civicpost_pending").render_as_string(False)
        result = civicpost(["department", "parks", "Parks"], env=env, cwd=tmp_path)
        assert result.returncode == 2
        no_traceback(result)
        assert "run `civicpost db upgrade`" in result.stderr
    finally:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("DROP DATABASE IF EXISTS civicpost_pending WITH (FORCE)"))


def test_a_backup_restores_the_database_and_the_images_into_a_fresh_directory(env, tmp_path):
    assert civicpost(["department", "parks", "Parks and Recreation"], env=env, cwd=tmp_path).returncode == 0
    media = Path(env["CIVICPOST_MEDIA_DIR"])
    media.mkdir()
    (media / ("ab" * 32)).write_bytes(b"\x89PNG pretend image")
    # The service keeps the database open in WAL mode while the backup runs.
    live = sqlite3.connect(tmp_path / "city.db")
    live.execute("INSERT INTO departments (slug, name, created_at) VALUES ('library', 'Library', '2026-12-01 00:00:00')")
    live.commit()
    made = civicpost(["backup", "--out", str(tmp_path / "backups" / "city.tar.gz")], env=env, cwd=tmp_path)
    live.close()
    assert made.returncode == 0, made.stderr
    assert "1 images" in made.stdout and "CIVICPOST_SECRET_KEY" in made.stdout
    with tarfile.open(tmp_path / "backups" / "city.tar.gz") as archive:
        names = set(archive.getnames())
        manifest = json.load(archive.extractfile("backup.json"))
    assert {"backup.json", "civicpost.db", f"media/{'ab' * 32}"} <= names
    assert manifest["schema_revision"] and manifest["database"] == "sqlite"
    assert not any(KEY in name for name in names)

    elsewhere = tmp_path / "restored"
    elsewhere.mkdir()
    restored_env = dict(env, CIVICPOST_DATABASE_URL=f"sqlite:///{elsewhere / 'city.db'}",
                        CIVICPOST_MEDIA_DIR=str(elsewhere / "media"))
    done = civicpost(["restore", str(tmp_path / "backups" / "city.tar.gz")], env=restored_env, cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert (elsewhere / "media" / ("ab" * 32)).read_bytes() == b"\x89PNG pretend image"
    rows = sqlite3.connect(elsewhere / "city.db").execute("SELECT slug FROM departments ORDER BY slug").fetchall()
    assert rows == [("library",), ("parks",)]
    # The restored city works: a command on it finds both departments.
    again = civicpost(["department", "library", "Library"], env=restored_env, cwd=elsewhere)
    assert again.returncode == 2 and "already exists" in again.stderr

    refused = civicpost(["restore", str(tmp_path / "backups" / "city.tar.gz")], env=restored_env, cwd=elsewhere)
    assert refused.returncode == 2 and "--force" in refused.stderr
    no_traceback(refused)


def test_restore_refuses_a_file_that_is_not_a_backup(env, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    result = civicpost(["restore", str(junk)], env=env, cwd=tmp_path)
    assert result.returncode == 2 and "not a civicpost backup" in result.stderr
    no_traceback(result)


def test_check_names_each_production_problem_in_plain_words(env, tmp_path):
    assert civicpost(["db", "upgrade"], env=env, cwd=tmp_path).returncode == 0
    result = civicpost(["check"], env=env, cwd=tmp_path)
    no_traceback(result)
    assert result.returncode == 1
    out = result.stdout
    assert "CIVICPOST_BASE_URL is not set" in out
    assert "no worker is running" in out
    assert "no channels yet" in out
    assert "PROBLEM  schema" not in out and "ok       database" in out

    env.update(CIVICPOST_BASE_URL="https://news.city.example", CIVICPOST_CITY_NAME="Springfield")
    better = civicpost(["check"], env=env, cwd=tmp_path)
    assert "ok       base URL: https://news.city.example" in better.stdout
    assert "ok       city name: Springfield" in better.stdout


def test_check_on_an_empty_database_says_to_run_the_upgrade(env, tmp_path):
    result = civicpost(["check"], env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "the database is empty; run `civicpost db upgrade`" in result.stdout
    no_traceback(result)


def test_check_says_when_the_key_is_not_the_one_the_data_was_written_with(env, tmp_path):
    from civicpost import keycheck
    from civicpost.db import make_engine, make_sessionmaker

    assert civicpost(["db", "upgrade"], env=env, cwd=tmp_path).returncode == 0
    engine = make_engine(env["CIVICPOST_DATABASE_URL"])
    keycheck.verify(make_sessionmaker(engine), KEY)
    engine.dispose()
    same = civicpost(["check", "--no-channels"], env=env, cwd=tmp_path)
    assert "ok       secret key: set, and the one the data was written with" in same.stdout
    env["CIVICPOST_SECRET_KEY"] = "another-key-that-is-also-long-enough-0123456"
    other = civicpost(["check", "--no-channels"], env=env, cwd=tmp_path)
    assert other.returncode == 1
    assert "PROBLEM  secret key: CIVICPOST_SECRET_KEY is not the key" in other.stdout
