"""views.Instants (the list page's times) writes exactly what views.instant writes."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from civicpost.web import views

# Whole-hour and half-hour offsets, a 45-minute one, a zone whose daylight
# saving moves by 30 minutes, and the southern hemisphere.
ZONES = ["America/Chicago", "UTC", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "Australia/Lord_Howe",
         "Europe/Dublin", "America/Sao_Paulo"]


def _moments() -> list[datetime]:
    """Every 7 minutes and 13 seconds through two years (both changes of each year), some with microseconds."""
    start, step = datetime(2025, 1, 1), timedelta(minutes=7, seconds=13)
    return [start + i * step + timedelta(microseconds=(i * 7919) % 1_000_000 if i % 3 else 0)
            for i in range(0, 2 * 365 * 24 * 60 // 7)]


@pytest.mark.parametrize("name", ZONES)
def test_same_text_as_instant_for_naive_and_aware_values(name: str) -> None:
    zone = ZoneInfo(name)
    times = views.Instants(zone)
    elsewhere = ZoneInfo("Asia/Tokyo")
    for moment in _moments():
        aware = moment.replace(tzinfo=UTC)
        want = views.instant(aware, zone)
        assert times(moment) == want, moment  # naive UTC, as SQLite hands it back
        assert times(aware) == want, moment
        assert times(aware.astimezone(elsewhere)) == want, moment  # aware in another zone, as PostgreSQL may
        assert times(moment.replace(tzinfo=ZoneInfo("Etc/UTC"))) == want, moment  # as PostgreSQL's UTC sessions do


@pytest.mark.parametrize("name", ZONES)
def test_same_text_as_instant_for_the_utc_text_the_database_reads(name: str) -> None:
    zone = ZoneInfo(name)
    times = views.Instants(zone)
    moments = _moments()[::3]  # every 21 minutes 39 seconds
    # The last of them twice over: written the second time from the texts kept (more than it keeps in all).
    for moment in moments + moments[-times.KEPT_TEXTS // 2:]:
        want = views.instant(moment.replace(tzinfo=UTC), zone)
        assert times.text(moment.strftime("%Y-%m-%d %H:%M:%S.%f")) == want, moment  # db.utc_text's form
        if not moment.microsecond:
            assert times.text(moment.strftime("%Y-%m-%d %H:%M:%S")) == want, moment  # as SQLite's own clock writes


def test_the_hours_around_a_change_of_offset() -> None:
    chicago = views.Instants(ZoneInfo("America/Chicago"))
    # Clocks go forward at 2 a.m. CST, 08:00 UTC: the change falls between two UTC hours.
    assert chicago(datetime(2026, 3, 8, 7, 59, 59)) == "2026-03-08T01:59:59-06:00"
    assert chicago(datetime(2026, 3, 8, 8, 0, 0)) == "2026-03-08T03:00:00-05:00"
    lord_howe = views.Instants(ZoneInfo("Australia/Lord_Howe"))
    # Lord Howe goes forward 30 minutes at 2 a.m. +10:30, 15:30 UTC: inside a UTC hour.
    assert lord_howe(datetime(2026, 10, 3, 15, 29)) == "2026-10-04T01:59:00+10:30"
    assert lord_howe(datetime(2026, 10, 3, 15, 31)) == "2026-10-04T02:31:00+11:00"
    assert lord_howe(datetime(2026, 10, 3, 15, 29, 59, 999_999)) == "2026-10-04T01:59:59.999999+10:30"


def test_none_is_none() -> None:
    assert views.Instants(ZoneInfo("UTC"))(None) is None
    assert views.Instants(ZoneInfo("UTC")).text(None) is None
