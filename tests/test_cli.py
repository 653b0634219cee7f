"""A fresh install is bootstrapped from the command line, with no web page."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def run(args: list[str], *, env: dict, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "civicpost"), *args], input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


@pytest.fixture
def cli_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    env.update(CIVICPOST_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", CIVICPOST_SECRET_KEY="k" * 40)
    return env


def test_a_fresh_install_is_bootstrapped_and_the_token_works_against_the_api(cli_env, tmp_path):
    assert run(["db", "upgrade"], env=cli_env, cwd=tmp_path).returncode == 0
    assert run(["department", "parks", "Parks and Recreation"], env=cli_env, cwd=tmp_path).returncode == 0
    made = run(
        ["user", "create", "Admin@City.Example", "--name", "Ada Admin", "--role", "admin", "--password-stdin"],
        env=cli_env, cwd=tmp_path, stdin="a long admin password\n",
    )
    assert made.returncode == 0, made.stderr
    staff = run(
        ["user", "create", "pat@city.example", "--name", "Pat", "--department", "parks", "--password-stdin"],
        env=cli_env, cwd=tmp_path, stdin="a long staff password\n",
    )
    assert staff.returncode == 0, staff.stderr
    result = run(["token", "create", "admin@city.example"], env=cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("cp_")

    from fastapi.testclient import TestClient

    from civicpost.config import Settings
    from civicpost.web import create_app

    settings = Settings(env="test", database_url=cli_env["CIVICPOST_DATABASE_URL"], secret_key="k" * 40)
    with TestClient(create_app(settings)) as client:
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["email"] == "admin@city.example" and me.json()["role"] == "admin"


def test_user_create_refuses_a_short_password_and_an_unknown_department(cli_env, tmp_path):
    run(["db", "upgrade"], env=cli_env, cwd=tmp_path)
    short = run(["user", "create", "a@city.example", "--name", "A", "--role", "admin", "--password-stdin"], env=cli_env, cwd=tmp_path, stdin="short\n")
    assert short.returncode != 0 and "password" in short.stderr
    unknown = run(
        ["user", "create", "b@city.example", "--name", "B", "--department", "nowhere", "--password-stdin"],
        env=cli_env, cwd=tmp_path, stdin="a long enough password\n",
    )
    assert unknown.returncode != 0 and "unknown department 'nowhere'" in unknown.stderr


def test_token_create_for_an_unknown_user_says_so(cli_env, tmp_path):
    run(["db", "upgrade"], env=cli_env, cwd=tmp_path)
    result = run(["token", "create", "nobody@city.example"], env=cli_env, cwd=tmp_path)
    assert result.returncode != 0 and "no user with email" in result.stderr
