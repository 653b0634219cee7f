"""The calendar's week as a grid: seven day columns by hour rows in the city's zone (America/New_York in
tests), 6:00 to 22:00 unless an item falls outside, read by screen readers as a table."""

import re
from datetime import UTC, datetime
from functools import partial
from zoneinfo import ZoneInfo

import pytest

from civicpost.models import State
from tests.factories import create_dated

NEW_YORK = ZoneInfo("America/New_York")
HTML = {"accept": "text/html"}


def local(*args) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


@pytest.fixture
def put(sessions, city):
    return partial(create_dated, sessions, city)


@pytest.fixture
def approver(sign_in, city):
    return sign_in(city.approver)


def grid(html: str) -> str:
    match = re.search(r'<table class="cal-grid">.*?</table>', html, re.S)
    assert match, "the week has no grid"
    return match.group(0)


def cell(html: str, day: str, hour: int) -> str:
    match = re.search(rf'<td [^>]*data-day="{day}" data-hour="{hour}">.*?</td>', grid(html), re.S)
    assert match, f"the grid has no cell for {day} at {hour}:00"
    return match.group(0)


def hour_rows(html: str) -> list[str]:
    return re.findall(r'<th scope="row" class="cal-hour">(.*?)</th>', grid(html))


def test_each_item_sits_in_its_days_column_and_its_hour_row_in_the_city_zone(approver, put):
    put("Pool opens", publish_at=local(2026, 6, 10, 14, 30))  # 18:30 UTC
    put("Road closure", department="police", state=State.published, publish_at=local(2026, 6, 12, 9, 5))
    week = approver.get("/staff/calendar?view=week&date=2026-06-10").text
    pool = cell(week, "2026-06-10", 14)
    assert "Pool opens" in pool and "2:30 p.m." in pool and "Parks and Recreation" in pool and "scheduled" in pool
    assert "Pool opens" not in cell(week, "2026-06-10", 18) and "Pool opens" not in cell(week, "2026-06-11", 14)
    road = cell(week, "2026-06-12", 9)
    assert "Road closure" in road and "9:05 a.m." in road and "Police Department" in road and "published" in road
    assert 'href="/staff/announcements/' in pool and "/reschedule" in pool  # the keyboard's way to move it
    assert "/reschedule" not in road  # published: nothing to move


def test_the_grid_shows_six_to_ten_and_widens_to_an_item_at_half_past_eleven_at_night(approver, put):
    quiet = approver.get("/staff/calendar?view=week&date=2030-06-12").text
    assert hour_rows(quiet)[0] == "6:00 a.m." and hour_rows(quiet)[-1] == "9:00 p.m." and len(hour_rows(quiet)) == 16
    assert "Showing 6:00 a.m. to 10:00 p.m." in quiet

    put("Night market closes", publish_at=local(2030, 6, 14, 23, 30))
    put("Early bird swim", publish_at=local(2030, 6, 11, 5, 10))
    busy = approver.get("/staff/calendar?view=week&date=2030-06-12").text
    assert hour_rows(busy)[0] == "5:00 a.m." and hour_rows(busy)[-1] == "11:00 p.m."
    assert "Night market closes" in cell(busy, "2030-06-14", 23) and "11:30 p.m." in cell(busy, "2030-06-14", 23)
    assert "Early bird swim" in cell(busy, "2030-06-11", 5)


def test_all_hours_shows_the_whole_day_and_a_wrong_value_says_what_to_write(approver):
    every = approver.get("/staff/calendar?view=week&date=2030-06-12&hours=all").text
    assert len(hour_rows(every)) == 24 and hour_rows(every)[0] == "12:00 a.m."
    assert 'href="/staff/calendar?view=week&amp;date=2030-06-12">Show the usual hours' in every
    assert 'date=2030-06-19&amp;hours=all"' in every  # the next week keeps the choice
    wrong = approver.get("/staff/calendar?view=week&hours=night", headers=HTML)
    assert wrong.status_code == 422 and "6:00 to 22:00 when hours is left out" in wrong.text


def test_on_the_autumn_dst_day_both_half_past_ones_share_the_one_oclock_row_and_say_which(approver, put):
    put("First half past one", publish_at=datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # 1:30 EDT
    put("Second half past one", publish_at=datetime(2026, 11, 1, 6, 30, tzinfo=UTC))  # 1:30 EST
    week = approver.get("/staff/calendar?view=week&date=2026-11-01").text
    one = cell(week, "2026-11-01", 1)
    assert "1:30 a.m.</time> EDT First half past one" in one and "1:30 a.m.</time> EST Second half past one" in one
    assert one.index("First half past one") < one.index("Second half past one")


def test_on_the_spring_dst_day_the_skipped_hour_says_so_and_takes_no_drop(approver):
    week = approver.get("/staff/calendar?view=week&date=2026-03-08&hours=all").text
    assert 'data-day="2026-03-08" data-hour="2"' not in week
    assert 'data-day="2026-03-08" data-hour="3"' in week and 'data-day="2026-03-07" data-hour="2"' in week
    assert week.count("Clocks go forward") == 1


def test_the_grid_is_a_table_with_a_caption_and_headers_for_days_and_hours(approver):
    table = grid(approver.get("/staff/calendar?view=week&date=2026-01-28").text)
    caption = "Week of Mon 26 Jan 2026 to Sun 1 Feb 2026: announcements by hour, in America/New_York"
    assert f"<caption>{caption}</caption>" in table
    days = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', table)
    assert days[0] == "Time" and len(days) == 8
    assert '<time datetime="2026-01-26">Mon 26 Jan 2026</time>' in days[1] and "Sun 1 Feb 2026" in days[7]
    assert len(hour_rows(table)) == 16 and table.count("<td ") == 16 * 7


def test_today_and_the_current_hour_are_marked_in_words(approver):
    for _ in range(3):  # the hour may turn during the request
        before = datetime.now(NEW_YORK)
        week = approver.get("/staff/calendar?view=week").text
        if datetime.now(NEW_YORK).hour == before.hour:
            break
    today = before.date().isoformat()
    table = grid(week)
    [header] = re.findall(r'<th scope="col" class="cal-today" aria-current="date">(.*?)</th>', table)
    assert f'datetime="{today}"' in header and ">today</span>" in header
    now = cell(week, today, before.hour)
    assert 'class="cal-now-label">now</span>' in now
    assert table.count("cal-now-label") == 1
