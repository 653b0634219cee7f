"""Break glass with "Also pause this department's other scheduled posts": the checkbox on the form and the
API's `suspend_department` start a department suspension with the break-glass reason (audited); the emergency
itself goes out, other departments are untouched."""

from sqlalchemy import select

from civicpost.models import AuditEvent, Delivery, Suspension
from tests.factories import create_approved, create_draft, grant_emergency_publisher
from tests.pages import csrf_of


def statuses(sessions, announcement_id: int) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(Delivery.status).where(Delivery.announcement_id == announcement_id)))


def police_approved(client, city) -> dict:
    a = create_draft(client, city.police_staff, department="police", title="Bike auction",
                     channels=city.police_channels)
    submitted = client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.police_staff.auth).json()
    r = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                    json={"fingerprint": submitted["fingerprint"]})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_checkbox_pauses_the_department_and_the_emergency_still_goes_out(sign_in, city, client, sessions):
    parks_post = create_approved(client, city, title="Pool party Saturday")
    police_post = police_approved(client, city)
    grant_emergency_publisher(client, city.admin, city.parks_staff)
    a = create_draft(client, city.parks_staff, title="Boil water notice", emergency=True, channels=city.parks_channels)
    browser = sign_in(city.parks_staff)
    page = browser.get(f"/staff/announcements/{a['id']}")
    assert 'name="suspend_department" value="yes"' in page.text
    assert "Also pause this department's other scheduled posts" in page.text
    done = browser.post(f"/staff/announcements/{a['id']}/publish-now", follow_redirects=True,
                        data={"csrf_token": csrf_of(page.text), "reason": "Main broke on Elm",
                              "suspend_department": "yes"})
    assert "other scheduled posts are paused" in done.text
    assert "Scheduled posts are paused for Parks and Recreation" in done.text
    assert statuses(sessions, parks_post["id"]) == {"held"}
    assert statuses(sessions, police_post["id"]) == {"pending"}
    assert statuses(sessions, a["id"]) == {"pending"}
    with sessions() as session:
        s = session.scalars(select(Suspension)).one()
        assert s.reason == "Main broke on Elm" and s.started_by_id == city.parks_staff.id
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "suspension.start")).one()
    assert event.detail["break_glass_of"] == a["id"] and event.detail["departments"] == ["parks"]


def test_without_the_checkbox_nothing_is_paused_and_the_api_flag_pauses(client, city, sessions):
    grant_emergency_publisher(client, city.admin, city.parks_staff)
    first = create_draft(client, city.parks_staff, title="Boil water", emergency=True, channels=city.parks_channels)
    url = f"/api/v1/announcements/{first['id']}/publish-now"
    assert client.post(url, headers=city.parks_staff.auth, json={"reason": "Main broke"}).status_code == 200
    with sessions() as session:
        assert session.scalar(select(Suspension.id)) is None
    second = create_draft(client, city.parks_staff, title="Gas leak", emergency=True, channels=city.parks_channels)
    url = f"/api/v1/announcements/{second['id']}/publish-now"
    bad = client.post(url, headers=city.parks_staff.auth, json={"reason": "Gas", "suspend_department": "maybe"})
    assert bad.status_code == 422
    r = client.post(url, headers=city.parks_staff.auth, json={"reason": "Gas leak", "suspend_department": True})
    assert r.status_code == 200, r.text
    active = client.get("/api/v1/suspensions?active=true", headers=city.approver.auth).json()
    assert [(s["reason"], s["departments"]) for s in active] == [("Gas leak", ["parks"])]
