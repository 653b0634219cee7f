"""Retention and legal hold (the record): a department's finished announcements may be
disposed of after its retention years, by an administrator, with a reason, one explicit
command at a time; never by themselves, and never while on legal hold."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from civicpost.db import transaction, utcnow
from civicpost.models import Announcement, AnnouncementVersion, AuditEvent, Delivery, State
from tests.conftest import TEST_SECRET
from tests.factories import create_dated, create_published_post

BIN = Path(sys.executable).parent


def civicpost(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    env.update(CIVICPOST_DATABASE_URL=database_url, CIVICPOST_SECRET_KEY=TEST_SECRET)
    return subprocess.run([str(BIN / "civicpost"), *args], capture_output=True, text=True, env=env, timeout=120)


def finished_long_ago(sessions, announcement_id: int, *, years: float) -> None:
    with transaction(sessions) as session:
        session.execute(update(Announcement).where(Announcement.id == announcement_id)
                        .values(updated_at=utcnow() - timedelta(days=365.25 * years)))


@pytest.fixture
def old_city(client, city, sessions):
    """Parks keeps records 3 years: one post finished 4 years ago, one 2 years ago, a draft from 5."""
    r = client.patch("/api/v1/departments/parks", headers=city.admin.auth, json={"retention_years": 3})
    assert r.status_code == 200 and r.json()["retention_years"] == 3, r.text
    old = create_published_post(sessions, city, channel_id=city.parks_channels[0], remote_id="1001",
                                published_at=utcnow() - timedelta(days=4 * 366))
    with sessions() as session:
        old_id = session.get(Delivery, old).announcement_id
    recent = create_dated(sessions, city, "Pool opens", state=State.published,
                          published_at=utcnow() - timedelta(days=700))
    draft = create_dated(sessions, city, "Never sent", state=State.draft)
    finished_long_ago(sessions, old_id, years=4)
    finished_long_ago(sessions, recent, years=2)
    finished_long_ago(sessions, draft, years=5)
    return {"old": old_id, "recent": recent, "draft": draft}


def test_only_finished_announcements_past_their_retention_are_due(client, city, old_city):
    due = client.get("/api/v1/records/due", headers=city.admin.auth)
    assert due.status_code == 200
    assert [d["announcement_id"] for d in due.json()] == [old_city["old"]]
    assert client.get("/api/v1/records/due", headers=city.approver.auth).status_code == 403
    assert client.get("/api/v1/records/due?department=police", headers=city.admin.auth).json() == []


def test_only_an_admin_sets_retention_and_says_what_range_is_allowed(client, city):
    assert client.patch("/api/v1/departments/parks", headers=city.approver.auth,
                        json={"retention_years": 1}).status_code == 403
    r = client.patch("/api/v1/departments/parks", headers=city.admin.auth, json={"retention_years": 0})
    assert r.status_code == 422 and "between 1 and 100" in r.json()["detail"]
    assert client.patch("/api/v1/departments/nowhere", headers=city.admin.auth,
                        json={"retention_years": 3}).status_code == 404
    r = client.patch("/api/v1/departments/parks", headers=city.admin.auth, json={"retention_years": None})
    assert r.status_code == 200 and r.json()["retention_years"] is None


def test_a_legal_hold_takes_an_announcement_off_the_due_list_until_lifted_with_a_reason(client, city, old_city,
                                                                                       sessions):
    path = f"/api/v1/announcements/{old_city['old']}/legal-hold"
    assert client.put(path, headers=city.approver.auth, json={"reason": "Records request 2026-114"}).status_code == 403
    missing = client.put(path, headers=city.admin.auth, json={"reason": "  "})
    assert missing.status_code == 422 and "reason is required" in missing.json()["detail"]
    held = client.put(path, headers=city.admin.auth, json={"reason": "Records request 2026-114"})
    assert held.status_code == 200 and held.json()["legal_hold"] is True
    assert client.put(path, headers=city.admin.auth, json={"reason": "again"}).status_code == 409
    assert client.get("/api/v1/records/due", headers=city.admin.auth).json() == []
    shown = client.get(f"/api/v1/announcements/{old_city['old']}", headers=city.admin.auth).json()
    assert shown["legal_hold"] is True and shown["legal_hold_reason"] == "Records request 2026-114"
    assert client.delete(path, headers=city.admin.auth).status_code == 422
    lifted = client.delete(path, headers=city.admin.auth, params={"reason": "Request closed"})
    assert lifted.status_code == 200 and lifted.json()["legal_hold"] is False
    with sessions() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == old_city["old"],
                                                                  AuditEvent.action.like("legal_hold.%"))
                                  .order_by(AuditEvent.id)).all()
    assert actions == ["legal_hold.placed", "legal_hold.lifted"]


@pytest.mark.slow
def test_disposal_is_explicit_all_or_nothing_refuses_holds_and_leaves_the_audit_trail(client, city, old_city,
                                                                                     sessions, database_url):
    listed = civicpost(database_url, "records", "due")
    assert listed.returncode == 0 and f"{old_city['old']:>8}  parks" in listed.stdout
    assert "1 announcement may be disposed of" in listed.stdout

    early = civicpost(database_url, "records", "dispose", str(old_city["old"]), str(old_city["recent"]),
                      "--reason", "Schedule GS-7", "--as", city.admin.email)
    assert early.returncode == 2 and f"announcement {old_city['recent']} has not passed" in early.stderr
    not_admin = civicpost(database_url, "records", "dispose", str(old_city["old"]), "--reason", "x",
                          "--as", city.approver.email)
    assert not_admin.returncode == 2 and "is not an administrator" in not_admin.stderr
    hold = civicpost(database_url, "records", "hold", str(old_city["old"]), "--reason", "Lawsuit 44",
                     "--as", city.admin.email)
    assert hold.returncode == 0, hold.stderr
    refused = civicpost(database_url, "records", "dispose", str(old_city["old"]), "--reason", "Schedule GS-7",
                        "--as", city.admin.email)
    assert refused.returncode == 2 and "on legal hold" in refused.stderr and "Traceback" not in refused.stderr
    with sessions() as session:
        assert session.get(Announcement, old_city["old"]) is not None

    assert civicpost(database_url, "records", "release", str(old_city["old"]), "--reason", "Settled",
                     "--as", city.admin.email).returncode == 0
    done = civicpost(database_url, "records", "dispose", str(old_city["old"]), "--reason", "Schedule GS-7",
                     "--as", city.admin.email)
    assert done.returncode == 0 and f"disposed of {old_city['old']}" in done.stdout, done.stderr
    with sessions() as session:
        assert session.get(Announcement, old_city["old"]) is None
        assert session.scalar(select(func.count()).select_from(Delivery)
                              .where(Delivery.announcement_id == old_city["old"])) == 0
        assert session.scalar(select(func.count()).select_from(AnnouncementVersion)
                              .where(AnnouncementVersion.announcement_id == old_city["old"])) == 0
        gone = session.scalars(select(AuditEvent).where(AuditEvent.action == "record.disposed")).one()
        assert gone.object_id == old_city["old"] and gone.detail["reason"] == "Schedule GS-7"
        assert gone.detail["title"].startswith("Post ") and gone.actor == city.admin.email
        assert session.get(Announcement, old_city["recent"]) is not None


def test_the_pages_say_how_long_records_are_kept_and_show_a_hold(client, city, old_city, sign_in):
    client.put(f"/api/v1/announcements/{old_city['old']}/legal-hold", headers=city.admin.auth,
               json={"reason": "Records request 2026-114"}).raise_for_status()
    admin = sign_in(city.admin)
    assert "3 years after they finish" in admin.get("/staff/departments").text
    page = admin.get(f"/staff/announcements/{old_city['old']}").text
    assert "On legal hold: Records request 2026-114." in page


def test_a_disposed_post_leaves_the_insights_counts_too(client, city, sessions):
    from civicpost import retention
    from civicpost.models.metrics import InsightCount
    from civicpost.models import User
    from tests.factories import create_engagement

    client.patch("/api/v1/departments/parks", headers=city.admin.auth, json={"retention_years": 1}).raise_for_status()
    kept = create_engagement(sessions, city, published_at=utcnow() - timedelta(days=900), engagement=40)
    gone = create_engagement(sessions, city, published_at=utcnow() - timedelta(days=800), engagement=7)
    finished_long_ago(sessions, kept, years=2)
    finished_long_ago(sessions, gone, years=2)

    def counted() -> int:
        with sessions() as session:
            return session.scalar(select(func.coalesce(func.sum(InsightCount.posts), 0)))

    assert counted() == 2
    with transaction(sessions) as session:
        admin = session.scalars(select(User).where(User.email == city.admin.email)).one()
        retention.dispose(session, actor=admin, announcement_ids=[gone], reason="Schedule GS-7", now=utcnow())
    assert counted() == 1
