"""The sandbox's engagement: the same on every run, and shaped like a city's
(mid-week mornings beat weekend nights; a post gathers most in its first day)."""

from datetime import UTC, datetime, timedelta
from statistics import median

import pytest

from civicpost.sandbox import engagement

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
SUNDAY_3 = datetime(2026, 3, 8, 3, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _utc_city(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVICPOST_TIMEZONE", "UTC")


def engaged(counts: dict[str, int]) -> int:
    return sum(counts[name] for name in ("likes", "reposts", "replies", "quotes"))


def test_the_same_post_at_the_same_age_has_the_same_counts_on_every_run() -> None:
    later = TUESDAY_10 + timedelta(days=1)
    assert engagement.counts("x", "1880000000000000001", TUESDAY_10, later) == \
        engagement.counts("x", "1880000000000000001", TUESDAY_10, later)
    assert engagement.counts("x", "1880000000000000001", TUESDAY_10, later) != \
        engagement.counts("x", "1880000000000000002", TUESDAY_10, later)


def test_a_post_gathers_engagement_from_1_h_to_30_d_and_never_loses_any() -> None:
    readings = [engaged(engagement.counts("facebook", "p1", TUESDAY_10, TUESDAY_10 + age))
                for age in (timedelta(hours=1), timedelta(hours=24), timedelta(days=7), timedelta(days=30))]
    assert readings == sorted(readings)
    assert readings[0] < readings[1] < readings[3]


def test_a_tuesday_morning_post_does_better_than_a_sunday_night_one_across_many_posts() -> None:
    month = timedelta(days=30)
    tuesdays = [engaged(engagement.counts("x", str(n), TUESDAY_10, TUESDAY_10 + month)) for n in range(200)]
    sundays = [engaged(engagement.counts("x", str(n), SUNDAY_3, SUNDAY_3 + month)) for n in range(200)]
    assert median(tuesdays) > 3 * median(sundays)


def test_the_curve_follows_the_city_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    month = timedelta(days=30)
    in_utc = engagement.counts("x", "1", TUESDAY_10, TUESDAY_10 + month)
    monkeypatch.setenv("CIVICPOST_TIMEZONE", "America/Los_Angeles")  # 10:00 UTC is 2 a.m. there
    assert engaged(engagement.counts("x", "1", TUESDAY_10, TUESDAY_10 + month)) < engaged(in_utc)


def test_platforms_differ_in_audience_and_followers_grow_by_the_day() -> None:
    month = timedelta(days=30)
    facebook = median(engaged(engagement.counts("facebook", str(n), TUESDAY_10, TUESDAY_10 + month)) for n in range(50))
    mastodon = median(engaged(engagement.counts("mastodon", str(n), TUESDAY_10, TUESDAY_10 + month)) for n in range(50))
    assert facebook > mastodon
    assert engagement.followers("x", TUESDAY_10 + timedelta(days=10)) > engagement.followers("x", TUESDAY_10)
