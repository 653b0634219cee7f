"""Suspensions: who may start one, what it holds (and what it never holds), approving during one, ending it
(by hand or at its `until`) without releasing anything, and releasing what it held."""

from datetime import datetime, timedelta

from sqlalchemy import select

from civicpost.db import transaction
from civicpost.models import Announcement, AuditEvent, Delivery, Suspension
from tests.factories import create_approved, create_submitted


def statuses(sessions, announcement_id: int) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Delivery.status).where(Delivery.announcement_id == announcement_id)
                                    .order_by(Delivery.id)))


def suspend(client, person, **body):
    return client.post("/api/v1/suspensions", headers=person.auth, json={"reason": "A drowning at the lake", **body})


def test_an_approver_pauses_the_city_and_what_is_due_is_held_at_once(client, city, sessions):
    a = create_approved(client, city)  # due now, not yet claimed
    r = suspend(client, city.approver)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["departments"] is None and body["ended_at"] is None and body["until"] is None
    assert {"id", "reason", "departments", "started_at", "until", "ended_at"} <= set(body)
    assert set(statuses(sessions, a["id"])) == {"held"}
    shown = client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()
    assert {d["status"] for d in shown["deliveries"]} == {"held"}
    listed = client.get("/api/v1/suspensions?active=true", headers=city.parks_staff.auth).json()
    assert [s["id"] for s in listed] == [body["id"]]
    assert listed[0]["held"][0]["department"] == "parks" and len(listed[0]["held"][0]["deliveries"]) == 2


def test_staff_may_not_suspend_and_bad_input_says_what_to_fix(client, city):
    assert suspend(client, city.parks_staff).status_code == 403
    r = suspend(client, city.approver, departments=["nowhere"])
    assert r.status_code == 422 and "nowhere" in r.json()["detail"]
    r = suspend(client, city.approver, until="2020-01-01T00:00:00+00:00")
    assert r.status_code == 422 and "future" in r.json()["detail"]
    r = suspend(client, city.approver, until="2030-01-01T00:00:00")
    assert r.status_code == 422
    r = client.post("/api/v1/suspensions", headers=city.approver.auth, json={"reason": "  "})
    assert r.status_code == 422


def test_a_department_suspension_leaves_other_departments_and_emergencies_alone(client, city, sessions):
    parks = create_approved(client, city)
    emergency = create_approved(client, city, title="Boil water notice", emergency=True)
    assert suspend(client, city.approver, departments=["parks", "police"]).status_code == 201
    assert set(statuses(sessions, parks["id"])) == {"held"}
    assert set(statuses(sessions, emergency["id"])) == {"pending"}


def test_approving_during_a_suspension_asks_for_a_confirmation_and_then_the_item_waits_held(client, city, sessions):
    assert suspend(client, city.approver, departments=["parks"]).status_code == 201
    a = create_submitted(client, city)
    url = f"/api/v1/announcements/{a['id']}/approve"
    r = client.post(url, headers=city.approver.auth, json={"fingerprint": a["fingerprint"]})
    assert r.status_code == 409 and "confirm_suspended" in r.json()["detail"]
    assert statuses(sessions, a["id"]) == []
    r = client.post(url, headers=city.approver.auth, json={"fingerprint": a["fingerprint"], "confirm_suspended": True})
    assert r.status_code == 200, r.text
    assert set(statuses(sessions, a["id"])) == {"held"}


def test_ending_releases_nothing_and_release_lets_items_go_now_or_back_to_the_author(client, city, sessions):
    first = create_approved(client, city, title="Pool party Saturday")
    second = create_approved(client, city, title="Lake swim Sunday")
    s = suspend(client, city.approver).json()
    release = f"/api/v1/suspensions/{s['id']}/release"
    r = client.post(release, headers=city.approver.auth, json={"deliveries": "all", "when": "now"})
    assert r.status_code == 409 and "end it first" in r.json()["detail"]
    r = client.delete(f"/api/v1/suspensions/{s['id']}", headers=city.approver.auth)
    assert r.status_code == 200 and r.json()["ended_at"] is not None
    assert sum(len(g["deliveries"]) for g in r.json()["held"]) == 4
    assert set(statuses(sessions, first["id"])) == {"held"}  # ending released nothing
    assert client.delete(f"/api/v1/suspensions/{s['id']}", headers=city.approver.auth).status_code == 409
    with sessions() as session:
        first_ids = list(session.scalars(select(Delivery.id).where(Delivery.announcement_id == first["id"])))
    r = client.post(release, headers=city.approver.auth, json={"deliveries": first_ids, "when": "now"})
    assert r.status_code == 200 and r.json()["released"] == 2
    assert set(statuses(sessions, first["id"])) == {"pending"}
    r = client.post(release, headers=city.approver.auth, json={"deliveries": first_ids, "when": "now"})
    assert r.status_code == 422  # no longer held
    r = client.post(release, headers=city.approver.auth,
                    json={"deliveries": "all", "when": "back_to_author", "note": "Not this week, please."})
    assert r.status_code == 200 and r.json()["sent_back"] == [second["id"]]
    assert set(statuses(sessions, second["id"])) == {"cancelled"}
    with sessions() as session:
        assert session.get(Announcement, second["id"]).state == "draft"
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "suspension")
                                       .order_by(AuditEvent.id)))
    assert actions == ["suspension.start", "suspension.end", "suspension.release", "suspension.release"]


def test_release_at_a_new_time_needs_a_future_time(client, city, sessions):
    a = create_approved(client, city)
    s = suspend(client, city.approver).json()
    client.delete(f"/api/v1/suspensions/{s['id']}", headers=city.approver.auth)
    release = f"/api/v1/suspensions/{s['id']}/release"
    assert client.post(release, headers=city.approver.auth, json={"deliveries": "all", "when": "at"}).status_code == 422
    later = (datetime.now().astimezone() + timedelta(days=1)).replace(microsecond=0)
    r = client.post(release, headers=city.approver.auth,
                    json={"deliveries": "all", "when": "at", "at": later.isoformat()})
    assert r.status_code == 200, r.text
    with sessions() as session:
        due = set(session.scalars(select(Delivery.next_attempt_at).where(Delivery.announcement_id == a["id"])))
    assert due == {later}


def test_a_suspension_ends_at_its_until_releasing_nothing(client, city, sessions):
    a = create_approved(client, city)
    until = (datetime.now().astimezone() + timedelta(hours=1)).replace(microsecond=0)
    s = suspend(client, city.approver, until=until.isoformat()).json()
    with transaction(sessions) as session:  # an hour passes
        row = session.get(Suspension, s["id"])
        row.started_at -= timedelta(hours=2)
        row.until = row.started_at + timedelta(hours=1)
    assert client.get("/api/v1/suspensions?active=true", headers=city.approver.auth).json() == []
    shown = client.get(f"/api/v1/suspensions/{s['id']}", headers=city.approver.auth).json()
    assert shown["ended_at"] is not None and shown["active"] is False
    assert set(statuses(sessions, a["id"])) == {"held"}


def test_the_command_line_suspends_and_resumes_as_a_named_approver(client, city, sessions, database_url, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import TEST_SECRET

    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    env.update(CIVICPOST_DATABASE_URL=database_url, CIVICPOST_SECRET_KEY=TEST_SECRET)
    civicpost = str(Path(sys.executable).parent / "civicpost")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([civicpost, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)

    a = create_approved(client, city)
    refused = run("suspend", "--reason", "Storm", "--as", city.parks_staff.email)
    assert refused.returncode == 2 and "only approvers and admins" in refused.stderr
    done = run("suspend", "--reason", "A drowning at the lake", "--department", "parks", "--as", city.approver.email)
    assert done.returncode == 0, done.stderr
    assert "paused" in done.stdout and "parks" in done.stdout
    assert set(statuses(sessions, a["id"])) == {"held"}
    assert run("suspend", "--reason", "x", "--until", "tomorrow", "--as", city.approver.email).returncode == 2
    ended = run("resume", "--as", city.approver.email)
    assert ended.returncode == 0, ended.stderr
    assert "2 held deliveries" in ended.stdout
    with sessions() as session:
        assert session.scalar(select(Suspension.ended_at)) is not None
    # As the command line's contract has it, without --as: the operator is named as the command line.
    plain = run("suspend", "--reason", "A tragedy downtown")
    assert plain.returncode == 0, plain.stderr
    assert run("resume").returncode == 0
    with sessions() as session:
        actors = session.scalars(select(AuditEvent.actor).where(AuditEvent.object_type == "suspension")
                                 .order_by(AuditEvent.id)).all()
    assert actors[-2].startswith("command line (") and actors[-1].startswith("command line (")
