"""Deliveries that move while their page is open: the part live.js fetches again (ETag, 304), its states,
and its scope."""

import re
from datetime import UTC, datetime

from civicpost.models import DeliveryStatus, State
from tests.factories import create_approved, set_outcome
from tests.pages import csrf_of

HTML = {"accept": "text/html"}


def part_of(html: str) -> str:
    match = re.search(r'<section aria-labelledby="deliveries-heading".*?</section>', html, re.S)
    assert match, "no deliveries section"
    return match.group(0)


def test_the_page_and_its_live_part_show_the_same_deliveries_and_the_part_follows_them(
    sign_in, city, client, sessions
):
    a = create_approved(client, city)
    approver = sign_in(city.approver)
    page = approver.get(f"/staff/announcements/{a['id']}").text
    assert '<script src="/static/live.js" defer></script>' in page
    shown = part_of(page)
    assert f'data-live="/staff/announcements/{a["id"]}/deliveries"' in shown and 'data-live-open="true"' in shown

    first = approver.get(f"/staff/announcements/{a['id']}/deliveries", headers=HTML)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    assert part_of(first.text) == shown, "the part alone is what the page shows"
    assert "<html" not in first.text
    tag = first.headers["etag"]
    unchanged = approver.get(f"/staff/announcements/{a['id']}/deliveries", headers={**HTML, "if-none-match": tag})
    assert unchanged.status_code == 304 and unchanged.text == ""

    set_outcome(sessions, a["id"], State.published, DeliveryStatus.published,
                remote_url="https://example.org/post/1", published_at=datetime(2026, 12, 4, 14, 0, tzinfo=UTC))
    moved = approver.get(f"/staff/announcements/{a['id']}/deliveries", headers={**HTML, "if-none-match": tag})
    assert moved.status_code == 200 and moved.headers["etag"] != tag
    rows, fresh_badge = moved.text.split("<template", 1)
    assert rows.count('class="state state-published"') == 2, "both deliveries"
    assert 'class="state-fresh"' in fresh_badge and "state-published" in fresh_badge, "and the announcement's badge"
    assert "Fri 4 Dec 2026, 9:00 a.m. EST" in moved.text
    assert 'data-live-open="false"' in moved.text, "nothing moves any more: the script stops asking"


def test_a_retrying_delivery_says_when_it_is_tried_next(sign_in, city, client, sessions):
    a = create_approved(client, city)
    set_outcome(sessions, a["id"], State.publishing, DeliveryStatus.retrying, attempts=2,
                next_attempt_at=datetime(2026, 12, 4, 15, 30, tzinfo=UTC), last_error="Mastodon answered 503")
    part = sign_in(city.approver).get(f"/staff/announcements/{a['id']}/deliveries", headers=HTML).text
    assert part.count("next try <time") == 2
    assert "Fri 4 Dec 2026, 10:30 a.m. EST" in part and 'data-live-open="true"' in part


def test_the_retry_button_in_the_part_posts_with_the_pages_token(sign_in, city, client, sessions):
    a = create_approved(client, city)
    set_outcome(sessions, a["id"], State.failed, DeliveryStatus.failed, last_error="refused")
    approver = sign_in(city.approver)
    page_token = csrf_of(approver.get(f"/staff/announcements/{a['id']}").text)
    part = approver.get(f"/staff/announcements/{a['id']}/deliveries", headers=HTML).text
    assert csrf_of(part) == page_token
    assert part.count('action="/staff/deliveries/') == 2


def test_another_departments_staff_and_signed_out_visitors_get_nothing(sign_in, city, client):
    a = create_approved(client, city)
    other = sign_in(city.police_staff).get(f"/staff/announcements/{a['id']}/deliveries", headers=HTML)
    assert other.status_code == 404 and "Deliveries" not in other.text
    signed_out = client.get(f"/staff/announcements/{a['id']}/deliveries", headers=HTML, follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/staff/login")


def test_asking_for_the_part_leaves_a_waiting_message_for_the_next_page(sign_in, city, client):
    a = create_approved(client, city)
    approver = sign_in(city.approver)
    page = approver.get(f"/staff/announcements/{a['id']}").text
    retract = approver.post(f"/staff/announcements/{a['id']}/cancel",
                            data={"csrf_token": csrf_of(page), "confirmed": "yes"}, follow_redirects=False)
    assert retract.status_code == 303
    approver.get(f"/staff/announcements/{a['id']}/deliveries", headers=HTML)  # live.js asking meanwhile
    after = approver.get(retract.headers["location"]).text
    assert "Cancelled" in after or "cancelled" in after
    assert 'class="flash' in after


def test_the_dashboard_lists_follow_failures_and_approvals_without_a_reload(sign_in, city, client, sessions):
    approver = sign_in(city.approver)
    page = approver.get("/staff/").text
    assert 'data-live="/staff/dashboard/live"' in page and '<script src="/static/live.js" defer></script>' in page
    first = approver.get("/staff/dashboard/live", headers=HTML)
    assert first.status_code == 200 and "<html" not in first.text
    assert 'data-live-summary="Dashboard: 0 deliveries need a person, 0 waiting for your approval."' in first.text
    tag = first.headers["etag"]
    assert approver.get("/staff/dashboard/live", headers={**HTML, "if-none-match": tag}).status_code == 304

    a = create_approved(client, city, title="Pool opens Saturday")
    set_outcome(sessions, a["id"], State.failed, DeliveryStatus.failed, last_error="Mastodon answered 422: too long")
    moved = approver.get("/staff/dashboard/live", headers={**HTML, "if-none-match": tag})
    assert moved.status_code == 200 and "Pool opens Saturday" in moved.text and "too long" in moved.text
    assert "2 deliveries need a person" in moved.text

    police = sign_in(city.police_staff).get("/staff/dashboard/live", headers=HTML).text
    assert "Pool opens Saturday" not in police and "0 deliveries need a person" in police
    assert "waiting for your approval" not in police
