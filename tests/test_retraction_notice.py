"""A retracted announcement leaves the public lists, and its own public address answers
410 saying it was retracted, when, and why where the city gave a reason; an admin may
withdraw even that notice for a legal reason (audited). The record is never deleted."""

from sqlalchemy import select

from civicpost.models import AuditEvent
from tests.factories import create_dated, create_published_post
from tests.pages import csrf_of


def published_on_the_site(sessions, city) -> int:
    from civicpost.db import utcnow
    from civicpost.models import Delivery

    delivery = create_published_post(sessions, city, channel_id=city.parks_channels[0], remote_id="site-1",
                                     published_at=utcnow())
    with sessions() as session:
        return session.get(Delivery, delivery).announcement_id


def test_the_address_of_a_retracted_announcement_says_when_and_why_with_410(client, city, sessions):
    a = published_on_the_site(sessions, city)
    assert client.get(f"/announcements/{a}").status_code == 200
    r = client.post(f"/api/v1/announcements/{a}/retract", headers=city.approver.auth,
                    json={"reason": "The date was wrong; the pool opens on the 14th."})
    assert r.status_code == 202 and r.json()["retraction_reason"] == "The date was wrong; the pool opens on the 14th."
    assert r.json()["retracted_at"] is not None
    page = client.get(f"/announcements/{a}")
    assert page.status_code == 410
    assert "Retracted:" in page.text and "The date was wrong; the pool opens on the 14th." in page.text
    assert "Retracted " in page.text and "<time" in page.text
    assert f"/announcements/{a}" not in client.get("/").text
    assert f"/announcements/{a}" not in client.get("/feed.atom").text


def test_a_retraction_without_a_reason_still_says_when_and_one_never_public_stays_404(client, city, sessions):
    a = published_on_the_site(sessions, city)
    client.post(f"/api/v1/announcements/{a}/retract", headers=city.approver.auth).raise_for_status()
    page = client.get(f"/announcements/{a}")
    assert page.status_code == 410 and "The reason given" not in page.text and "retracted this announcement" in page.text
    draft = create_dated(sessions, city, "Never sent")
    assert client.get(f"/announcements/{draft}").status_code == 404


def test_an_admin_withdraws_the_notice_for_a_legal_reason_and_it_is_audited(client, city, sessions):
    a = published_on_the_site(sessions, city)
    client.post(f"/api/v1/announcements/{a}/retract", headers=city.approver.auth,
                json={"reason": "Named a minor by mistake."}).raise_for_status()
    path = f"/api/v1/announcements/{a}/withdraw-notice"
    assert client.post(path, headers=city.approver.auth, json={"reason": "Court order 26-114"}).status_code == 403
    assert client.post(path, headers=city.admin.auth, json={"reason": ""}).status_code == 422
    assert client.post(path, headers=city.admin.auth, json={"reason": "Court order 26-114"}).status_code == 200
    assert client.post(path, headers=city.admin.auth, json={"reason": "again"}).status_code == 409
    page = client.get(f"/announcements/{a}")
    assert page.status_code == 410 and "no longer available" in page.text
    assert "Named a minor" not in page.text and "Retracted" not in page.text
    with sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "notice.withdrawn")).one()
        assert event.detail == {"reason": "Court order 26-114"} and event.actor == city.admin.email
    # The record is kept: staff still read it, with the reason.
    kept = client.get(f"/api/v1/announcements/{a}", headers=city.admin.auth).json()
    assert kept["state"] == "retracted" and kept["retraction_reason"] == "Named a minor by mistake."


def test_the_staff_retract_form_takes_a_reason_for_the_public_notice(client, city, sessions, sign_in):
    a = published_on_the_site(sessions, city)
    approver = sign_in(city.approver)
    confirm = approver.get(f"/staff/announcements/{a}/retract")
    assert 'name="reason"' in confirm.text
    done = approver.post(f"/staff/announcements/{a}/retract", data={
        "csrf_token": csrf_of(confirm.text), "confirmed": "yes", "reason": "Wrong date.\x07 Sorry."})
    assert done.status_code in (200, 303)
    page = client.get(f"/announcements/{a}")
    assert page.status_code == 410 and "Wrong date. Sorry." in page.text
