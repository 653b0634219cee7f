"""Announcements about events (event_start, event_end, location through the API), per-topic feeds
(Atom, JSON Feed, iCalendar) and the embed that the city's website may frame."""

import json

import pytest

from civicpost.db import utcnow
from civicpost.models import DeliveryStatus, State
from tests.factories import create_approved, create_draft, set_outcome

EVENT = {"event_start": "2027-06-05T09:00:00-04:00", "event_end": "2027-06-05T17:00:00-04:00",
         "location": "Elm Street Pool, 12 Elm St"}


def published(client, city, sessions, **fields) -> int:
    if fields.get("department") == "police":
        draft = create_draft(client, city.police_staff, **fields)
        a = client.post(f"/api/v1/announcements/{draft['id']}/submit", headers=city.police_staff.auth).json()
        a = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                        json={"fingerprint": a["fingerprint"]}).json()
    else:
        a = create_approved(client, city, **fields)
    set_outcome(sessions, a["id"], State.published, DeliveryStatus.published, published_at=utcnow())
    return a["id"]


def test_an_announcement_carries_an_optional_event_through_the_api(client, city):
    a = create_draft(client, city.parks_staff, **EVENT)
    assert (a["event_start"], a["event_end"], a["location"]) == (
        "2027-06-05T09:00:00-04:00", "2027-06-05T17:00:00-04:00", "Elm Street Pool, 12 Elm St")
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth,
                     json={"event_end": None, "location": None})
    assert r.status_code == 200 and r.json()["event_end"] is None and r.json()["location"] is None
    assert r.json()["event_start"] == "2027-06-05T09:00:00-04:00"


@pytest.mark.parametrize("fields, field", [
    ({"event_start": "2027-06-05"}, "event_start"),
    ({"event_start": "2027-06-05T09:00:00"}, "event_start"),
    ({"event_start": "soon"}, "event_start"),
    ({"event_start": "2027-06-05T09:00:00Z", "event_end": "2027-06-05T08:00:00Z"}, "event_end"),
    ({"event_end": "2027-06-05T08:00:00Z"}, "event_start"),
    ({"event_start": "2027-06-05T09:00:00Z", "location": "x" * 501}, "location"),
    ({"event_start": "2027-06-05T09:00:00Z", "location": "a\nb"}, "location"),
])
def test_a_bad_event_is_refused_with_the_field_to_fix(client, city, fields, field):
    r = client.post("/api/v1/announcements", headers=city.parks_staff.auth,
                    json={"department": "parks", "title": "Pool", "body": "Open.", **fields})
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]


def test_a_topic_feed_holds_its_departments_announcements_only(client, city, sessions):
    parks = published(client, city, sessions, title="Pool opens", **EVENT)
    police = published(client, city, sessions, title="Police open house", department="police",
                       channels=city.police_channels)
    atom = client.get("/t/parks/feed.atom")
    assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
    assert f"/announcements/{parks}" in atom.text and f"/announcements/{police}" not in atom.text
    feed = client.get("/t/police/feed.json").json()
    assert [i["title"] for i in feed["items"]] == ["Police open house"]
    assert feed["feed_url"].endswith("/t/police/feed.json")
    [item] = client.get("/t/parks/feed.json").json()["items"]
    assert item["_event"]["location"] == "Elm Street Pool, 12 Elm St"


def test_a_topic_calendar_lists_its_announced_events_with_place_and_end(client, city, sessions):
    parks = published(client, city, sessions, title="Pool opens", **EVENT)
    published(client, city, sessions, title="No event here")
    r = client.get("/t/parks/calendar.ics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    text = r.text
    assert text.count("BEGIN:VEVENT") == 1
    assert "DTSTART:20270605T130000Z\r\n" in text and "DTEND:20270605T210000Z\r\n" in text
    assert "LOCATION:Elm Street Pool\\, 12 Elm St\r\n" in text
    assert f"/announcements/{parks}" in text


def test_unknown_or_malformed_topics_are_404(client, city):
    for path in ("/t/nope/feed.atom", "/t/NOPE/feed.json", "/t/%00/calendar.ics", "/embed/" + "a" * 300):
        assert client.get(path).status_code == 404, path


def test_the_embed_may_be_framed_by_the_named_sites_and_other_pages_never(client, city, sessions, settings, engine):
    from fastapi.testclient import TestClient

    from civicpost.web import create_app

    published(client, city, sessions, title="Pool opens", **EVENT)
    r = client.get("/embed/parks")
    assert r.status_code == 200 and "Pool opens" in r.text and "<script" not in r.text
    assert "frame-ancestors *" in r.headers["content-security-policy"]
    assert "x-frame-options" not in r.headers
    assert client.get("/subscribe").headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in client.get("/").headers["content-security-policy"]
    only = settings.model_copy(update={"embed_ancestors": "https://www.city.example"})
    with TestClient(create_app(only, engine=engine)) as other:
        policy = other.get("/embed/parks").headers["content-security-policy"]
    assert "frame-ancestors https://www.city.example;" in policy + ";"


def test_the_feeds_keep_their_json_shape(client, city, sessions):
    published(client, city, sessions, title="Pool opens")
    json.dumps(client.get("/feed.json").json())
    assert "_event" not in client.get("/feed.json").json()["items"][0]


def test_the_public_page_of_an_announcement_says_when_and_where_its_event_is(client, city, sessions):
    a = published(client, city, sessions, title="Pool opens", **EVENT)
    page = client.get(f"/announcements/{a}").text
    assert "<strong>When:</strong>" in page and "Elm Street Pool, 12 Elm St" in page
