"""The README and docs/api.md, run as a new city would run them, line for line.

A fresh directory with the installation's `.venv`, the README's "First steps"
blocks in order (the database made on the spot, the service and the sandbox
started in the background), then every block of docs/api.md's "A first post"
in one shell: a channel, a second person, a draft, the approval, and the post
on the sandbox. If a line in the documents stops working, this fails.
"""

import fcntl
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from civicpost import PROJECT_ROOT
from civicpost.config import settings_table

pytestmark = pytest.mark.slow


def section(path: Path, heading: str) -> str:
    text = path.read_text()
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end != -1 else None]


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer")


def bash(script: str, *, cwd: Path, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_readme_settings_table_is_the_one_the_code_makes():
    readme = (PROJECT_ROOT / "README.md").read_text()
    shown = readme.split("<!-- settings table: made by `civicpost settings` -->\n", 1)[1]
    shown = shown.split("<!-- end of settings table -->", 1)[0]
    assert shown == settings_table(), "run `civicpost settings` and paste its table into the README"


def test_every_link_and_picture_in_the_readme_and_docs_is_there():
    missing = []
    for page in [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("**/*.md"))]:
        for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", page.read_text()):
            if not re.match(r"[a-z]+:", target) and not (page.parent / target).exists():
                missing.append(f"{page.relative_to(PROJECT_ROOT)} -> {target}")
    assert not missing, missing


def test_the_readme_docs_code_and_tests_contain_no_pointer_outside_the_project():
    words = ("../shared", "SPEC.md", "STYLE.md", "PITFALLS")
    places = [PROJECT_ROOT / "README.md", *(PROJECT_ROOT / "docs").glob("**/*.md")]
    for folder in ("src", "tests", "scripts", "bench", "migrations", "templates", ".ci"):
        places += [p for p in (PROJECT_ROOT / folder).glob("**/*") if p.is_file() and p.suffix not in (".jpg", ".png")
                   and p != Path(__file__) and "__pycache__" not in p.parts and ".egg-info" not in str(p)]
    found = [f"{p.relative_to(PROJECT_ROOT)}: {w}" for p in places for w in words
             if w in p.read_text(errors="replace")]
    assert not found, found


@pytest.fixture
def readme_ports() -> Iterator[None]:
    """The README's ports are this machine's: .ci/run's SQLite and PostgreSQL passes run side by side and take
    turns here (a lock file), so neither finds them taken by the other."""
    with open(Path(tempfile.gettempdir()) / "civicpost-readme-ports.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture
def readme_database(database_url: str) -> Iterator[str | None]:
    """In the PostgreSQL pass, the README's lines run against a scratch database of their own, dropped after."""
    if not database_url.startswith("postgresql"):
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(database_url)
    scratch = f"{admin_url.database}_readme"
    engine = create_engine(admin_url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {scratch}"))
    try:
        yield admin_url.set(database=scratch).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
        engine.dispose()


def test_a_new_city_follows_the_readme_and_docs_from_nothing_to_a_post_on_the_sandbox(tmp_path, readme_database,
                                                                                      readme_ports):
    if port_taken(8000) or port_taken(8025):
        pytest.skip("the README's ports 8000 and 8025 are in use on this machine")
    first, start, people = shell_blocks(section(PROJECT_ROOT / "README.md", "## First steps"))
    walk = "\n".join(shell_blocks(section(PROJECT_ROOT / "docs" / "api.md", "## A first post")))
    home = tmp_path / "city"
    home.mkdir()
    (home / ".venv").symlink_to(Path(sys.executable).parent.parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    if readme_database is not None:
        env["CIVICPOST_DATABASE_URL"] = readme_database
        upgraded = bash(".venv/bin/civicpost db upgrade", cwd=home, env={**env, "CIVICPOST_SECRET_KEY": "x" * 40})
        assert upgraded.returncode == 0, upgraded.stderr

    done = bash(first, cwd=home, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("cp_")
    assert (home / ".env").read_text().startswith("CIVICPOST_SECRET_KEY=")

    services = subprocess.Popen(["bash", "-c", start + "\nwait"], cwd=home, env=env, start_new_session=True,
                                stdout=open(tmp_path / "services.log", "w"), stderr=subprocess.STDOUT)
    try:
        wait_for("http://127.0.0.1:8000/healthz")
        wait_for("http://127.0.0.1:8025/_sandbox/health")
        run = bash(walk, cwd=home, env=env, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        assert '"platform":"mastodon","status":"published"' in run.stdout, run.stdout
        url = re.search(r'"remote_url":"([^"]+)"', run.stdout).group(1)
        assert url.startswith("http://127.0.0.1:8025/mastodon/"), url
        assert "Elm Street pool opens Saturday" in httpx.get(url).text
        assert "casey@city.example  approve" in run.stdout, run.stdout
        posted = httpx.get("http://127.0.0.1:8025/_sandbox/requests", params={"platform": "mastodon"}).json()
        assert any(r["method"] == "POST" and r["path"].endswith("/api/v1/statuses") for r in posted["requests"])
        changed = bash(people, cwd=home, env=env)
        assert changed.returncode == 0, changed.stderr
        assert "revoked token" in changed.stdout and "deactivated pat@city.example" in changed.stdout
        assert "Traceback" not in changed.stderr
    finally:
        os.killpg(services.pid, signal.SIGTERM)
        try:
            services.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(services.pid, signal.SIGKILL)
