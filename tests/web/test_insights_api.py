"""GET /api/v1/insights: JSON and CSV, for the posts the caller may see."""

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.factories import create_engagement

ZONE = ZoneInfo("America/New_York")
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=ZONE).astimezone(UTC)


def test_insights_answer_medians_by_department_platform_slot_and_week(client, sessions, city) -> None:
    for engagement in (10, 20, 30):
        create_engagement(sessions, city, published_at=at(3, 9), engagement=engagement, followers=1000)
    create_engagement(sessions, city, published_at=at(4, 15), engagement=5, department="police")

    r = client.get("/api/v1/insights", params=MARCH, headers=city.admin.auth)

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["from"] == "2026-03-01" and body["to"] == "2026-03-31"
    assert body["time_zone"] == "America/New_York"
    # Medians come from the counts' buckets: within the stated error of the exact 0.02 per follower.
    within = pytest.approx(0.02, rel=body["median_error"])
    assert body["overall"] == {"posts": 4, "median_engagement": 15.0, "median_per_follower": within}
    assert body["by_department_platform"][0] == {
        "department": "parks", "department_name": "Parks and Recreation", "platform": "feed",
        "posts": 3, "median_engagement": 20.0, "median_per_follower": within,
    }
    assert {"weekday": 1, "hour": 9, "posts": 3, "median_engagement": 20.0, "median_per_follower": within} \
        in body["slots"]
    assert [w["week"] for w in body["weeks"]] == ["2026-03-02"]
    top = body["top_posts"][0]
    assert top["engagement"] == 30
    assert top["link"].endswith(f"/staff/announcements/{top['announcement_id']}")
    assert top["published_at"] == "2026-03-03T09:00:00-05:00"


def test_staff_see_only_their_department_and_another_s_slug_is_not_found(client, sessions, city) -> None:
    create_engagement(sessions, city, published_at=at(3), engagement=10)
    create_engagement(sessions, city, published_at=at(3), engagement=70, department="police")

    mine = client.get("/api/v1/insights", params=MARCH, headers=city.parks_staff.auth)
    assert mine.json()["overall"]["posts"] == 1
    theirs = client.get("/api/v1/insights", params={**MARCH, "department": "police"}, headers=city.parks_staff.auth)
    assert theirs.status_code == 404
    assert theirs.json()["detail"] == "no department with slug 'police'"


def test_insights_need_a_signed_in_caller(client, city) -> None:
    assert client.get("/api/v1/insights").status_code == 401


def test_bad_dates_and_unknown_platforms_answer_422_saying_what_to_send(client, city) -> None:
    for params, words in [
        ({"from": "08/03/2026"}, "is not a date; use the form 2026-03-08"),
        ({"from": "2026-02-30"}, "is not a date"),
        ({"from": "2026-03-09", "to": "2026-03-01"}, "the 'to' date is before the 'from' date"),
        ({"platform": "myspace"}, "'myspace' is not a platform civicpost knows"),
        ({"platform": "ma\u0308stodon"}, "is not a platform"),
        ({"to": "9999-12-31"}, "must be between 1970-01-01"),
    ]:
        r = client.get("/api/v1/insights", params=params, headers=city.admin.auth)
        assert r.status_code == 422, params
        assert words in r.json()["detail"], r.json()
    assert client.get("/api/v1/insights", params={"department": "x" * 500}, headers=city.admin.auth).status_code == 422


def test_no_readings_answer_empty_lists_not_an_error(client, city) -> None:
    body = client.get("/api/v1/insights", headers=city.admin.auth).json()
    assert body["overall"] == {"posts": 0, "median_engagement": None, "median_per_follower": None}
    assert body["slots"] == [] and body["top_posts"] == []


def test_csv_has_a_row_per_post_then_the_aggregates_and_no_formulas(client, sessions, city) -> None:
    create_engagement(sessions, city, published_at=at(3, 9), engagement=10, title="=HYPERLINK(\"http://x\")")
    create_engagement(sessions, city, published_at=at(5, 9), engagement=30, title="Pool opens")

    r = client.get("/api/v1/insights", params=MARCH, headers={**city.admin.auth, "Accept": "text/csv"})

    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    posts = [row for row in rows if row["kind"] == "post"]
    assert [p["title"] for p in posts] == ["'=HYPERLINK(\"http://x\")", "Pool opens"]
    assert posts[0]["engagement"] == "10" and posts[0]["weekday"] == "1" and posts[0]["hour"] == "9"
    assert posts[0]["published_at"] == "2026-03-03T09:00:00-05:00"
    kinds = [row["kind"] for row in rows]
    assert kinds == ["post", "post", "department_platform", "platform", "slot", "slot", "week", "all"]
    assert rows[-1]["median_engagement"] == "20.0" and rows[-1]["posts"] == "2"
