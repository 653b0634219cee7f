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


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"resource_tracker" not in cmdline:
            found.append(int(stat.parent.name))
    return found


def test_serve_with_two_workers_answers_from_two_processes_sharing_one_database(cli_env, tmp_path):
    import json
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [str(BIN / "civicpost"), "serve", "--port", str(port), "--workers", "2"],
        env=cli_env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_children(server.pid)) < 2:
            time.sleep(0.2)
        assert len(_children(server.pid)) == 2
        # `serve` migrated the database the processes share; what the CLI makes, they serve.
        assert run(["department", "parks", "Parks"], env=cli_env, cwd=tmp_path).returncode == 0
        assert run(["user", "create", "ada@city.gov", "--name", "Ada", "--role", "admin", "--password-stdin"],
                   env=cli_env, cwd=tmp_path, stdin="a long admin password\n").returncode == 0
        token = run(["token", "create", "ada@city.gov"], env=cli_env, cwd=tmp_path).stdout.strip().splitlines()[-1]
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/departments",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert [d["slug"] for d in json.load(response)["items"]] == ["parks"]
        workers = _children(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Stopping the server stops (and reaps) its worker processes too.
    assert workers and not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_serve_refuses_with_worker_beside_several_processes_and_says_what_to_run(cli_env, tmp_path):
    result = run(["serve", "--workers", "2", "--with-worker"], env=cli_env, cwd=tmp_path)
    assert result.returncode != 0
    assert "civicpost worker" in result.stderr
