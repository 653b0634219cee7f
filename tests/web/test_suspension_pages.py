"""Suspensions on the staff pages: the page (start with errors beside fields, End, release per item or all,
now, as scheduled, at a time or back to the author), read-only for staff, the dashboard button, the banner on
every staff page, the held item's page, and the approval page's confirm step."""

import re
from datetime import timedelta

from sqlalchemy import select, update

from civicpost.db import transaction, utcnow
from civicpost.models import AuditEvent, Delivery, Department, Suspension
from tests.factories import create_approved, create_submitted
from tests.pages import csrf_of


def statuses(sessions, announcement_id: int) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Delivery.status).where(Delivery.announcement_id == announcement_id)
                                    .order_by(Delivery.id)))


def start(browser, **fields):
    page = browser.get("/staff/suspensions")
    return browser.post("/staff/suspensions", data={"csrf_token": csrf_of(page.text), **fields})


def test_an_approver_pauses_the_city_from_the_page_and_errors_show_beside_their_fields(sign_in, city, sessions,
                                                                                       client):
    browser = sign_in(city.approver)
    browser.follow_redirects = False
    r = start(browser, reason="  ", scope="departments", until="2020-01-01T09:00")
    assert r.status_code == 422
    assert 'id="f-reason-error"' in r.text and "Say why scheduled posts are paused" in r.text
    assert 'id="f-scope-error"' in r.text and "Tick at least one department" in r.text
    assert 'id="f-until-error"' in r.text and "in the future" in r.text
    r = start(browser, reason="Flood", scope="departments", departments=["zoo"])
    assert r.status_code == 422 and "No department with slug &#39;zoo&#39;" in r.text
    r = start(browser, reason="x" * 501)
    assert r.status_code == 422 and "at most 500 characters" in r.text
    with sessions() as session:
        assert session.scalar(select(Suspension.id)) is None

    a = create_approved(client, city)
    r = start(browser, reason="A drowning at the lake", scope="city", until="")
    assert r.status_code == 303 and r.headers["location"] == "/staff/suspensions"
    shown = browser.get("/staff/suspensions")
    assert "Scheduled posts are paused" in shown.text and "A drowning at the lake" in shown.text
    assert "the whole city" in shown.text and "Holding 2 item(s)" in shown.text
    assert set(statuses(sessions, a["id"])) == {"held"}
    with sessions() as session:
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "suspension")).all() \
            == ["suspension.start"]


def test_a_department_pause_with_an_end_time_in_the_citys_zone(sign_in, city, sessions, settings):
    browser = sign_in(city.approver)
    browser.follow_redirects = False
    later = (utcnow() + timedelta(days=2)).astimezone(settings.zone)
    r = start(browser, reason="Parks audit", scope="departments", departments=["parks"],
              until=later.strftime("%Y-%m-%dT%H:%M"))
    assert r.status_code == 303, r.text
    with sessions() as session:
        s = session.scalars(select(Suspension)).one()
        parks = session.scalar(select(Department.id).where(Department.slug == "parks"))
        assert s.department_ids == [parks]
        assert abs((s.until - later.replace(second=0, microsecond=0)).total_seconds()) < 1


def test_staff_read_the_page_without_forms_and_cannot_post(sign_in, city, client):
    client.post("/api/v1/suspensions", headers=city.approver.auth, json={"reason": "Storm"}).raise_for_status()
    browser = sign_in(city.parks_staff)
    browser.follow_redirects = False
    page = browser.get("/staff/suspensions")
    assert page.status_code == 200 and "Storm" in page.text
    assert 'action="/staff/suspensions"' not in page.text and "/end" not in page.text
    r = browser.post("/staff/suspensions", data={"csrf_token": csrf_of(page.text), "reason": "Mine"})
    assert r.status_code == 403 and "Only approvers and administrators" in r.text
    r = browser.post("/staff/suspensions", data={"reason": "No token"})
    assert r.status_code == 403


def test_end_then_release_per_item_now_and_the_rest_back_to_the_author(sign_in, city, client, sessions):
    first = create_approved(client, city, title="Pool party Saturday")
    second = create_approved(client, city, title="Lake swim Sunday")
    s = client.post("/api/v1/suspensions", headers=city.approver.auth, json={"reason": "Storm"}).json()
    browser = sign_in(city.approver)
    browser.follow_redirects = False
    page = browser.get("/staff/suspensions")
    r = browser.post(f"/staff/suspensions/{s['id']}/end", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    page = browser.get("/staff/suspensions")
    assert "It holds 4 items" in page.text and "Release all 4" in page.text
    assert set(statuses(sessions, first["id"])) == {"held"}
    with sessions() as session:
        first_ids = session.scalars(select(Delivery.id).where(Delivery.announcement_id == first["id"])).all()
    url = f"/staff/suspensions/{s['id']}/release"
    token = csrf_of(page.text)
    nothing = browser.post(url, data={"csrf_token": token, "which": "chosen", "when": "now"})
    assert nothing.status_code == 422 and "Tick the items to release" in nothing.text
    no_time = browser.post(url, data={"csrf_token": token, "which": "chosen", "when": "at",
                                      "deliveries": [str(i) for i in first_ids], "at": ""})
    assert no_time.status_code == 422 and "Enter the new time" in no_time.text
    stranger = browser.post(url, data={"csrf_token": token, "which": "chosen", "when": "now", "deliveries": "999999"})
    assert stranger.status_code == 422 and "elivery 999999 is not held" in stranger.text
    r = browser.post(url, data={"csrf_token": token, "which": "chosen", "when": "now",
                                "deliveries": [str(i) for i in first_ids]})
    assert r.status_code == 303
    assert set(statuses(sessions, first["id"])) == {"pending"}
    r = browser.post(url, data={"csrf_token": token, "which": "all", "when": "back_to_author",
                                "note": "Please check the date"})
    assert r.status_code == 303
    assert set(statuses(sessions, second["id"])) == {"cancelled"}
    draft = client.get(f"/api/v1/announcements/{second['id']}", headers=city.parks_staff.auth).json()
    assert draft["state"] == "draft"
    assert "It holds nothing now" in browser.get("/staff/suspensions").text


def test_release_at_a_time_and_long_overdue_items_are_flagged(sign_in, city, client, sessions, settings):
    a = create_approved(client, city)
    s = client.post("/api/v1/suspensions", headers=city.approver.auth, json={"reason": "Storm"}).json()
    client.delete(f"/api/v1/suspensions/{s['id']}", headers=city.approver.auth).raise_for_status()
    with transaction(sessions) as session:
        session.execute(update(Delivery).where(Delivery.announcement_id == a["id"])
                        .values(due_at=utcnow() - timedelta(days=1)))
    browser = sign_in(city.approver)
    browser.follow_redirects = False
    page = browser.get("/staff/suspensions")
    assert page.text.count("its time passed long ago") == 2
    later = (utcnow() + timedelta(hours=3)).astimezone(settings.zone)
    r = browser.post(f"/staff/suspensions/{s['id']}/release", data={
        "csrf_token": csrf_of(page.text), "which": "all", "when": "at", "at": later.strftime("%Y-%m-%dT%H:%M")})
    assert r.status_code == 303
    with sessions() as session:
        times = session.scalars(select(Delivery.next_attempt_at).where(Delivery.announcement_id == a["id"])).all()
    assert all(abs((t - later.replace(second=0, microsecond=0)).total_seconds()) < 1 for t in times)
    assert set(statuses(sessions, a["id"])) == {"pending"}


def test_an_active_suspension_cannot_be_released_from_the_page(sign_in, city, client):
    create_approved(client, city)
    s = client.post("/api/v1/suspensions", headers=city.approver.auth, json={"reason": "Storm"}).json()
    browser = sign_in(city.approver)
    browser.follow_redirects = False
    page = browser.get("/staff/suspensions")
    assert f'/staff/suspensions/{s["id"]}/release' not in page.text
    r = browser.post(f"/staff/suspensions/{s['id']}/release",
                     data={"csrf_token": csrf_of(page.text), "which": "all", "when": "now"})
    assert r.status_code == 422 and "still in force" in r.text
    assert re.search(r"End suspension \d+", page.text)


def test_the_dashboard_offers_approvers_the_pause_button_and_every_staff_page_shows_the_banner(sign_in, city, client):
    approver, staff = sign_in(city.approver), sign_in(city.parks_staff)
    dash = approver.get("/staff/")
    assert "Pause all scheduled posts" in dash.text
    assert 'href="/staff/suspensions?scope=city#start-heading"' in dash.text
    assert "Pause all scheduled posts" not in staff.get("/staff/").text
    start_page = approver.get("/staff/suspensions?scope=city")
    assert 'id="f-scope-city" name="scope" value="city" checked' in start_page.text
    assert "Scheduled posts are paused" not in staff.get("/staff/").text
    client.post("/api/v1/suspensions", headers=city.approver.auth,
                json={"reason": "Flooding downtown", "departments": ["parks"]}).raise_for_status()
    for page in ("/staff/", "/staff/announcements", "/staff/calendar", "/staff/account"):
        shown = staff.get(page)
        assert shown.status_code == 200
        assert "Scheduled posts are paused for Parks and Recreation" in shown.text, page
        assert "Flooding downtown" in shown.text and "by comms" in shown.text
        assert 'href="/staff/suspensions#suspension-' in shown.text


def test_a_held_items_page_says_it_is_held_and_a_request_on_the_wire_may_have_landed(sign_in, city, client):
    a = create_approved(client, city)
    s = client.post("/api/v1/suspensions", headers=city.approver.auth, json={"reason": "Storm"}).json()
    page = sign_in(city.parks_staff).get(f"/staff/announcements/{a['id']}")
    assert f'Held by <a href="/staff/suspensions#suspension-{s["id"]}">suspension {s["id"]}</a>' in page.text
    assert "A request already on the wire when the pause began may still have landed" in page.text
    other = create_approved(client, city, emergency=True, title="Boil water")
    assert "Held by" not in sign_in(city.parks_staff).get(f"/staff/announcements/{other['id']}").text


def test_approving_during_a_pause_asks_first_then_the_item_waits_held(sign_in, city, client, sessions):
    client.post("/api/v1/suspensions", headers=city.approver.auth,
                json={"reason": "Storm", "departments": ["parks"]}).raise_for_status()
    a = create_submitted(client, city)
    browser = sign_in(city.approver)
    browser.follow_redirects = False
    page = browser.get(f"/staff/announcements/{a['id']}")
    form = {"csrf_token": csrf_of(page.text), "fingerprint": re.search(r'name="fingerprint" value="([^"]+)"',
                                                                       page.text).group(1), "back": "announcement"}
    ask = browser.post(f"/staff/announcements/{a['id']}/approve", data=form)
    assert ask.status_code == 200 and "the item will wait as held" in ask.text
    assert 'name="confirm_suspended" value="yes"' in ask.text
    assert statuses(sessions, a["id"]) == []
    assert client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["state"] == "submitted"
    done = browser.post(f"/staff/announcements/{a['id']}/approve", data={**form, "confirm_suspended": "yes"})
    assert done.status_code == 303
    assert set(statuses(sessions, a["id"])) == {"held"}
    assert "It waits, held by suspension" in browser.get(done.headers["location"]).text
