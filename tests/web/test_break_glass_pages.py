"""Break glass on the staff pages: the permission on a person's page, the publish-now form for an emergency
publisher, the sign-off, and the red panel on every approver's dashboard."""

from datetime import timedelta

from sqlalchemy import select

from civicpost.db import transaction, utcnow
from civicpost.models import Announcement, AuditEvent
from tests.factories import create_draft, grant_emergency_publisher
from tests.pages import csrf_of


def test_an_admin_grants_the_permission_with_the_checkbox_on_the_persons_page(sign_in, city, client, sessions):
    browser = sign_in(city.admin)
    page = browser.get(f"/staff/users/{city.parks_staff.id}")
    assert 'name="emergency_publisher"' in page.text
    r = browser.post(f"/staff/users/{city.parks_staff.id}/permissions", follow_redirects=True,
                     data={"csrf_token": csrf_of(page.text), "emergency_publisher": "yes"})
    assert r.status_code == 200 and "is an emergency publisher" in r.text and "Made an emergency publisher" in r.text
    me = client.get("/api/v1/users", headers=city.admin.auth).json()["items"]
    assert next(u for u in me if u["id"] == city.parks_staff.id)["emergency_publisher"] is True
    browser.post(f"/staff/users/{city.parks_staff.id}/permissions", data={"csrf_token": csrf_of(page.text)})
    with sessions() as session:
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == city.parks_staff.id,
                                                               AuditEvent.object_type == "user")
                               .order_by(AuditEvent.id)).all()[-2:] == ["user.grant", "user.revoke"]


def test_staff_see_why_they_cannot_flag_an_emergency_and_a_forged_flag_is_refused_beside_the_checkbox(
        sign_in, city):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    assert "Only an approver or an emergency publisher can flag an emergency" in page.text
    assert 'id="emergency" disabled' in page.text
    r = browser.post("/staff/announcements/new", data={
        "csrf_token": csrf_of(page.text), "department": "parks", "title": "Storm", "body": "Stay home.",
        "language": "en",
        "emergency": "yes", "action": "save"})
    assert r.status_code == 422 and 'id="emergency-error"' in r.text


def test_an_emergency_publisher_publishes_from_the_page_and_another_approver_signs_off(sign_in, city, client):
    grant_emergency_publisher(client, city.admin, city.parks_staff)
    a = create_draft(client, city.parks_staff, title="Boil water notice", emergency=True, channels=city.parks_channels)
    browser = sign_in(city.parks_staff)
    page = browser.get(f"/staff/announcements/{a['id']}")
    assert "Publish now (break glass)" in page.text and 'name="reason"' in page.text
    empty = browser.post(f"/staff/announcements/{a['id']}/publish-now", follow_redirects=True,
                         data={"csrf_token": csrf_of(page.text), "reason": ""})
    assert "Give the reason" in empty.text
    done = browser.post(f"/staff/announcements/{a['id']}/publish-now", follow_redirects=True,
                        data={"csrf_token": csrf_of(page.text), "reason": "Main broke"})
    assert "every channel is due at once" in done.text
    assert client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["state"] == "scheduled"

    approver = sign_in(city.approver)
    dashboard = approver.get("/staff/")
    assert "sign-off needed (1)" in dashboard.text and "Boil water notice" in dashboard.text
    shown = approver.get(f"/staff/announcements/{a['id']}")
    signed = approver.post(f"/staff/announcements/{a['id']}/review", follow_redirects=True,
                           data={"csrf_token": csrf_of(shown.text), "note": "Checked"})
    assert "Signed off" in signed.text
    assert "sign-off needed" not in approver.get("/staff/").text


def test_the_dashboard_says_a_sign_off_is_overdue(sign_in, city, client, sessions):
    grant_emergency_publisher(client, city.admin, city.parks_staff)
    a = create_draft(client, city.parks_staff, title="Gas leak", emergency=True, channels=city.parks_channels)
    r = client.post(f"/api/v1/announcements/{a['id']}/publish-now", headers=city.parks_staff.auth,
                    json={"reason": "Leak on Main"})
    assert r.status_code == 200
    with transaction(sessions) as session:
        session.get_one(Announcement, a["id"]).review_due_at = utcnow() - timedelta(hours=3, minutes=5)
    page = sign_in(city.approver).get("/staff/")
    assert "overdue by 3 hours" in page.text
    assert "sign-off needed" not in sign_in(city.parks_staff).get("/staff/").text
