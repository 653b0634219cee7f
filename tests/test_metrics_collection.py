"""How posts did (SPEC §8.3): the worker's collector reads published posts'
counts at 1 h, 24 h, 7 d and 30 d and each channel's followers daily, on a
real database, from the sandbox over HTTP."""

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from civicpost.db import make_sessionmaker, transaction, utcnow
from civicpost.insights import jobs
from civicpost.insights.collector import Collector
from civicpost.models import Channel, Delivery, DeliveryStatus, MetricChannel, MetricJob, MetricSnapshot, PostEngagement
from civicpost.platforms import build_adapter
from civicpost.sandbox import create_sandbox_app
from civicpost.sandbox.testing import running_sandbox
from tests.factories import (
    channel_fields,
    create_channel,
    create_published_post,
    create_tracked_link,
    make_outgoing,
)

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with running_sandbox(app=create_sandbox_app()) as base:
        yield base


@pytest.fixture
def mastodon(client, city, sandbox) -> int:
    httpx.post(f"{sandbox}/_sandbox/faults", json={"clear": True})
    return create_channel(client, city.admin, "mastodon", base=sandbox, name="Parks Mastodon")


def post_on_sandbox(sandbox: str, platform: str = "mastodon", text: str = "Pool opens Saturday") -> str:
    credentials, settings = channel_fields(platform, base=sandbox)
    adapter = build_adapter(platform, credentials, settings, timeout=5, allow_private_network=True)
    return adapter.publish(make_outgoing(key=str(uuid.uuid4()), text=text)).remote_id


def published(sessions, city, sandbox, channel_id: int, *, age: timedelta, text: str = "Pool opens Saturday") -> int:
    return create_published_post(sessions, city, channel_id=channel_id, remote_id=post_on_sandbox(sandbox, text=text),
                                 published_at=utcnow() - age)


def snapshots(sessions, delivery_id: int | None = None) -> list[MetricSnapshot]:
    with sessions() as session:
        query = select(MetricSnapshot).order_by(MetricSnapshot.id)
        if delivery_id is not None:
            query = query.where(MetricSnapshot.delivery_id == delivery_id)
        return list(session.scalars(query))


def job_of(sessions, delivery_id: int) -> MetricJob | None:
    with sessions() as session:
        return session.get(MetricJob, delivery_id)


def test_a_post_published_two_hours_ago_is_read_at_1_h_and_then_waits_for_24_h(settings, sessions, city, sandbox,
                                                                               mastodon):
    delivery_id = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    read = Collector(settings, sessions, name="worker-a").run_once(now=utcnow())
    assert read == 1
    taken = snapshots(sessions, delivery_id)
    assert {s.name for s in taken} == {"likes", "reposts", "replies", "quotes"}
    assert {s.stage for s in taken} == {"1h"}
    with sessions() as session:
        summary = session.get(PostEngagement, delivery_id)
        delivery = session.get(Delivery, delivery_id)
        assert summary is not None and delivery is not None and delivery.published_at is not None
        assert summary.platform == "mastodon" and summary.stage == "1h"
        assert summary.engagement == sum(s.value for s in taken)
        local = delivery.published_at.astimezone(settings.zone)
        assert (summary.weekday, summary.hour) == (local.weekday(), local.hour)
    job = job_of(sessions, delivery_id)
    assert job is not None and job.stage == 1 and job.lease_owner is None
    assert job.due_at == delivery.published_at + timedelta(hours=24)


def test_a_post_found_eight_days_late_is_read_once_at_7_d_not_at_every_stage_it_missed(settings, sessions, city,
                                                                                       sandbox, mastodon):
    delivery_id = published(sessions, city, sandbox, mastodon, age=timedelta(days=8))
    Collector(settings, sessions, name="worker-a").run_once(now=utcnow())
    assert {s.stage for s in snapshots(sessions, delivery_id)} == {"7d"}
    job = job_of(sessions, delivery_id)
    assert job is not None and job.stage == 3


def test_after_the_30_d_reading_a_post_is_read_no_more(settings, sessions, city, sandbox, mastodon):
    delivery_id = published(sessions, city, sandbox, mastodon, age=timedelta(days=31))
    collector = Collector(settings, sessions, name="worker-a")
    assert collector.run_once(now=utcnow()) == 0  # older than a month before it was seen: never read
    with transaction(sessions) as session:
        session.execute(update(Delivery).where(Delivery.id == delivery_id)
                        .values(published_at=utcnow() - timedelta(days=29, hours=23)))
    collector.run_once(now=utcnow())
    later = utcnow() + timedelta(hours=2)
    collector.run_once(now=later)
    assert [s.stage for s in snapshots(sessions, delivery_id) if s.name == "likes"] == ["7d", "30d"]
    assert job_of(sessions, delivery_id) is None


def test_a_retracted_post_stops_being_read(settings, sessions, city, sandbox, mastodon):
    delivery_id = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    collector = Collector(settings, sessions, name="worker-a")
    collector.run_once(now=utcnow())
    before = len(snapshots(sessions, delivery_id))
    with transaction(sessions) as session:
        session.execute(update(Delivery).where(Delivery.id == delivery_id)
                        .values(status=DeliveryStatus.retracted, retracted_at=utcnow()))
    collector.run_once(now=utcnow() + timedelta(days=1))
    assert len(snapshots(sessions, delivery_id)) == before
    assert job_of(sessions, delivery_id) is None


def test_a_post_deleted_on_the_platform_stops_being_read(settings, sessions, city, sandbox, mastodon):
    remote_id = post_on_sandbox(sandbox)
    delivery_id = create_published_post(sessions, city, channel_id=mastodon, remote_id=remote_id,
                                        published_at=utcnow() - timedelta(hours=2))
    credentials, fields = channel_fields("mastodon", base=sandbox)
    build_adapter("mastodon", credentials, fields, timeout=5, allow_private_network=True).delete(remote_id)
    Collector(settings, sessions, name="worker-a").run_once(now=utcnow())
    assert snapshots(sessions, delivery_id) == []
    assert job_of(sessions, delivery_id) is None


def test_a_fresh_post_is_left_to_the_publishing_path_until_its_first_reading_nears(settings, sessions, city,
                                                                                   sandbox, mastodon):
    # The minutes after an announcement goes out belong to publishing: no job yet.
    fresh = published(sessions, city, sandbox, mastodon, age=timedelta(minutes=5))
    nearly = published(sessions, city, sandbox, mastodon, age=timedelta(minutes=55), text="Library closed Monday")
    with transaction(sessions) as session:
        assert jobs.sweep(session, now=utcnow()) == 1
    assert job_of(sessions, fresh) is None
    job = job_of(sessions, nearly)
    assert job is not None and job.stage == 0
    # Ten minutes before its hour, the fresh one is swept too.
    with transaction(sessions) as session:
        assert jobs.sweep(session, now=utcnow() + timedelta(minutes=46)) == 1
    assert job_of(sessions, fresh) is not None


def test_a_reading_whose_lease_was_lost_writes_nothing(settings, sessions, city, sandbox, mastodon):
    delivery_id = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    now = utcnow()
    with transaction(sessions) as session:
        jobs.sweep(session, now=now)
    with transaction(sessions) as session:
        batches = jobs.claim(session, owner="worker-a", now=now, limit=10, lease_seconds=1)
    assert [p.delivery_id for b in batches for p in b.posts] == [delivery_id]
    # worker-a stalls past its lease; worker-b takes the reading over.
    with transaction(sessions) as session:
        taken = jobs.claim(session, owner="worker-b", now=now + timedelta(seconds=5), limit=10, lease_seconds=60)
    assert [p.delivery_id for b in taken for p in b.posts] == [delivery_id]
    stalled = Collector(settings, sessions, name="worker-a")
    assert sum(stalled.collect(batch, now=now) for batch in batches) == 0
    assert snapshots(sessions, delivery_id) == []
    job = job_of(sessions, delivery_id)
    assert job is not None and job.lease_owner == "worker-b" and job.stage == 0


def test_two_collectors_claiming_at_once_never_take_the_same_post(settings, engine, sessions, city, sandbox,
                                                                  mastodon):
    now = utcnow()
    ids = {create_published_post(sessions, city, channel_id=mastodon, remote_id=f"9{n:05d}",
                                 published_at=now - timedelta(hours=2)) for n in range(40)}
    with transaction(sessions) as session:
        jobs.sweep(session, now=now)
    start = threading.Barrier(2)
    taken: dict[str, list[int]] = {}
    # As the worker claims: on SQLite, each claim takes the write lock when it begins.
    claims = make_sessionmaker(engine.execution_options(sqlite_begin="IMMEDIATE"))

    def claim(owner: str) -> None:
        start.wait()
        with transaction(claims) as session:
            batches = jobs.claim(session, owner=owner, now=now, limit=25, lease_seconds=60)
        taken[owner] = [p.delivery_id for b in batches for p in b.posts]

    threads = [threading.Thread(target=claim, args=(owner,)) for owner in ("worker-a", "worker-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not set(taken["worker-a"]) & set(taken["worker-b"])
    assert set(taken["worker-a"]) | set(taken["worker-b"]) == ids
    assert sorted(len(t) for t in taken.values()) == [15, 25]


def test_a_429_moves_every_reading_of_the_channel_past_the_platform_wait_and_spends_no_try(
    settings, sessions, city, sandbox, mastodon,
):
    first = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    second = published(sessions, city, sandbox, mastodon, age=timedelta(hours=3), text="Library closed Monday")
    httpx.post(f"{sandbox}/_sandbox/faults", json={"mastodon": {"rate_limit_next": 5, "rate_limit_reset_s": 600}})
    now = utcnow()
    Collector(settings, sessions, name="worker-a").run_once(now=now)
    assert snapshots(sessions) == []
    for delivery_id in (first, second):
        job = job_of(sessions, delivery_id)
        assert job is not None and job.lease_owner is None and job.attempts == 0
        assert job.due_at >= now + timedelta(seconds=500)
        assert job.last_error is not None and "asked civicpost to wait" in job.last_error
    with sessions() as session:
        channel = session.get(MetricChannel, mastodon)
        assert channel is not None and channel.waiting_until is not None
        assert channel.waiting_until >= now + timedelta(seconds=500)


def test_an_unreachable_platform_is_written_on_the_reading_in_words_and_tried_again_later(
    settings, sessions, city, sandbox, mastodon,
):
    delivery_id = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    httpx.post(f"{sandbox}/_sandbox/faults", json={"mastodon": {"fail_next": 5, "fail_status": 503}})
    now = utcnow()
    Collector(settings, sessions, name="worker-a").run_once(now=now)
    job = job_of(sessions, delivery_id)
    assert job is not None and job.stage == 0 and job.due_at > now
    assert job.last_error is not None and job.last_error.startswith("Reading how posts did on Mastodon failed")
    assert "503" in job.last_error


def test_the_channel_followers_are_read_daily_and_kept_with_the_post(settings, sessions, city, sandbox, mastodon):
    delivery_id = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    now = utcnow()
    Collector(settings, sessions, name="worker-a").run_once(now=now)
    followers = [s for s in snapshots(sessions) if s.delivery_id is None]
    assert [(s.name, s.stage, s.channel_id) for s in followers] == [("followers", "daily", mastodon)]
    with sessions() as session:
        summary = session.get(PostEngagement, delivery_id)
        reading = session.get(MetricChannel, mastodon)
        assert summary is not None and summary.followers == followers[0].value > 0
        assert reading is not None and reading.due_at == now + timedelta(days=1)


def test_a_reading_keeps_the_clicks_on_the_posts_tracked_link_beside_its_counts(settings, sessions, city, sandbox,
                                                                              mastodon):
    tracked = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    untracked = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2), text="Library closes early")
    create_tracked_link(sessions, delivery_id=tracked, clicks=37)
    assert Collector(settings, sessions, name="worker-a").run_once(now=utcnow()) == 2
    assert [(s.name, s.value, s.stage) for s in snapshots(sessions, tracked) if s.name == "clicks"] == [
        ("clicks", 37, "1h")]
    assert "clicks" not in {s.name for s in snapshots(sessions, untracked)}
    with sessions() as session:
        summary, plain = session.get(PostEngagement, tracked), session.get(PostEngagement, untracked)
        assert summary is not None and summary.clicks == 37
        assert plain is not None and plain.clicks is None


def test_reading_every_post_now_keeps_the_clicks_too(settings, sessions, city, sandbox, mastodon):
    delivery_id = published(sessions, city, sandbox, mastodon, age=timedelta(days=3))
    create_tracked_link(sessions, delivery_id=delivery_id, clicks=5)
    read, problems = Collector(settings, sessions, name="worker-a").collect_now(now=utcnow())
    assert (read, problems) == (1, [])
    assert [(s.name, s.value) for s in snapshots(sessions, delivery_id) if s.name == "clicks"] == [("clicks", 5)]
    with sessions() as session:
        summary = session.get(PostEngagement, delivery_id)
        assert summary is not None and summary.clicks == 5


def test_a_post_made_in_the_platforms_own_app_is_seen_with_the_daily_follower_reading(settings, sessions, city,
                                                                                      sandbox, mastodon):
    before = utcnow()
    post_on_sandbox(sandbox, text="Posted in the Mastodon app")
    Collector(settings, sessions, name="worker-a").run_once(now=utcnow())
    with sessions() as session:
        channel = session.get(Channel, mastodon)
        assert channel is not None and channel.last_post_seen_at is not None
        assert before - timedelta(seconds=5) <= channel.last_post_seen_at <= utcnow()


def test_the_api_lists_a_post_counts_for_its_department_only(client, settings, sessions, city, sandbox, mastodon):
    delivery_id = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    empty = client.get(f"/api/v1/deliveries/{delivery_id}/metrics", headers=city.parks_staff.auth)
    assert empty.status_code == 200 and empty.json() == []
    Collector(settings, sessions, name="worker-a").run_once(now=utcnow())
    own = client.get(f"/api/v1/deliveries/{delivery_id}/metrics", headers=city.parks_staff.auth)
    assert own.status_code == 200
    assert {m["name"] for m in own.json()} == {"likes", "reposts", "replies", "quotes"}
    assert all(set(m) == {"at", "name", "value"} and isinstance(m["value"], int) for m in own.json())
    other = client.get(f"/api/v1/deliveries/{delivery_id}/metrics", headers=city.police_staff.auth)
    assert other.status_code == 404 and str(delivery_id) in other.text
    assert client.get(f"/api/v1/deliveries/{delivery_id}/metrics").status_code == 401
    assert client.get("/api/v1/deliveries/999999/metrics", headers=city.admin.auth).status_code == 404


def test_insights_collect_now_reads_every_published_post_at_once(settings, database_url, sessions, city, sandbox,
                                                                 mastodon, tmp_path):
    delivery_id = published(sessions, city, sandbox, mastodon, age=timedelta(days=3))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    env.update(CIVICPOST_DATABASE_URL=database_url, CIVICPOST_SECRET_KEY=settings.secret_key.get_secret_value(),
               CIVICPOST_ALLOW_PRIVATE_NETWORK="true")
    done = subprocess.run([str(BIN / "civicpost"), "insights", "collect", "--now"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "read the counts of 1 published post now" in done.stdout
    assert {s.stage for s in snapshots(sessions, delivery_id)} == {"now"}
    with sessions() as session:
        summary = session.get(PostEngagement, delivery_id)
        assert summary is not None and summary.stage == "now"
    due = subprocess.run([str(BIN / "civicpost"), "insights", "collect"], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120)
    assert due.returncode == 0, due.stderr
    assert "that were due" in due.stdout


def test_the_daily_reading_also_learns_when_a_facebook_pages_access_ends(settings, sessions, client, city, sandbox):
    credentials, fields = channel_fields("facebook", base=sandbox)
    facebook = create_channel(client, city.admin, "facebook", settings=fields,
                              credentials={"page_access_token": "page-token-expiring"}, name="Parks Facebook")
    Collector(settings, sessions, name="worker-a").run_once(now=utcnow())
    with sessions() as session:
        channel = session.get(Channel, facebook)
        assert channel is not None and channel.token_expires_at is not None
        assert timedelta(days=4) < channel.token_expires_at - utcnow() <= timedelta(days=5, minutes=1)
    assert [s.name for s in snapshots(sessions) if s.channel_id == facebook] == ["followers"]
