"""Insights read from the summaries agree with the exact medians within the stated error, and stay current."""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from civicpost.db import transaction
from civicpost.insights import blocks, jobs, rollup, sketch
from civicpost.insights import filters as insight_filters
from civicpost.insights.summary import DIGITS, PER_FOLLOWER_DIGITS, median, summarize, whole_weeks
from civicpost.models import (
    Channel,
    Delivery,
    InsightCount,
    InsightSlotCount,
    InsightWeekCount,
    MetricChannel,
    PostEngagement,
    User,
)
from tests.factories import create_engagement

ZONE = ZoneInfo("America/New_York")
TODAY = date(2026, 3, 20)  # a Friday: its week is partial
# The stated error is a bound that a value at a bucket's edge meets exactly: allow float rounding.
WITHIN = sketch.ERROR * (1 + 1e-9)


def read(sessions, person, **asked):
    with sessions() as session:
        user = session.get(User, person.id)
        filters = insight_filters.read(session, user=user, zone=ZONE, today=TODAY, **asked)
        return summarize(session, filters, zone=ZONE)


def exact(sessions, *, department_id=None, platform=None, first: date, last: date) -> dict:
    """The medians as the old exact reading gave them, from post_engagement row by row."""
    groups: dict[tuple, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    with sessions() as session:
        for row in session.scalars(select(PostEngagement)):
            local = row.published_at.astimezone(ZONE)
            if not first <= local.date() <= last:
                continue
            if department_id is not None and row.department_id != department_id:
                continue
            if platform is not None and row.platform != platform:
                continue
            monday = local.date() - timedelta(days=local.weekday())
            for key in (("dp", row.department_id, row.platform), ("p", row.platform), ("s", row.weekday, row.hour),
                        ("w", monday), ("all",)):
                groups[key][0].append(row.engagement)
                if row.followers:
                    groups[key][1].append(row.engagement / row.followers)
    return {key: (len(e), median(e), median(f)) for key, (e, f) in groups.items()}


def as_found(summary) -> dict:
    found = {("all",): summary.overall} if summary.overall.posts else {}
    found |= {("dp", *k): g for k, g in summary.by_department_platform.items()}
    found |= {("p", k): g for k, g in summary.by_platform.items()}
    found |= {("s", *k): g for k, g in summary.slots.items()}
    found |= {("w", k): g for k, g in summary.weeks.items()}
    return {key: (g.posts, g.median, g.per_follower) for key, g in found.items()}


def assert_within_error(found: dict, wanted: dict) -> None:
    assert found.keys() == wanted.keys()
    for key, (posts, middle, per_follower) in wanted.items():
        got = found[key]
        assert got[0] == posts, key
        for value, want, digits in ((got[1], middle, DIGITS), (got[2], per_follower, PER_FOLLOWER_DIGITS)):
            if want is None:
                assert value is None, key
            else:
                # The stated error, plus the rounding of what is shown (4 and 6 digits).
                assert abs(value - want) <= WITHIN * abs(want) + 0.5 * 10**-digits * (1 + 1e-9), (key, value, want)


def random_posts(sessions, city, *, seed: int, count: int) -> None:
    rng = random.Random(seed)
    channels = [("parks", c) for c in city.parks_channels] + [("police", c) for c in city.police_channels]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(count):
        department, channel_id = rng.choice(channels)
        published_at = start + timedelta(minutes=rng.randrange(0, 80 * 24 * 60))
        # Long-tailed, as engagement is: most posts small, a few large.
        engagement = int(rng.paretovariate(1.2) * rng.choice((1, 3, 20))) - 1
        followers = rng.choice((None, 250, 1000, 40_000))
        create_engagement(sessions, city, published_at=published_at, engagement=engagement, department=department,
                          channel_id=channel_id, followers=followers)


def department_id(sessions, slug: str) -> int:
    from civicpost.models import Department

    with sessions() as session:
        return session.scalars(select(Department.id).where(Department.slug == slug)).one()


@pytest.mark.parametrize("seed", [1, 2])
def test_medians_from_the_summaries_are_the_exact_ones_within_the_stated_error(sessions, city, seed) -> None:
    random_posts(sessions, city, seed=seed, count=160)
    police = department_id(sessions, "police")
    cases = [
        ({}, {"first": TODAY - timedelta(weeks=26) + timedelta(days=1), "last": TODAY}),
        ({"first": "2026-01-07", "last": "2026-03-03"}, {"first": date(2026, 1, 7), "last": date(2026, 3, 3)}),
        ({"department": "police", "first": "2026-01-01", "last": "2026-02-28"},
         {"department_id": police, "first": date(2026, 1, 1), "last": date(2026, 2, 28)}),
        ({"platform": "webhook", "first": "2026-02-02", "last": "2026-02-15"},  # two whole weeks, no edges
         {"platform": "webhook", "first": date(2026, 2, 2), "last": date(2026, 2, 15)}),
        ({"first": "2026-02-04", "last": "2026-02-10"}, {"first": date(2026, 2, 4), "last": date(2026, 2, 10)}),
    ]
    for asked, wanted in cases:
        assert_within_error(as_found(read(sessions, city.admin, **asked)), exact(sessions, **wanted))


@pytest.mark.parametrize("seed", [4, 5])
def test_random_filters_agree_with_the_exact_medians_within_the_stated_error(sessions, city, seed) -> None:
    random_posts(sessions, city, seed=seed, count=200)
    ids = {"police": department_id(sessions, "police"), "parks": department_id(sessions, "parks")}
    with sessions() as session:
        platforms = sorted(set(session.scalars(select(PostEngagement.platform))))
    rng = random.Random(seed)
    for _ in range(12):
        first = date(2025, 12, 20) + timedelta(days=rng.randrange(0, 80))
        last = first + timedelta(days=rng.randrange(0, 70))
        slug = rng.choice((None, "police", "parks"))
        platform = rng.choice((None, *platforms))
        asked = {"first": first.isoformat(), "last": last.isoformat(), "department": slug, "platform": platform}
        wanted = {"first": first, "last": last, "department_id": ids.get(slug or ""), "platform": platform}
        assert_within_error(as_found(read(sessions, city.admin, **asked)), exact(sessions, **wanted))


def test_only_the_days_outside_whole_weeks_are_read_post_by_post(sessions, city) -> None:
    with sessions() as session:
        user = session.get(User, city.admin.id)
        weeks = whole_weeks(insight_filters.read(session, user=user, zone=ZONE, first="2026-01-07",
                                                 last="2026-03-03"))
        within = whole_weeks(insight_filters.read(session, user=user, zone=ZONE, first="2026-02-04",
                                                  last="2026-02-10"))
    assert weeks == (date(2026, 1, 12), date(2026, 2, 23))  # Monday 12 January to the week ending 1 March
    assert within is None


def test_a_week_is_the_city_s_even_where_utc_is_a_day_ahead_or_behind() -> None:
    rng = random.Random(7)
    for name in ("America/New_York", "Pacific/Auckland", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"):
        zone = ZoneInfo(name)
        for _ in range(300):
            moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 400 * 24 * 60))
            local = moment.astimezone(zone)
            assert rollup.week_of(moment, local.weekday()) == local.date() - timedelta(days=local.weekday())


def test_the_buckets_keep_every_value_within_the_stated_error() -> None:
    for value in [*range(0, 300), 1000, 12_345, 10**9]:
        middle = sketch.engagement_value(sketch.bucket(value))
        assert middle == pytest.approx(value, rel=WITHIN)
        assert value >= sketch.EXACT or middle == value
    for fraction in (1e-7, 0.0003, 0.2, 1.0, 37.5):
        assert sketch.per_follower_value(sketch.per_follower_bucket(int(fraction * 10**7), 10**7)) == pytest.approx(
            fraction, rel=WITHIN)


def counts(sessions) -> dict:
    """The hours' counts; checks on the way that the weeks' and the spans' counts are their sums, no more and no
    less (the spans' summed here from the hours' independently of insights/blocks.py)."""
    with sessions() as session:
        found = {tuple(row[:-1]): row[-1] for row in session.execute(select(
            InsightCount.department_id, InsightCount.platform, InsightCount.week, InsightCount.weekday,
            InsightCount.hour, InsightCount.bucket, InsightCount.follower_bucket, InsightCount.posts))}
        weekly = {tuple(row[:-1]): row[-1] for row in session.execute(select(
            InsightWeekCount.department_id, InsightWeekCount.platform, InsightWeekCount.week,
            InsightWeekCount.bucket, InsightWeekCount.follower_bucket, InsightWeekCount.posts))}
    summed: dict[tuple, int] = defaultdict(int)
    for (department, platform, week, _weekday, _hour, bucket, follower_bucket), posts in found.items():
        summed[(department, platform, week, bucket, follower_bucket)] += posts
    assert weekly == summed
    assert all(n > 0 for n in found.values())
    spans: dict[tuple, int] = defaultdict(int)
    for (_department, platform, week, weekday, hour, bucket, follower_bucket), posts in found.items():
        for where in (platform, ""):
            for kind, value in ((0, bucket), (1, follower_bucket)):
                if value == sketch.UNKNOWN:
                    continue
                spans[(where, 1, week, -1, -1, kind, value)] += posts
                for span in (1, 2, 4, 8, 16, 32, 64):
                    # Monday 2001-01-01 begins a span of every length.
                    start = week - timedelta(weeks=(week - date(2001, 1, 1)).days // 7 % span)
                    spans[(where, span, start, weekday, hour, kind, value)] += posts
    with sessions() as session:
        assert {tuple(row[:-1]): row[-1] for row in session.execute(select(
            *(getattr(InsightSlotCount, k) for k in blocks.KEYS), InsightSlotCount.posts))} == spans
    return found


def test_spans_cover_a_run_of_weeks_exactly_with_few_spans() -> None:
    rng = random.Random(8)
    for _ in range(300):
        first = date(2024, 1, 1) + timedelta(weeks=rng.randrange(0, 150))
        last = first + timedelta(weeks=rng.randrange(0, 120))
        found = blocks.cover(first, last)
        weeks = [start + timedelta(weeks=n) for span, start in found for n in range(span)]
        assert weeks == [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
        assert all((start - blocks.EPOCH).days % (7 * span) == 0 for span, start in found)
        assert all(sum(1 for s, _ in found if s == span) <= 2 for span in blocks.SPANS[:-1])


def delivery_of(sessions, announcement_id: int) -> tuple[int, int]:
    with sessions() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.announcement_id == announcement_id)).one()
        return delivery.id, delivery.channel_id


def test_a_new_reading_moves_the_post_to_its_new_bucket(sessions, city) -> None:
    first = create_engagement(sessions, city, published_at=datetime(2026, 3, 3, 15, tzinfo=UTC), engagement=10)
    create_engagement(sessions, city, published_at=datetime(2026, 3, 4, 15, tzinfo=UTC), engagement=20)
    assert read(sessions, city.admin).overall.median == 15.0
    delivery_id, channel_id = delivery_of(sessions, first)

    with transaction(sessions) as session:
        jobs.summarise(session, session.get(Channel, channel_id), {delivery_id: {"likes": 50, "reposts": 10}},
                       stage={delivery_id: "7d"}, zone=ZONE)

    summary = read(sessions, city.admin)
    assert summary.overall.posts == 2
    assert summary.overall.median == 40.0  # (20 + 60) / 2
    assert summary.weeks[date(2026, 3, 2)].median == 40.0
    assert sum(counts(sessions).values()) == 2


def test_a_first_follower_reading_gives_earlier_posts_a_median_per_follower(sessions, city) -> None:
    announcement = create_engagement(sessions, city, published_at=datetime(2026, 3, 3, 15, tzinfo=UTC),
                                     engagement=30)
    assert read(sessions, city.admin).overall.per_follower is None
    _, channel_id = delivery_of(sessions, announcement)
    now = datetime(2026, 3, 5, tzinfo=UTC)
    with transaction(sessions) as session:
        # The channel's follower reading, leased to this reader as a claim leaves it.
        session.add(MetricChannel(channel_id=channel_id, due_at=now, attempts=1, lease_owner="test",
                                  lease_expires_at=now + timedelta(minutes=1)))
    with transaction(sessions) as session:
        assert jobs.record_followers(session, channel_id, 600, owner="test", now=now)

    assert read(sessions, city.admin).overall.per_follower == pytest.approx(0.05, rel=WITHIN)


def test_a_retracted_post_leaves_the_summaries(sessions, city) -> None:
    kept = create_engagement(sessions, city, published_at=datetime(2026, 3, 3, 15, tzinfo=UTC), engagement=10)
    gone = create_engagement(sessions, city, published_at=datetime(2026, 3, 3, 16, tzinfo=UTC), engagement=90,
                             title="Wrong date")
    delivery_id, _ = delivery_of(sessions, gone)

    with transaction(sessions) as session:
        assert rollup.forget(session, [delivery_id]) == 1

    summary = read(sessions, city.admin)
    assert summary.overall.posts == 1
    assert summary.overall.median == 10.0
    assert [g.median for g in summary.by_department_platform.values()] == [10.0]
    assert summary.weeks[date(2026, 3, 2)].posts == 1
    assert [p.title for p in summary.top] == ["Pool opens Saturday"]
    assert sum(counts(sessions).values()) == 1
    assert delivery_of(sessions, kept)


def test_a_rebuild_counts_what_the_transactions_kept(sessions, city) -> None:
    random_posts(sessions, city, seed=3, count=40)
    kept = counts(sessions)
    with sessions() as session:
        weekly = session.execute(select(InsightWeekCount.week, InsightWeekCount.posts)
                                 .order_by(*InsightWeekCount.__table__.primary_key.columns)).all()
    assert weekly

    with transaction(sessions) as session:
        assert rollup.rebuild(session) == 40

    assert counts(sessions) == kept
    with sessions() as session:
        assert session.execute(select(InsightWeekCount.week, InsightWeekCount.posts)
                               .order_by(*InsightWeekCount.__table__.primary_key.columns)).all() == weekly


def test_random_readings_and_retractions_keep_every_answer_current(sessions, city) -> None:
    random_posts(sessions, city, seed=6, count=60)
    rng = random.Random(6)
    with sessions() as session:
        rows = session.execute(select(PostEngagement.delivery_id, PostEngagement.channel_id)).all()
    rng.shuffle(rows)
    for delivery_id, channel_id in rows[:15]:
        with transaction(sessions) as session:
            jobs.summarise(session, session.get(Channel, channel_id),
                           {delivery_id: {"likes": rng.randrange(0, 5000)}}, stage={delivery_id: "30d"}, zone=ZONE)
    with transaction(sessions) as session:
        assert rollup.forget(session, [delivery_id for delivery_id, _ in rows[15:25]]) == 10
    assert sum(counts(sessions).values()) == 50
    first, last = date(2025, 12, 29), date(2026, 3, 22)
    assert_within_error(as_found(read(sessions, city.admin, first=first.isoformat(), last=last.isoformat())),
                        exact(sessions, first=first, last=last))


def test_the_migration_fills_the_coarse_counts_as_the_rebuild_does(engine, sessions, city) -> None:
    from alembic import command

    from civicpost import migrate

    random_posts(sessions, city, seed=9, count=50)
    kept = counts(sessions)  # and the weekly and span counts, checked against these
    config = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    command.downgrade(config, "0023")
    command.upgrade(config, "head")
    assert counts(sessions) == kept
