"""Time: stored in UTC, returned with an offset in the city's zone, DST-safe."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text


def _next(month: int, day: int) -> int:
    today = datetime.now(UTC).date()
    year = today.year if date(today.year, month, day) > today + timedelta(days=1) else today.year + 1
    return year


def test_the_same_wall_clock_hour_on_both_sides_of_the_fall_dst_change_is_two_moments(client, city, draft, engine):
    # America/New_York falls back on the first Sunday of November: 01:30 happens twice.
    year = _next(11, 1)
    first_sunday = next(date(year, 11, d) for d in range(1, 8) if date(year, 11, d).weekday() == 6)
    day = first_sunday.isoformat()
    before = draft(publish_at=f"{day}T01:30:00-04:00")
    after = draft(publish_at=f"{day}T01:30:00-05:00")
    assert before["publish_at"] == f"{day}T01:30:00-04:00"
    assert after["publish_at"] == f"{day}T01:30:00-05:00"
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT publish_at FROM announcements ORDER BY id")).scalars().all()
    stored = [s if isinstance(s, datetime) else datetime.fromisoformat(str(s)) for s in stored]
    stored = [s.replace(tzinfo=UTC) if s.tzinfo is None else s.astimezone(UTC) for s in stored]
    assert stored[1] - stored[0] == timedelta(hours=1)
    assert stored[0].hour == 5 and stored[1].hour == 6


def test_a_time_given_in_utc_comes_back_in_the_citys_zone_with_its_offset(client, city, draft):
    year = _next(7, 4)
    a = draft(publish_at=f"{year}-07-04T16:00:00Z")
    assert a["publish_at"] == f"{year}-07-04T12:00:00-04:00"
    year = _next(1, 15)
    b = draft(publish_at=f"{year}-01-15T16:00:00+00:00")
    assert b["publish_at"] == f"{year}-01-15T11:00:00-05:00"


def test_a_date_without_a_time_means_the_start_of_that_day_in_the_city(client, city, draft):
    year = _next(3, 20)
    a = draft(publish_at=f"{year}-03-20")
    assert a["publish_at"] == f"{year}-03-20T00:00:00-04:00"


def test_a_date_on_the_spring_dst_change_starts_at_local_midnight(client, city, draft):
    year = _next(3, 15)
    second_sunday = [date(year, 3, d) for d in range(1, 15) if date(year, 3, d).weekday() == 6][1]
    a = draft(publish_at=second_sunday.isoformat())
    # Midnight is before the 02:00 jump, so still standard time.
    assert a["publish_at"] == f"{second_sunday.isoformat()}T00:00:00-05:00"
    due_day_after = draft(publish_at=(second_sunday + timedelta(days=1)).isoformat())
    assert due_day_after["publish_at"].endswith("T00:00:00-04:00")


def test_deliveries_are_due_at_the_exact_instant_across_dst(client, city, draft):
    year = _next(11, 1)
    first_sunday = next(date(year, 11, d) for d in range(1, 8) if date(year, 11, d).weekday() == 6)
    a = draft(publish_at=f"{first_sunday.isoformat()}T01:30:00-05:00")
    seen = client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth).json()["fingerprint"]
    body = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                       json={"fingerprint": seen}).json()
    due = {datetime.fromisoformat(d["due_at"]).astimezone(UTC) for d in body["deliveries"]}
    assert due == {datetime(first_sunday.year, first_sunday.month, first_sunday.day, 6, 30, tzinfo=UTC)}


def test_the_list_writes_each_moment_as_the_announcement_itself_does(client, city, draft):
    # The list reads its moments as UTC text from the database (two forms: SQLite's and PostgreSQL's);
    # one announcement's answer makes each from a datetime. Both sides of the fall change, a winter
    # and a summer moment, and created_at/updated_at with their microseconds.
    year = _next(11, 1)
    first_sunday = next(date(year, 11, d) for d in range(1, 8) if date(year, 11, d).weekday() == 6).isoformat()
    moments = (f"{first_sunday}T01:30:00-04:00", f"{first_sunday}T01:30:00-05:00",
               f"{_next(1, 15)}-01-15T16:00:00.250000Z", f"{_next(7, 4)}-07-04T23:59:59Z")
    made = [draft(publish_at=when) for when in moments]
    page = client.get("/api/v1/announcements", headers=city.parks_staff.auth).json()
    listed = {item["id"]: item for item in page["items"]}
    for one in made:
        shown = client.get(f"/api/v1/announcements/{one['id']}", headers=city.parks_staff.auth).json()
        for field in ("publish_at", "created_at", "updated_at"):
            assert listed[one["id"]][field] == shown[field], field
    assert [listed[one["id"]]["publish_at"] for one in made[:2]] == [f"{first_sunday}T01:30:00-04:00",
                                                                     f"{first_sunday}T01:30:00-05:00"]
    assert listed[made[2]["id"]]["publish_at"].endswith("T11:00:00.250000-05:00")
