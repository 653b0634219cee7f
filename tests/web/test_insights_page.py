"""/staff/insights: numbers in tables, charts that describe themselves, filters as a GET form, CSV."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.factories import create_engagement

ZONE = ZoneInfo("America/New_York")
MARCH = "?from=2026-03-01&to=2026-03-31"


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=ZONE).astimezone(UTC)


def test_the_page_shows_medians_in_tables_beside_svg_charts_with_titles(sign_in, sessions, city) -> None:
    for engagement in (10, 20, 30):
        create_engagement(sessions, city, published_at=at(3, 9), engagement=engagement, title="Pool opens")
    page = sign_in(city.parks_staff).get("/staff/insights" + MARCH)

    assert page.status_code == 200
    html = page.text
    assert html.count('<svg class="chart') == 3
    for svg in re.findall(r'<svg class="chart.*?</svg>', html, re.S):
        assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert "<th scope=\"row\" data-label=\"Department\">Parks and Recreation</th>" in html
    assert '<td data-label="Median per post">20</td>' in html
    # Tuesday 9 a.m.: the median and the number of posts, in the table and in the square's label.
    assert "20<span class=\"heat-count\">3 posts</span>" in html
    assert "<title>Tuesday 9 a.m.: median 20, 3 posts</title>" in html
    assert 'href="/staff/insights.csv?from=2026-03-01&amp;to=2026-03-31"' in html
    assert '>Pool opens</a>' in html
    assert re.search(r'href="/staff/insights" aria-current="page"', html)


def test_with_no_readings_the_page_says_when_they_come(sign_in, city) -> None:
    page = sign_in(city.parks_staff).get("/staff/insights")

    assert "No readings yet: the worker reads engagement 1 hour after publishing." in page.text
    assert '<svg class="chart' not in page.text.split("<main", 1)[1]


def test_staff_see_only_their_own_department_on_the_page(sign_in, sessions, city) -> None:
    create_engagement(sessions, city, published_at=at(3), engagement=10)
    create_engagement(sessions, city, published_at=at(3), engagement=99, department="police", title="Road closed")
    browser = sign_in(city.parks_staff)

    page = browser.get("/staff/insights" + MARCH)
    assert "Road closed" not in page.text and "Police Department" not in page.text
    assert browser.get("/staff/insights?department=police").status_code == 404


def test_a_bad_filter_answers_a_page_saying_what_to_change(sign_in, city) -> None:
    browser = sign_in(city.parks_staff)

    r = browser.get("/staff/insights?from=yesterday")
    assert r.status_code == 422
    assert "use the form 2026-03-08" in r.text
    assert browser.get("/staff/insights?platform=myspace").status_code == 422


def test_the_csv_link_downloads_the_same_readings(sign_in, sessions, city) -> None:
    create_engagement(sessions, city, published_at=at(3), engagement=10, title="@cmd")
    r = sign_in(city.parks_staff).get("/staff/insights.csv" + MARCH)

    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "'@cmd" in r.text


def test_signed_out_people_are_sent_to_sign_in(client) -> None:
    r = client.get("/staff/insights", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/staff/login")


def _history(sessions, city, *, tuesday_engagement: int) -> None:
    """Six Tuesday 9-11 a.m. posts and eight afternoon posts of 20, in recent weeks (city time)."""
    today = datetime.now(ZONE).date()
    last_tuesday = today - timedelta(days=(today.weekday() - 1) % 7 or 7)
    for week in range(3):
        day = last_tuesday - timedelta(weeks=week)
        for hour in (9, 10):
            moment = datetime(day.year, day.month, day.day, hour, tzinfo=ZONE).astimezone(UTC)
            create_engagement(sessions, city, published_at=moment, engagement=tuesday_engagement)
    for n in range(8):
        day = last_tuesday - timedelta(days=n + 1)
        moment = datetime(day.year, day.month, day.day, 15, tzinfo=ZONE).astimezone(UTC)
        create_engagement(sessions, city, published_at=moment, engagement=20)


def test_the_draft_form_says_when_the_department_s_posts_do_best(sign_in, sessions, city) -> None:
    _history(sessions, city, tuesday_engagement=42)

    page = sign_in(city.parks_staff).get("/staff/announcements/new")

    assert "Parks and Recreation posts on Tuesdays 9–11 a.m. get 2.1× its median engagement" in page.text


def test_the_draft_form_claims_nothing_without_a_clearly_better_time(sign_in, sessions, city) -> None:
    _history(sessions, city, tuesday_engagement=21)

    page = sign_in(city.parks_staff).get("/staff/announcements/new")

    assert page.status_code == 200
    assert "its median engagement" not in page.text
