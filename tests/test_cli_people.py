"""People and tokens from the command line (SPEC §8.1): each change takes effect at once and
is audited; every refusal is one line on stderr with exit code 2, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from civicpost.config import Settings
from civicpost.db import make_engine, make_sessionmaker
from civicpost.models import AuditEvent
from civicpost.web import create_app

BIN = Path(sys.executable).parent


def run(args: list[str], *, env: dict, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "civicpost"), *args], input=stdin, capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh install with a department, an admin and a staff member."""
    home = tmp_path_factory.mktemp("cli-people")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    env.update(CIVICPOST_DATABASE_URL=f"sqlite:///{home / 'cli.db'}", CIVICPOST_SECRET_KEY="k" * 40)
    assert run(["db", "upgrade"], env=env, cwd=home).returncode == 0
    assert run(["department", "parks", "Parks"], env=env, cwd=home).returncode == 0
    assert run(["department", "police", "Police"], env=env, cwd=home).returncode == 0
    assert run(["user", "create", "ada@city.gov", "--name", "Ada", "--role", "admin", "--password-stdin"],
               env=env, cwd=home, stdin="a long admin password\n").returncode == 0
    assert run(["user", "create", "pat@city.gov", "--name", "Pat", "--department", "parks", "--password-stdin"],
               env=env, cwd=home, stdin="a long staff password\n").returncode == 0
    return env, home


def refused(result: subprocess.CompletedProcess, words: str) -> bool:
    lines = result.stderr.strip().splitlines()
    return result.returncode == 2 and len(lines) == 1 and words in lines[0] and "Traceback" not in result.stderr


def api(env: dict):
    return TestClient(create_app(Settings(env="test", database_url=env["CIVICPOST_DATABASE_URL"], secret_key="k" * 40)))


def actions(env: dict) -> list[str]:
    with make_sessionmaker(make_engine(env["CIVICPOST_DATABASE_URL"]))() as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "user").order_by(AuditEvent.id)))


def test_tokens_are_made_with_an_expiry_listed_without_the_secret_and_revoked(installed):
    env, home = installed
    made = run(["token", "create", "pat@city.gov", "--name", "newsletter", "--expires-in-days", "30"], env=env, cwd=home)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("cp_") and "expires" in made.stderr
    listed = run(["token", "list", "pat@city.gov"], env=env, cwd=home)
    assert listed.returncode == 0 and token not in listed.stdout
    header, *rows = listed.stdout.strip().splitlines()
    assert header.split()[:4] == ["id", "user", "prefix", "name"] and "expires" in header and "revoked" in header
    row = next(r for r in rows if "newsletter" in r)
    assert token[:10] in row
    token_id = row.split()[0]
    with api(env) as client:
        assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert run(["token", "revoke", token_id], env=env, cwd=home).returncode == 0
        assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "token.revoke" in actions(env)


def test_set_role_reset_password_unlock_and_deactivate_work_and_are_audited(installed):
    env, home = installed
    changed = run(["user", "set-role", "pat@city.gov", "--role", "approver", "--department", "police"], env=env, cwd=home)
    assert changed.returncode == 0 and "approver" in changed.stdout and "police" in changed.stdout
    reset = run(["user", "reset-password", "pat@city.gov", "--password-stdin"], env=env, cwd=home,
                stdin="another long password\n")
    assert reset.returncode == 0, reset.stderr
    assert run(["user", "unlock", "pat@city.gov"], env=env, cwd=home).returncode == 0
    token = run(["token", "create", "pat@city.gov"], env=env, cwd=home).stdout.strip().splitlines()[-1]
    assert run(["user", "deactivate", "pat@city.gov"], env=env, cwd=home).returncode == 0
    with api(env) as client:
        assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert run(["user", "reactivate", "pat@city.gov"], env=env, cwd=home).returncode == 0
    assert ["user.update", "user.password_reset", "user.unlock", "user.deactivate", "user.reactivate"] == [
        a for a in actions(env) if a.startswith("user.") and a != "user.create"
    ][-5:]


def test_every_refusal_is_one_line_with_exit_code_2(installed):
    env, home = installed
    cases = [
        (["user", "deactivate", "nobody@city.gov"], "no user with email"),
        (["user", "deactivate", "ada@city.gov"], "last active administrator"),
        (["user", "set-role", "ada@city.gov", "--role", "staff", "--department", "parks"], "last active administrator"),
        (["user", "set-role", "pat@city.gov", "--role", "boss"], "unknown role 'boss'"),
        (["user", "set-role", "pat@city.gov", "--role", "staff", "--department", "nowhere"], "unknown department 'nowhere'"),
        (["user", "unlock", "nobody@city.gov"], "no user with email"),
        (["token", "revoke", "999999"], "no token with id 999999"),
        (["token", "revoke", "abc"], "is not a token id"),
        (["token", "revoke", str(2**64)], "is not a token id"),
        (["token", "create", "pat@city.gov", "--expires-in-days", "0"], "--expires-in-days"),
        (["token", "list", "nobody@city.gov"], "no user with email"),
    ]
    for args, words in cases:
        assert refused(run(args, env=env, cwd=home), words), (args, run(args, env=env, cwd=home).stderr)
    short = run(["user", "reset-password", "pat@city.gov", "--password-stdin"], env=env, cwd=home, stdin="short\n")
    assert refused(short, "at least 12 characters")


def test_a_sqlite_database_that_was_never_set_up_is_created_with_one_line_that_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    env.update(CIVICPOST_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}", CIVICPOST_SECRET_KEY="k" * 40)
    listed = run(["token", "list"], env=env, cwd=tmp_path)
    assert listed.returncode == 0
    assert listed.stderr.strip().splitlines()[0] == f"created the database at {tmp_path / 'empty.db'} (schema {newest_migration()})"
    assert "Traceback" not in listed.stderr


def newest_migration() -> str:
    """The head revision of the project's migrations, as Alembic reads them."""
    from alembic.script import ScriptDirectory

    from civicpost import migrate

    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head() or ""


def test_grant_and_revoke_emergency_publisher_take_effect_and_are_audited(installed):
    env, home = installed
    assert run(["user", "create", "erin@city.gov", "--name", "Erin", "--department", "parks", "--password-stdin"],
               env=env, cwd=home, stdin="a long staff password\n").returncode == 0
    granted = run(["user", "grant", "erin@city.gov", "emergency_publisher"], env=env, cwd=home)
    assert granted.returncode == 0 and "emergency publisher" in granted.stdout
    assert actions(env)[-1] == "user.grant"
    revoked = run(["user", "revoke", "erin@city.gov", "emergency_publisher"], env=env, cwd=home)
    assert revoked.returncode == 0 and "no longer" in revoked.stdout
    assert actions(env)[-1] == "user.revoke"
    assert refused(run(["user", "grant", "erin@city.gov", "superpowers"], env=env, cwd=home), "emergency_publisher")
