"""The publishing calendar: days in the city's zone (America/New_York in tests), scoping, colours."""

import re
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from civicpost.models import Announcement, State
from tests.factories import create_dated

NEW_YORK = ZoneInfo("America/New_York")
HTML = {"accept": "text/html"}
CSS = Path(__file__).parents[2] / "src/civicpost/web/static/calendar.css"


def local(*args) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


@pytest.fixture
def put(sessions, city):
    """Store an announcement as the workflow would have left it (past dates included)."""
    return partial(create_dated, sessions, city)


def week_day(html: str, iso: str) -> str:
    """The part of a week page under one day's heading."""
    match = re.search(rf'id="day-{iso}".*?(?=id="day-|</ol>)', html, re.S)
    assert match, f"the week has no {iso}"
    return match.group(0)


def month_cell(html: str, iso: str) -> str:
    match = re.search(rf'<td[^>]*>\s*<p class="cal-daynum"><span class="cal-date"><time datetime="{iso}">.*?</td>', html, re.S)
    assert match, f"the month has no cell for {iso}"
    return match.group(0)


@pytest.fixture
def approver(sign_in, city):
    return sign_in(city.approver)


def test_a_late_evening_item_on_the_day_dst_ends_stays_on_that_local_day(approver, put):
    put("Fall back concert", publish_at=local(2026, 11, 1, 23, 30))  # 04:30 UTC on Nov 2
    put("Monday sweep", publish_at=local(2026, 11, 2, 0, 15))
    week = approver.get("/staff/calendar?view=week&date=2026-11-01").text
    sunday = week_day(week, "2026-11-01")
    assert "Fall back concert" in sunday and "11:30 p.m." in sunday
    assert "Monday sweep" not in week
    following = approver.get("/staff/calendar?view=week&date=2026-11-02").text
    assert "Monday sweep" in week_day(following, "2026-11-02") and "Fall back concert" not in following


def test_the_month_view_places_items_in_the_city_zone_across_the_spring_change(approver, put):
    put("Spring forward reminder", publish_at=local(2026, 3, 8, 23, 30))  # 03:30 UTC on Mar 9
    put("Early riser", publish_at=local(2026, 3, 8, 0, 30))  # 05:30 UTC, still Mar 8
    put("Just after midnight", publish_at=local(2026, 3, 9, 0, 30))  # 04:30 UTC: 23:30 on Mar 8 at the old offset
    put("April fool", publish_at=local(2026, 4, 1, 9, 0))
    page = approver.get("/staff/calendar?view=month&date=2026-03-15").text
    cell = month_cell(page, "2026-03-08")
    assert "Spring forward reminder" in cell and "Early riser" in cell
    assert "Spring forward reminder" not in month_cell(page, "2026-03-09")
    assert "Just after midnight" in month_cell(page, "2026-03-09") and "Just after midnight" not in cell
    assert "April fool" in month_cell(page, "2026-04-01")  # the grid's trailing days show theirs too
    assert "<caption>March 2026: announcements by day</caption>" in page
    assert page.count('<th scope="col">') == 7 and 'title="Monday"' in page


def test_published_items_without_a_time_are_placed_when_they_went_out(approver, put):
    put("Went out after midnight", state=State.published, approved_at=local(2026, 11, 1, 23, 50),
        published_at=local(2026, 11, 2, 0, 5))
    put("Approved, still to go", approved_at=local(2026, 11, 1, 22, 0))
    put("Only a draft", state=State.draft, publish_at=local(2026, 11, 1, 9, 0))
    put("Called off", state=State.cancelled, publish_at=local(2026, 11, 1, 10, 0))
    week = approver.get("/staff/calendar?view=week&date=2026-11-01").text
    assert "Approved, still to go" in week_day(week, "2026-11-01")
    assert "Went out after midnight" not in week
    assert "Only a draft" not in week and "Called off" not in week
    following = approver.get("/staff/calendar?view=week&date=2026-11-02").text
    assert "Went out after midnight" in week_day(following, "2026-11-02")


def test_staff_see_only_their_departments_and_approvers_see_all(sign_in, city, approver, put):
    put("Pool opens", publish_at=local(2026, 6, 10, 9, 0))
    put("Road closure", department="police", publish_at=local(2026, 6, 10, 10, 0))
    parks = sign_in(city.parks_staff).get("/staff/calendar?view=week&date=2026-06-10").text
    assert "Pool opens" in parks and "Road closure" not in parks
    everything = approver.get("/staff/calendar?view=month&date=2026-06-10").text
    assert "Pool opens" in everything and "Road closure" in everything


def test_each_item_links_to_its_page_with_its_departments_colour_and_name(approver, put, sessions):
    pool = put("Pool opens", publish_at=local(2026, 6, 10, 9, 0))
    road = put("Road closure", department="police", publish_at=local(2026, 6, 10, 10, 0))
    with sessions() as session:
        parks_id, police_id = (session.get(Announcement, i).department_id for i in (pool, road))
    day = week_day(approver.get("/staff/calendar?view=week&date=2026-06-10").text, "2026-06-10")
    items = re.findall(r'<li class="cal-item (cal-dept-\d)"[^>]*>(.*?)</li>', day, re.S)
    assert [c for c, _ in items] == [f"cal-dept-{parks_id % 8}", f"cal-dept-{police_id % 8}"]
    assert items[0][0] != items[1][0]
    assert f'href="/staff/announcements/{pool}"' in items[0][1] and "Parks and Recreation" in items[0][1]
    assert f'href="/staff/announcements/{road}"' in items[1][1] and "Police Department" in items[1][1]


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def palettes(css: str) -> dict[str, tuple[str, dict[str, tuple[str, str]]]]:
    """Per scheme: the tints' text colour and each department's (background, stripe)."""
    light, _, dark = css.partition("@media (prefers-color-scheme: dark)")
    found = {}
    for scheme, part in (("light", light), ("dark", dark.split("\n}\n")[0])):
        rules = re.findall(r"\.cal-dept-(\d) \{ background: (#[0-9a-f]{6}); border-color: (#[0-9a-f]{6})", part)
        text = re.search(r"\.cal-item, \.cal-item a \{ color: (#[0-9a-f]{6})", part).group(1)
        found[scheme] = (text, {n: (background, border) for n, background, border in rules})
    return found


def test_every_department_colour_keeps_text_readable_in_light_and_dark_schemes():
    # The page behind a stripe: white in the light scheme, near black in the dark one.
    for scheme, page in (("light", "#ffffff"), ("dark", "#1b1b1b")):
        text, palette = palettes(CSS.read_text())[scheme]
        assert sorted(palette) == [str(n) for n in range(8)], scheme
        for n, (background, border) in palette.items():
            assert contrast(text, background) >= 4.5, (scheme, n)
            assert contrast(border, page) >= 3, (scheme, n)  # the stripe is visible on the page


def test_the_calendar_stylesheet_takes_every_colour_but_the_department_tints_from_the_tokens():
    for line in CSS.read_text().splitlines():
        if re.search(r"#[0-9a-fA-F]{3,8}\b", line):
            assert re.match(r"\s*\.cal-(dept-\d|item, \.cal-item a) \{", line), line


def test_previous_next_and_today_links_move_by_the_view(approver):
    page = approver.get("/staff/calendar?view=month&date=2026-01-31").text
    assert 'href="/staff/calendar?view=month&amp;date=2025-12-01"' in page
    assert 'href="/staff/calendar?view=month&amp;date=2026-02-01"' in page
    assert 'href="/staff/calendar?view=month">Today' in page
    week = approver.get("/staff/calendar?view=week&date=2026-01-31").text
    assert 'date=2026-01-24"' in week and 'date=2026-02-07"' in week and "Week of Mon 26 Jan 2026 to Sun 1 Feb 2026" in week


def test_a_malformed_date_gets_a_page_that_says_how_to_write_one(approver):
    r = approver.get("/staff/calendar?view=week&date=31/01/2026", headers=HTML)
    assert r.status_code == 422 and "2026-03-08" in r.text and "text/html" in r.headers["content-type"]


def test_signed_out_visitors_are_sent_to_sign_in(client, city):
    r = client.get("/staff/calendar?view=month", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/staff/login?next=/staff/calendar")
