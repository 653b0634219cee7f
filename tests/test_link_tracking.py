"""Link tracking (SPEC §8.3): a channel that counts clicks sends the
announcement's link as /r/{code}; following it counts one click for that
channel and nothing about the reader is kept."""

import json
import re

from sqlalchemy import select

from civicpost.models import AuditEvent, Delivery
from tests.pages import csrf_of
from tests.factories import create_approved, create_submitted

LINK = "https://city.example/pools?season=summer"
TRACKED = re.compile(r"http://127\.0\.0\.1:8000/r/([a-z2-7]{12})")


def track(client, city, channel_id: int, **change) -> dict:
    r = client.patch(f"/api/v1/channels/{channel_id}", headers=city.admin.auth, json={"track_links": True, **change})
    assert r.status_code == 200, r.text
    return r.json()


def sent_link(sessions, announcement_id: int, channel_id: int) -> str:
    with sessions() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.announcement_id == announcement_id,
                                                          Delivery.channel_id == channel_id)).one()
        return json.loads(delivery.rendition["text"])["link"]


def test_a_tracking_channel_sends_the_short_address_and_the_others_the_link_as_written(client, city, sessions):
    feed, hook = city.parks_channels
    assert track(client, city, hook)["track_links"] is True
    approved = create_approved(client, city, link=LINK)
    tracked = sent_link(sessions, approved["id"], hook)
    assert TRACKED.fullmatch(tracked)
    with sessions() as session:
        feed_text = session.scalars(select(Delivery.rendition).where(Delivery.channel_id == feed)).one()["text"]
    assert LINK in feed_text and "/r/" not in feed_text


def test_the_approver_reviews_the_short_address_that_goes_out(client, city, sessions):
    hook = city.parks_channels[1]
    track(client, city, hook)
    submitted = create_submitted(client, city, link=LINK)
    shown = client.get(f"/api/v1/announcements/{submitted['id']}", headers=city.approver.auth).json()
    previewed = next(r for r in shown["renditions"] if r["channel_id"] == hook)
    address = json.loads(previewed["text"])["link"]
    r = client.post(f"/api/v1/announcements/{submitted['id']}/approve", headers=city.approver.auth,
                    json={"fingerprint": shown["fingerprint"]})
    assert r.status_code == 200, r.text
    assert sent_link(sessions, submitted["id"], hook) == address


def test_following_the_short_address_counts_a_click_and_sets_no_cookie(client, city, sessions):
    hook = city.parks_channels[1]
    track(client, city, hook)
    approved = create_approved(client, city, link=LINK)
    path = "/r/" + TRACKED.fullmatch(sent_link(sessions, approved["id"], hook)).group(1)
    for _ in range(2):
        r = client.get(path, follow_redirects=False, headers={"User-Agent": "Mozilla/5.0 (iPhone)"})
        assert r.status_code == 302 and r.headers["location"] == LINK
        assert "set-cookie" not in r.headers and r.headers["cache-control"] == "no-store"
        assert r.headers["referrer-policy"] == "no-referrer"
    # A platform drawing the link's card is not a resident clicking.
    for robot in ("Twitterbot/1.0", "facebookexternalhit/1.1", "Mastodon/4.3.0 (http.rb/5.2.0; +https://city.social/)"):
        assert client.get(path, follow_redirects=False, headers={"User-Agent": robot}).status_code == 302
    clicks = client.get(f"/api/v1/announcements/{approved['id']}/clicks", headers=city.parks_staff.auth).json()
    assert clicks == {"items": [{"channel_id": hook, "clicks": 2}]}


def test_an_unknown_or_malformed_short_address_is_a_plain_404(client, city):
    for code in ("aaaaaaaaaaaa", "AAAA", "a" * 500, "ümlaut", "x%00y"):
        r = client.get(f"/r/{code}", follow_redirects=False)
        assert r.status_code == 404, code
        assert "location" not in r.headers
        assert "not one of the city's announcement links" in r.text
    assert client.get("/r/..%2f..%2fetc", follow_redirects=False).status_code == 404


def test_each_announcement_gets_its_own_short_address_and_an_old_one_still_leads_where_it_led(client, city, sessions):
    hook = city.parks_channels[1]
    track(client, city, hook)
    approved = create_approved(client, city, link=LINK)
    code = TRACKED.fullmatch(sent_link(sessions, approved["id"], hook)).group(1)
    client.get(f"/r/{code}", follow_redirects=False)
    other = create_approved(client, city, link="https://city.example/other")
    assert TRACKED.fullmatch(sent_link(sessions, other["id"], hook)).group(1) != code
    assert client.get(f"/r/{code}", follow_redirects=False).headers["location"] == LINK


def test_only_an_admin_changes_a_channel_and_every_change_is_on_record(client, city, sessions):
    hook = city.parks_channels[1]
    for person in (city.parks_staff, city.approver):
        r = client.patch(f"/api/v1/channels/{hook}", headers=person.auth, json={"track_links": True})
        assert r.status_code == 403
    r = client.patch(f"/api/v1/channels/{hook}", headers=city.admin.auth, json={"track_links": "maybe"})
    assert r.status_code == 422
    r = client.patch(f"/api/v1/channels/{hook}", headers=city.admin.auth, json={"name": "renamed"})
    assert r.status_code == 422
    assert client.patch("/api/v1/channels/999999", headers=city.admin.auth, json={"active": False}).status_code == 404
    track(client, city, hook, active=False)
    with sessions() as session:
        changes = session.scalars(select(AuditEvent).where(AuditEvent.action == "channel.change")).all()
    assert [(e.object_id, e.detail) for e in changes] == [(hook, {"track_links": True, "active": False})]


def test_an_admin_turns_counting_on_and_retires_a_channel_on_its_page(client, city, sign_in):
    hook = city.parks_channels[1]
    browser = sign_in(city.admin)
    page = browser.get(f"/staff/channels/{hook}")
    assert "Count clicks on the announcement" in page.text
    r = browser.post(f"/staff/channels/{hook}/use", data={"csrf_token": csrf_of(page.text), "track_links": "yes"},
                     follow_redirects=True)
    assert "is retired: offered for no new announcement, and counts clicks on links" in r.text
    shown = client.get(f"/api/v1/channels/{hook}", headers=city.admin.auth).json()
    assert shown["track_links"] is True and shown["active"] is False
