"""One announcement's page: previews, state, history, deliveries, and the steps it can take."""

import re

from civicpost.models import Announcement, Delivery, DeliveryStatus, State
from tests.factories import create_approved, set_outcome
from tests.pages import csrf_of

HTML = {"accept": "text/html"}


def state_of(sessions, announcement_id: int) -> str:
    with sessions() as session:
        return session.get(Announcement, announcement_id).state


def test_the_page_shows_previews_state_and_history_oldest_first_in_the_city_zone(sign_in, city, client):
    a = create_approved(client, city, publish_at="2030-07-04T09:00:00-04:00")
    page = sign_in(city.parks_staff).get(f"/staff/announcements/{a['id']}")
    assert page.status_code == 200
    html = page.text
    assert 'class="state state-scheduled"' in html and "Thu 4 Jul 2030, 9:00 a.m. EDT" in html
    assert "parks City website" in html and 'class="counter' in html
    history = html[html.index('id="history-heading"'):]
    assert history.index("Created") < history.index("Submitted for approval") < history.index("Approved")
    assert re.search(r"<time datetime=\"[^\"]+\">\w{3} \d{1,2} \w{3} \d{4}, \d{1,2}:\d{2} [ap]\.m\. E[DS]T</time>", history)
    deliveries = html[html.index('id="deliveries-heading"'):html.index('id="history-heading"')]
    assert deliveries.count('class="state state-pending"') == 2


def test_a_member_of_another_department_gets_the_page_for_a_missing_announcement(sign_in, city, draft):
    a = draft()
    browser = sign_in(city.police_staff)
    for suffix in ("", "/edit", "/cancel", "/retract"):
        theirs = browser.get(f"/staff/announcements/{a['id']}{suffix}", headers=HTML)
        missing = browser.get(f"/staff/announcements/{a['id'] + 1000}{suffix}", headers=HTML)
        assert theirs.status_code == missing.status_code == 404 and theirs.headers["content-type"].startswith("text/html")
        assert "Parks and Recreation" not in theirs.text and "Pool opens" not in theirs.text
        assert theirs.text == missing.text.replace(str(a["id"] + 1000), str(a["id"]))


def test_the_author_submits_a_draft_from_its_page(sign_in, city, draft, sessions):
    a = draft()
    browser = sign_in(city.parks_staff)
    page = browser.get(f"/staff/announcements/{a['id']}")
    assert f'action="/staff/announcements/{a["id"]}/submit"' in page.text
    r = browser.post(f"/staff/announcements/{a['id']}/submit", data={"csrf_token": csrf_of(page.text)})
    assert "Submitted for approval." in r.text
    assert state_of(sessions, a["id"]) == State.submitted


def test_cancelling_asks_for_confirmation_first(sign_in, city, draft, sessions):
    a = draft()
    browser = sign_in(city.parks_staff)
    page = browser.get(f"/staff/announcements/{a['id']}")
    assert f'href="/staff/announcements/{a["id"]}/cancel" data-confirm=' in page.text
    confirm = browser.get(f"/staff/announcements/{a['id']}/cancel")
    assert "Cancel this announcement?" in confirm.text and 'name="confirmed" value="yes"' in confirm.text
    r = browser.post(f"/staff/announcements/{a['id']}/cancel", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and "Cancel this announcement?" in r.text
    assert state_of(sessions, a["id"]) == State.draft
    r = browser.post(f"/staff/announcements/{a['id']}/cancel", data={"csrf_token": csrf_of(page.text), "confirmed": "yes"})
    assert "Cancelled." in r.text
    assert state_of(sessions, a["id"]) == State.cancelled


def test_a_cancel_without_the_csrf_token_is_refused(sign_in, city, draft, sessions):
    a = draft()
    r = sign_in(city.parks_staff).post(f"/staff/announcements/{a['id']}/cancel", data={"confirmed": "yes"})
    assert r.status_code == 403
    assert state_of(sessions, a["id"]) == State.draft


def test_staff_cannot_cancel_after_approval_and_are_told_so(sign_in, city, client, sessions):
    a = create_approved(client, city)
    browser = sign_in(city.parks_staff)
    page = browser.get(f"/staff/announcements/{a['id']}")
    assert f"/staff/announcements/{a['id']}/cancel" not in page.text
    r = browser.post(f"/staff/announcements/{a['id']}/cancel", data={"csrf_token": csrf_of(page.text), "confirmed": "yes"})
    assert 'class="flash flash-error" role="alert"' in r.text
    assert state_of(sessions, a["id"]) == State.scheduled


def test_retracting_asks_for_confirmation_and_is_for_approvers(sign_in, city, client, sessions):
    a = create_approved(client, city)
    set_outcome(sessions, a["id"], State.published, DeliveryStatus.published, remote_url="https://city.example/posts/1")
    staff_page = sign_in(city.parks_staff).get(f"/staff/announcements/{a['id']}").text
    assert "Retract announcement" not in staff_page
    assert 'href="https://city.example/posts/1">View the post' in staff_page
    browser = sign_in(city.approver)
    page = browser.get(f"/staff/announcements/{a['id']}")
    assert f'href="/staff/announcements/{a["id"]}/retract"' in page.text
    r = browser.post(f"/staff/announcements/{a['id']}/retract", data={"csrf_token": csrf_of(page.text)})
    assert "Retract this announcement?" in r.text and state_of(sessions, a["id"]) == State.published
    r = browser.post(f"/staff/announcements/{a['id']}/retract", data={"csrf_token": csrf_of(page.text), "confirmed": "yes"})
    assert "Retracted." in r.text and state_of(sessions, a["id"]) == State.retracted


def test_the_retry_button_requeues_a_failed_delivery(sign_in, city, client, sessions):
    a = create_approved(client, city)
    ids = set_outcome(sessions, a["id"], State.failed, DeliveryStatus.failed, attempts=8, last_error="HTTP 500 from the partner")
    browser = sign_in(city.approver)
    page = browser.get(f"/staff/announcements/{a['id']}")
    assert "HTTP 500 from the partner" in page.text
    assert f'action="/staff/deliveries/{ids[0]}/retry"' in page.text
    assert 'Retry' not in sign_in(city.parks_staff).get(f"/staff/announcements/{a['id']}").text
    r = browser.post(f"/staff/deliveries/{ids[0]}/retry", data={"csrf_token": csrf_of(page.text)})
    assert "will be tried again" in r.text
    with sessions() as session:
        d = session.get(Delivery, ids[0])
        assert d.status == DeliveryStatus.pending and d.attempts == 0
        assert session.get(Announcement, a["id"]).state == State.publishing


def test_an_approver_decides_from_the_announcement_page_too(sign_in, city, client, draft, sessions):
    a = draft()
    client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    browser = sign_in(city.approver)
    page = browser.get(f"/staff/announcements/{a['id']}")
    assert "Your decision" in page.text
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]{64})"', page.text).group(1)
    r = browser.post(f"/staff/announcements/{a['id']}/approve", follow_redirects=False,
                     data={"csrf_token": csrf_of(page.text), "fingerprint": fingerprint, "back": "announcement"})
    assert r.status_code == 303 and r.headers["location"] == f"/staff/announcements/{a['id']}"
    assert state_of(sessions, a["id"]) == State.scheduled


def test_submitting_from_the_page_with_a_blocking_problem_lists_what_to_fix(sign_in, city, client, draft, sessions):
    x = client.post("/api/v1/channels", headers=city.admin.auth,
                    json={"department": "parks", "platform": "x", "name": "Parks on X",
                          "credentials": {"oauth2_access_token": "t"}, "settings": {}}).json()["id"]
    a = draft(body="The Elm Street pool opens Saturday. " * 12, channels=[x])
    browser = sign_in(city.parks_staff)
    page = browser.get(f"/staff/announcements/{a['id']}")
    r = browser.post(f"/staff/announcements/{a['id']}/submit", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 422
    refusal = re.search(rf'<div class="error-summary" role="alert" id="refusal-{a["id"]}".*?</div>', r.text, re.S).group(0)
    assert "Not submitted" in refusal and "X allows 280" in refusal
    assert f'href="/staff/announcements/{a["id"]}/edit"' in refusal
    assert state_of(sessions, a["id"]) == State.draft
