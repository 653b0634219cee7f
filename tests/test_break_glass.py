"""Break-glass publishing (SPEC §8.4): an emergency publisher publishes an emergency alone, with a reason;
an approver other than them signs it off afterwards."""

from datetime import datetime, timedelta

from sqlalchemy import select

from civicpost.models import AuditEvent, Notification
from tests.factories import create_draft, create_person, create_submitted, grant_emergency_publisher


def audit_actions(sessions, object_type: str, object_id: int) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == object_type, AuditEvent.object_id == object_id).order_by(AuditEvent.id)))


def emergency_draft(client, city) -> dict:
    grant_emergency_publisher(client, city.admin, city.parks_staff)
    return create_draft(client, city.parks_staff, title="Boil water notice", emergency=True,
                        channels=city.parks_channels)


def publish_now(client, person, announcement_id: int, reason="Water main broke on Elm Street"):
    return client.post(f"/api/v1/announcements/{announcement_id}/publish-now", headers=person.auth,
                       json={"reason": reason})


def test_an_admin_grants_and_revokes_emergency_publisher_and_each_change_is_audited(client, city, sessions):
    url = f"/api/v1/users/{city.parks_staff.id}"
    r = client.patch(url, headers=city.admin.auth, json={"emergency_publisher": True})
    assert r.status_code == 200 and r.json()["emergency_publisher"] is True
    r = client.patch(url, headers=city.admin.auth, json={"emergency_publisher": False})
    assert r.status_code == 200 and r.json()["emergency_publisher"] is False
    assert audit_actions(sessions, "user", city.parks_staff.id)[-2:] == ["user.grant", "user.revoke"]
    assert client.patch(url, headers=city.approver.auth, json={"emergency_publisher": True}).status_code == 403


def test_staff_cannot_flag_an_emergency_and_are_told_who_can(client, city):
    r = client.post("/api/v1/announcements", headers=city.parks_staff.auth,
                    json={"department": "parks", "title": "Storm", "body": "Stay home.", "emergency": True})
    assert r.status_code == 422
    assert "only an approver or an emergency publisher can flag an emergency" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "emergency"
    a = create_draft(client, city.parks_staff, title="Storm")
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth, json={"emergency": True})
    assert r.status_code == 422 and "emergency publisher" in r.json()["detail"]


def test_an_approver_and_an_emergency_publisher_may_flag_an_emergency(client, city):
    draft = create_draft(client, city.parks_staff, title="Storm")
    r = client.patch(f"/api/v1/announcements/{draft['id']}", headers=city.approver.auth, json={"emergency": True})
    assert r.status_code == 200 and r.json()["emergency"] is True
    assert emergency_draft(client, city)["emergency"] is True


def test_publish_now_schedules_every_channel_at_once_with_no_approver(client, city, sessions):
    a = emergency_draft(client, city)
    before = datetime.now().astimezone()
    r = publish_now(client, city.parks_staff, a["id"])
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "scheduled" and len(done["deliveries"]) == len(city.parks_channels)
    assert all(datetime.fromisoformat(d["due_at"]) <= datetime.now().astimezone() for d in done["deliveries"])
    due = datetime.fromisoformat(done["review_due_at"])
    assert before + timedelta(hours=23, minutes=59) < due <= datetime.now().astimezone() + timedelta(hours=24)
    assert done["reviewed_by"] is None
    with sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "break_glass")).one()
        assert event.detail["reason"] == "Water main broke on Elm Street" and event.fingerprint == done["fingerprint"]
        told = session.scalars(select(Notification).where(Notification.event == "break_glass")).all()
    assert {n.user_id for n in told} == {city.approver.id}, "approvers who chose \"waiting\" are told"
    assert all(n.emergency and not n.digest for n in told)


def test_a_submitted_emergency_can_be_published_now_too(client, city):
    a = create_submitted(client, city, title="Gas leak", emergency=True)
    assert publish_now(client, city.parks_staff, a["id"]).json()["state"] == "scheduled"


def test_publish_now_is_refused_to_anyone_without_the_permission(client, city):
    a = emergency_draft(client, city)
    client.patch(f"/api/v1/users/{city.parks_staff.id}", headers=city.admin.auth, json={"emergency_publisher": False})
    r = publish_now(client, city.parks_staff, a["id"])
    assert r.status_code == 403 and "only an emergency publisher" in r.json()["detail"]


def test_publish_now_is_refused_for_an_announcement_not_flagged_emergency(client, city):
    grant_emergency_publisher(client, city.admin, city.parks_staff)
    a = create_draft(client, city.parks_staff, title="Pool opens", channels=city.parks_channels)
    r = publish_now(client, city.parks_staff, a["id"])
    assert r.status_code == 409 and "not flagged as an emergency" in r.json()["detail"]


def test_publish_now_answers_404_for_another_departments_announcement(client, city, sessions):
    a = emergency_draft(client, city)
    police = create_person(sessions, departments=("police",))
    grant_emergency_publisher(client, city.admin, police)
    assert publish_now(client, police, a["id"]).status_code == 404
    grant_emergency_publisher(client, city.admin, city.approver)
    assert publish_now(client, city.approver, a["id"]).status_code == 404


def test_publish_now_needs_a_reason_of_at_most_500_characters(client, city):
    a = emergency_draft(client, city)
    for reason in ("", "   ", None, "é" * 501):
        r = publish_now(client, city.parks_staff, a["id"], reason=reason)
        assert r.status_code == 422, reason
        assert r.json()["errors"][0]["field"] == "reason"
    assert publish_now(client, city.parks_staff, a["id"], reason="漏水 " * 100).status_code == 200


def test_publish_now_twice_is_refused_as_the_wrong_state(client, city):
    a = emergency_draft(client, city)
    assert publish_now(client, city.parks_staff, a["id"]).status_code == 200
    r = publish_now(client, city.parks_staff, a["id"])
    assert r.status_code == 409 and "scheduled" in r.json()["detail"]


def review(client, person, announcement_id: int, **body):
    return client.post(f"/api/v1/announcements/{announcement_id}/review", headers=person.auth, json=body)


def test_the_break_glass_publisher_cannot_sign_off_their_own_publish(client, city, sessions):
    approver = create_person(sessions, "approver", ("parks",))
    grant_emergency_publisher(client, city.admin, approver)
    a = create_draft(client, city.parks_staff, title="Storm", channels=city.parks_channels)
    client.patch(f"/api/v1/announcements/{a['id']}", headers=approver.auth, json={"emergency": True})
    assert publish_now(client, approver, a["id"]).status_code == 200
    r = review(client, approver, a["id"])
    assert r.status_code == 403 and "another approver must sign it off" in r.json()["detail"]


def test_another_approver_signs_off_a_break_glass_publish_once(client, city, sessions):
    a = emergency_draft(client, city)
    publish_now(client, city.parks_staff, a["id"])
    assert review(client, city.parks_staff, a["id"]).status_code == 403
    r = review(client, city.approver, a["id"], note="Checked with the water department")
    assert r.status_code == 200 and r.json()["reviewed_by"] == city.approver.email and r.json()["reviewed_at"]
    assert review(client, city.approver, a["id"]).status_code == 409
    assert audit_actions(sessions, "announcement", a["id"])[-2:] == ["break_glass", "break_glass_reviewed"]


def test_an_announcement_not_published_by_break_glass_has_nothing_to_sign_off(client, city):
    a = create_draft(client, city.parks_staff, title="Pool opens", channels=city.parks_channels)
    r = review(client, city.approver, a["id"])
    assert r.status_code == 409 and "nothing to sign off" in r.json()["detail"]
