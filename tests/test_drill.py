"""`civicpost drill` practises the emergency lane: the real command, a real database and the sandbox server."""

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from civicpost.config import Settings
from civicpost.db import make_engine, make_sessionmaker
from civicpost.models import Announcement, AuditEvent
from civicpost.sandbox import create_sandbox_app
from civicpost.sandbox.testing import running_sandbox
from civicpost.web import create_app
from tests.factories import create_channel, create_person, grant_emergency_publisher

BIN = Path(sys.executable).parent
SECRET = "k" * 40


@dataclass
class Town:
    env: dict[str, str]
    cwd: Path
    sandbox: httpx.Client
    client: TestClient
    sessions: object
    admin_auth: dict[str, str]

    def drill(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "civicpost"), "drill", *args], capture_output=True, text=True,
                              env=self.env, cwd=self.cwd, timeout=180)

    def posts(self, platform: str) -> list[dict]:
        return self.sandbox.get("/_sandbox/requests", params={"platform": platform}).json()["requests"]

    def announcements(self) -> list[Announcement]:
        with self.sessions() as session:  # type: ignore[operator]
            return list(session.scalars(select(Announcement)))


@pytest.fixture(scope="module")
def _sandbox() -> Iterator[httpx.Client]:
    with running_sandbox(app=create_sandbox_app()) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield http


@pytest.fixture
def town(tmp_path, _sandbox) -> Iterator[Town]:
    """Parks with two sandbox channels and its website; an on-call emergency publisher and an ordinary member."""
    _sandbox.post("/_sandbox/reset").raise_for_status()
    url = f"sqlite:///{tmp_path / 'drill.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    env.update(CIVICPOST_DATABASE_URL=url, CIVICPOST_SECRET_KEY=SECRET, CIVICPOST_ALLOW_PRIVATE_NETWORK="true",
               CIVICPOST_BASE_URL="https://news.city.example", CIVICPOST_RETRY_BASE_SECONDS="1",
               CIVICPOST_MAX_ATTEMPTS="2", CIVICPOST_PUBLISH_TIMEOUT_SECONDS="5")
    upgraded = subprocess.run([str(BIN / "civicpost"), "db", "upgrade"], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=120)
    assert upgraded.returncode == 0, upgraded.stderr
    settings = Settings(env="test", database_url=url, secret_key=SECRET, allow_private_network=True)
    engine = make_engine(url)
    with TestClient(create_app(settings, engine=engine)) as client:
        sessions = make_sessionmaker(engine)
        from civicpost import accounts
        from civicpost.db import transaction

        with transaction(sessions) as session:
            accounts.create_department(session, actor=None, slug="parks", name="Parks and Recreation")
        admin = create_person(sessions, "admin", email="admin@city.example")
        oncall = create_person(sessions, "staff", ("parks",), email="oncall@city.example")
        create_person(sessions, "staff", ("parks",), email="pat@city.example")
        grant_emergency_publisher(client, admin, oncall)
        base = str(_sandbox.base_url).rstrip("/")
        create_channel(client, admin, "mastodon", name="Parks on Mastodon", base=base)
        create_channel(client, admin, "bluesky", name="Parks on Bluesky", base=base)
        create_channel(client, admin, "feed", name="Parks website")
        yield Town(env, tmp_path, _sandbox, client, sessions, admin.auth)
    engine.dispose()


def test_a_drill_times_every_sandbox_channel_then_ends_its_alert_and_stays_on_record(town):
    result = town.drill("--department", "parks", "--as", "oncall@city.example", "--timeout", "30")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "no worker is running: the drill runs one in this process" in out
    table = out[out.index("channel "):].splitlines()
    assert table[0].split() == ["channel", "platform", "seconds", "status"]
    assert [line.split("  ")[0] for line in table[1:3]] == ["Parks on Mastodon", "Parks on Bluesky"]
    for line in table[1:3]:
        seconds, status = line.split()[-2:]
        assert status == "published" and 0 <= float(seconds) <= 30
    assert "CAP document: https://news.city.example/alerts/1.xml (status Exercise, valid CAP 1.2)" in out
    assert "drill passed: every channel published within 30 s" in out
    # The words say it is a drill, on both platforms; the city's website (not a sandbox) got nothing.
    toot = [r for r in town.posts("mastodon") if r["method"] == "POST" and r["path"].endswith("/statuses")]
    assert len(toot) == 1 and "EXERCISE - this is a drill" in str(toot[0])
    assert any("EXERCISE - this is a drill" in str(r) for r in town.posts("bluesky"))
    [drilled] = town.announcements()
    assert drilled.alert is not None and drilled.alert["exercise"] is True
    # Ended: no banner on the public home, nothing in the alerts feed; still in the history and the audit.
    home = town.client.get("/")
    assert "Emergency alerts in effect" not in home.text
    assert "<entry>" not in town.client.get("/alerts.atom").text
    staff = town.client.get(f"/api/v1/announcements/{drilled.id}", headers=town.admin_auth)
    assert staff.status_code == 200 and staff.json()["state"] == "published"
    with town.sessions() as session:  # type: ignore[operator]
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == drilled.id)
                                       .order_by(AuditEvent.id)))
    assert "break_glass" in actions and actions[-1] == "drill_ended"


def test_a_channel_that_is_not_a_sandbox_channel_refuses_the_drill_before_anything_is_written(town):
    result = town.drill("--department", "parks", "--as", "oncall@city.example", "--channels", "Parks website")

    assert result.returncode == 2
    assert "'Parks website'" in result.stderr and "is not a sandbox channel: a drill never reaches residents" \
        in result.stderr
    assert "Parks on Mastodon" in result.stderr  # what may be chosen instead
    assert "Traceback" not in result.stderr
    assert town.announcements() == [] and town.posts("mastodon") == []


def test_only_an_emergency_publisher_may_run_a_drill_and_is_told_how_to_become_one(town):
    result = town.drill("--department", "parks", "--as", "pat@city.example")

    assert result.returncode == 2
    assert "pat@city.example is not an emergency publisher" in result.stderr
    assert "civicpost user grant pat@city.example emergency_publisher" in result.stderr
    assert town.announcements() == []


def test_a_channel_that_fails_makes_the_drill_fail_and_names_it(town):
    town.sandbox.post("/_sandbox/faults", json={"bluesky": {"fail_next": 5, "fail_status": 400,
                                                            "writes_only": True}}).raise_for_status()

    result = town.drill("--department", "parks", "--as", "oncall@city.example", "--channels", "1,Parks on Bluesky",
                        "--timeout", "20")

    assert result.returncode == 1, result.stdout + result.stderr
    rows = {line.split("  ")[0]: line.split()[-1] for line in result.stdout.splitlines()
            if line.startswith("Parks on")}
    assert rows == {"Parks on Mastodon": "published", "Parks on Bluesky": "failed"}
    assert "drill failed: not published within 20 s: Parks on Bluesky (failed" in result.stderr
    assert "Parks on Mastodon" not in result.stderr
    [drilled] = town.announcements()
    assert drilled.alert is not None  # ended all the same
    assert "Emergency alerts in effect" not in town.client.get("/").text


def test_an_unknown_department_and_an_unknown_channel_say_what_exists(town):
    nowhere = town.drill("--department", "roads", "--as", "oncall@city.example")
    assert nowhere.returncode == 2 and "unknown department 'roads'; the departments are: parks" in nowhere.stderr
    unknown = town.drill("--department", "parks", "--as", "oncall@city.example", "--channels", "Parks on Myspace")
    assert unknown.returncode == 2 and "parks has no active channel 'Parks on Myspace'" in unknown.stderr
