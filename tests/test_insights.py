"""The insights service: medians by department, platform, slot and week, scoped and filtered."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from civicpost.errors import Invalid, NotFound
from civicpost.insights import filters as insight_filters
from civicpost.insights import sketch
from civicpost.insights.best_time import best_time
from civicpost.insights.summary import median, summarize
from civicpost.models import Department, User
from tests.factories import create_channel, create_engagement

ZONE = ZoneInfo("America/New_York")
TODAY = date(2026, 3, 20)


def read(sessions, person, **asked):
    with sessions() as session:
        user = session.get(User, person.id)
        filters = insight_filters.read(session, user=user, zone=ZONE, today=TODAY, **asked)
        return summarize(session, filters, zone=ZONE)


def at(day: int, hour: int = 12) -> datetime:
    """A moment in March 2026, given in the city's time."""
    return datetime(2026, 3, day, hour, tzinfo=ZONE).astimezone(UTC)


def test_a_median_is_the_middle_value_or_the_two_middle_values_halfway() -> None:
    assert median([]) is None
    assert median([7]) == 7.0
    assert median([9, 1, 5]) == 5.0
    assert median([1, 2, 10, 4]) == 3.0


def test_the_median_per_post_is_read_per_department_and_platform_and_overall(sessions, city) -> None:
    for engagement in (10, 20, 30, 40):
        create_engagement(sessions, city, published_at=at(3), engagement=engagement)
    create_engagement(sessions, city, published_at=at(3), engagement=100, channel_id=city.parks_channels[1])
    create_engagement(sessions, city, published_at=at(4), engagement=7, department="police")

    summary = read(sessions, city.admin)

    assert summary.overall.posts == 6
    assert summary.overall.median == 25.0
    by_name = {(summary.departments[d].slug, p): g for (d, p), g in summary.by_department_platform.items()}
    assert by_name[("parks", "feed")].median == 25.0
    assert by_name[("parks", "feed")].posts == 4
    assert by_name[("parks", "webhook")].median == 100.0
    assert by_name[("police", "feed")].median == 7.0
    assert summary.by_platform["feed"].posts == 5
    assert summary.by_platform["feed"].median == 20.0


def test_engagement_per_follower_counts_only_posts_whose_followers_are_known(sessions, city) -> None:
    create_engagement(sessions, city, published_at=at(3), engagement=10, followers=100)
    create_engagement(sessions, city, published_at=at(3), engagement=30, followers=100)
    create_engagement(sessions, city, published_at=at(3), engagement=900)

    summary = read(sessions, city.admin)

    assert summary.overall.median == 30.0
    # Medians are read from counts per bucket: within the stated relative error.
    assert summary.overall.per_follower == pytest.approx(0.2, rel=sketch.ERROR)


def test_slots_are_the_weekday_and_hour_in_the_city_and_weeks_start_on_the_city_s_monday(sessions, city) -> None:
    # Monday 9 March, 03:00 UTC is still Sunday 8 March, 11 p.m. in New York.
    create_engagement(sessions, city, published_at=datetime(2026, 3, 9, 3, 0, tzinfo=UTC), engagement=5)
    create_engagement(sessions, city, published_at=at(10, 9), engagement=8)

    summary = read(sessions, city.admin)

    assert summary.slots[(6, 23)].posts == 1
    assert summary.slots[(1, 9)].median == 8.0
    assert summary.weeks == {
        date(2026, 3, 2): summary.weeks[date(2026, 3, 2)], date(2026, 3, 9): summary.weeks[date(2026, 3, 9)],
    }
    assert summary.weeks[date(2026, 3, 2)].median == 5.0
    assert summary.weeks[date(2026, 3, 9)].median == 8.0


def test_dates_name_whole_days_in_the_city(sessions, city) -> None:
    create_engagement(sessions, city, published_at=at(9, 23), engagement=1)  # 04:00 UTC on the 10th
    create_engagement(sessions, city, published_at=at(10, 0), engagement=2)

    assert read(sessions, city.admin, first="2026-03-09", last="2026-03-09").overall.posts == 1
    assert read(sessions, city.admin, first="2026-03-10", last="2026-03-10").overall.median == 2.0


def test_without_dates_a_reading_covers_the_last_26_weeks(sessions, city) -> None:
    create_engagement(sessions, city, published_at=at(19), engagement=1)
    create_engagement(sessions, city, published_at=at(19) - timedelta(weeks=30), engagement=2)

    assert read(sessions, city.admin).overall.posts == 1


def test_staff_read_only_their_own_departments_and_another_s_slug_is_not_found(sessions, city) -> None:
    create_engagement(sessions, city, published_at=at(3), engagement=10)
    create_engagement(sessions, city, published_at=at(3), engagement=99, department="police", title="Road closed")

    mine = read(sessions, city.parks_staff)
    assert mine.overall.posts == 1
    assert [p.title for p in mine.top] == ["Pool opens Saturday"]
    with pytest.raises(NotFound, match="no department with slug 'police'"):
        read(sessions, city.parks_staff, department="police")
    assert read(sessions, city.approver, department="police").overall.median == 99.0


def test_filters_by_platform_and_refuses_what_it_does_not_know(sessions, city) -> None:
    create_engagement(sessions, city, published_at=at(3), engagement=10)
    create_engagement(sessions, city, published_at=at(3), engagement=50, channel_id=city.parks_channels[1])

    assert read(sessions, city.admin, platform="webhook").overall.median == 50.0
    with pytest.raises(Invalid, match="'myspace' is not a platform"):
        read(sessions, city.admin, platform="myspace")
    with pytest.raises(Invalid, match="is not a date; use the form 2026-03-08"):
        read(sessions, city.admin, first="3/8/2026")
    with pytest.raises(Invalid, match="before the 'from' date"):
        read(sessions, city.admin, first="2026-03-09", last="2026-03-01")
    with pytest.raises(NotFound):
        read(sessions, city.admin, department="nowhere")


def test_top_posts_are_the_most_engaging_first(sessions, city) -> None:
    for n in range(12):
        create_engagement(sessions, city, published_at=at(3), engagement=n, title=f"Post {n}")

    top = read(sessions, city.admin).top

    assert [p.title for p in top] == [f"Post {n}" for n in range(11, 1, -1)]
    assert top[0].department == "parks"
    assert top[0].platform == "feed"


def _best(sessions, slug: str = "parks", now: datetime | None = None):
    with sessions() as session:
        department = session.query(Department).filter_by(slug=slug).one()
        return best_time(session, department=department, now=now or at(20))


def test_the_best_time_is_a_weekday_and_two_hour_slot_clearly_above_the_department_median(sessions, city) -> None:
    for day in (3, 10, 17):  # Tuesdays
        create_engagement(sessions, city, published_at=at(day, 9), engagement=40)
        create_engagement(sessions, city, published_at=at(day, 10), engagement=44)
    for day in (2, 4, 5, 6, 9, 11, 12, 13):
        create_engagement(sessions, city, published_at=at(day, 15), engagement=20)

    hint = _best(sessions)

    assert hint is not None
    assert (hint.department, hint.weekday, hint.start_hour, hint.end_hour) == ("Parks and Recreation", 1, 9, 11)
    assert hint.posts == 6
    assert hint.times == 2.1  # a median of 42 over the department's 20


def test_no_best_time_is_claimed_from_fewer_than_five_posts_in_a_slot(sessions, city) -> None:
    for day in (3, 10, 17, 24):
        create_engagement(sessions, city, published_at=at(day, 9) if day < 24 else at(17, 10), engagement=90)
    for day in (2, 4, 5, 6, 9, 11, 12, 13):
        create_engagement(sessions, city, published_at=at(day, 15), engagement=20)

    assert _best(sessions, now=at(25)) is None


def test_no_best_time_is_claimed_when_no_slot_is_clearly_better(sessions, city) -> None:
    for day in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13):
        create_engagement(sessions, city, published_at=at(day, 9), engagement=20 + day % 3)

    assert _best(sessions) is None


def test_the_best_time_reads_only_the_last_16_weeks_of_the_department_s_own_posts(sessions, city) -> None:
    for day in (3, 10, 17):
        create_engagement(sessions, city, published_at=at(day, 9), engagement=40)
        create_engagement(sessions, city, published_at=at(day, 10), engagement=44)
    for day in (2, 4, 5, 6, 9, 11, 12, 13):
        create_engagement(sessions, city, published_at=at(day, 15), engagement=20)

    assert _best(sessions, "police") is None
    assert _best(sessions, now=at(17, 12) + timedelta(weeks=17)) is None


def test_posts_on_another_platform_of_the_department_count_in_its_history(sessions, client, city) -> None:
    mastodon = create_channel(client, city.admin, "mastodon", department="parks")
    for day in (3, 10, 17):
        create_engagement(sessions, city, published_at=at(day, 9), engagement=40, channel_id=mastodon)
        create_engagement(sessions, city, published_at=at(day, 10), engagement=44)
    for day in (2, 4, 5, 6, 9, 11, 12, 13):
        create_engagement(sessions, city, published_at=at(day, 15), engagement=20)

    summary = read(sessions, city.parks_staff, department="parks")
    assert summary.by_platform["mastodon"].posts == 3
    hint = _best(sessions)
    assert hint is not None and hint.weekday == 1
