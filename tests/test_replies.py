"""Residents' replies kept: the worker's collector reads each published post's replies at
1 h, 24 h and 7 d, on a real database, from the sandbox over HTTP, under leases."""

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from civicpost.db import transaction, utcnow
from civicpost.models import AuditEvent, Channel, Delivery, Reply, ReplyJob
from civicpost.platforms import build_adapter
from civicpost.replies import jobs
from civicpost.replies.collector import Collector
from civicpost.sandbox import create_sandbox_app
from civicpost.sandbox import replies as fake_replies
from civicpost.sandbox.testing import running_sandbox
from tests.factories import channel_fields, create_channel, create_post_with_replies, create_published_post


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with running_sandbox(app=create_sandbox_app()) as base:
        yield base


@pytest.fixture
def mastodon(client, city, sandbox) -> int:
    httpx.post(f"{sandbox}/_sandbox/faults", json={"clear": True})
    return create_channel(client, city.admin, "mastodon", base=sandbox, name="Parks Mastodon")


@pytest.fixture
def bluesky(client, city, sandbox) -> int:
    httpx.post(f"{sandbox}/_sandbox/faults", json={"clear": True})
    return create_channel(client, city.admin, "bluesky", base=sandbox, name="Parks Bluesky")


def adapter_for(platform: str, sandbox: str):
    credentials, settings = channel_fields(platform, base=sandbox)
    return build_adapter(platform, credentials, settings, timeout=5, allow_private_network=True)


def published(sessions, city, sandbox, channel_id: int, platform: str = "mastodon", *, age: timedelta,
              at_least: int = 1) -> tuple[int, str]:
    remote_id = create_post_with_replies(sandbox, platform, at_least=at_least)
    delivery_id = create_published_post(sessions, city, channel_id=channel_id, remote_id=remote_id,
                                        published_at=utcnow() - age)
    return delivery_id, remote_id


def sandbox_calls(sandbox: str, platform: str) -> list[dict]:
    return httpx.get(f"{sandbox}/_sandbox/requests", params={"platform": platform}).json()["requests"]


def replies_of(sessions, delivery_id: int) -> list[Reply]:
    with sessions() as session:
        return list(session.scalars(select(Reply).where(Reply.delivery_id == delivery_id).order_by(Reply.id)))


def job_of(sessions, delivery_id: int) -> ReplyJob | None:
    with sessions() as session:
        return session.get(ReplyJob, delivery_id)


def test_a_mastodon_post_s_replies_are_kept_with_author_time_text_and_link(settings, sessions, city, sandbox,
                                                                            mastodon):
    delivery_id, remote_id = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2), at_least=2)
    assert Collector(settings, sessions, name="worker-a").run_once(now=utcnow()) == 1
    kept = replies_of(sessions, delivery_id)
    assert len(kept) == fake_replies.count("mastodon", remote_id) >= 2
    first = kept[0]
    assert first.platform == "mastodon" and first.channel_id == mastodon
    assert first.author_handle.startswith("@") and first.author_handle.endswith("@residents.example")
    assert first.author_name in {name for _, name in fake_replies.PEOPLE}
    assert all(r.text in fake_replies.WORDS for r in kept)  # as written: no markup, no &#x27; left
    assert first.url and first.url.startswith(sandbox) and first.remote_id in first.url
    assert first.created_at is not None and first.created_at.tzinfo is not None
    job = job_of(sessions, delivery_id)
    assert job is not None and job.stage == 1 and job.lease_owner is None
    assert job.due_at == create_time(sessions, delivery_id) + timedelta(hours=24)


def create_time(sessions, delivery_id: int):
    with sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None and delivery.published_at is not None
        return delivery.published_at


def test_a_bluesky_post_s_thread_replies_are_kept(settings, sessions, city, sandbox, bluesky):
    delivery_id, remote_id = published(sessions, city, sandbox, bluesky, "bluesky", age=timedelta(hours=2))
    Collector(settings, sessions, name="worker-a").run_once(now=utcnow())
    kept = replies_of(sessions, delivery_id)
    assert len(kept) == fake_replies.count("bluesky", remote_id)
    assert all(r.remote_id.startswith("at://") and r.author_handle.endswith(".residents.example") for r in kept)
    assert all(r.url and "/profile/" in r.url for r in kept)


def test_readings_come_at_1_h_24_h_and_7_d_and_then_stop_without_doubling_a_reply(settings, sessions, city,
                                                                                 sandbox, mastodon):
    delivery_id, remote_id = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    collector = Collector(settings, sessions, name="worker-a")
    published_at = create_time(sessions, delivery_id)
    assert collector.run_once(now=utcnow()) == 1
    assert collector.run_once(now=utcnow()) == 0  # the next reading is not due yet
    assert collector.run_once(now=published_at + timedelta(hours=25)) == 1
    job = job_of(sessions, delivery_id)
    assert job is not None and job.stage == 2
    assert collector.run_once(now=published_at + timedelta(days=7, minutes=1)) == 1
    job = job_of(sessions, delivery_id)
    assert job is not None and job.stage == jobs.DONE
    assert collector.run_once(now=published_at + timedelta(days=7, hours=12)) == 0
    assert len(replies_of(sessions, delivery_id)) == fake_replies.count("mastodon", remote_id)


def test_a_post_found_late_is_read_once_at_its_latest_due_reading(settings, sessions, city, sandbox, mastodon):
    delivery_id, _ = published(sessions, city, sandbox, mastodon, age=timedelta(days=3))
    assert Collector(settings, sessions, name="worker-a").run_once(now=utcnow()) == 1
    job = job_of(sessions, delivery_id)
    assert job is not None and job.stage == 2


def test_a_post_deleted_on_the_platform_is_recorded_as_remote_deleted_and_read_no_more(settings, sessions, city,
                                                                                       sandbox, mastodon):
    delivery_id, remote_id = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    adapter_for("mastodon", sandbox).delete(remote_id)
    before = utcnow()
    Collector(settings, sessions, name="worker-a").run_once(now=utcnow())
    with sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None and delivery.remote_deleted_at is not None
        assert delivery.remote_deleted_at >= before - timedelta(seconds=1)
        assert delivery.status == "published"  # civicpost did not take it down: the record says so apart
    job = job_of(sessions, delivery_id)
    assert job is not None and job.stage == jobs.DONE
    assert replies_of(sessions, delivery_id) == []


def test_a_reading_leased_by_one_worker_is_not_taken_by_another(settings, sessions, city, sandbox, mastodon):
    delivery_id, _ = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    now = utcnow()
    with transaction(sessions) as session:
        jobs.sweep(session, now=now)
        first = jobs.claim(session, owner="worker-a", now=now, limit=10, lease_seconds=600)
    with transaction(sessions) as session:
        second = jobs.claim(session, owner="worker-b", now=now, limit=10, lease_seconds=600)
    assert [p.delivery_id for b in first for p in b.posts] == [delivery_id]
    assert second == []
    # worker-b takes it once the lease has run out; worker-a's late answer then writes nothing.
    with transaction(sessions) as session:
        taken = jobs.claim(session, owner="worker-b", now=now + timedelta(seconds=601), limit=10, lease_seconds=600)
    assert [p.delivery_id for b in taken for p in b.posts] == [delivery_id]
    late = Collector(settings, sessions, name="worker-a")
    assert late.collect(first[0], now=now) == 0
    assert replies_of(sessions, delivery_id) == []


def test_a_429_moves_every_reading_of_the_channel_past_the_platform_wait_and_spends_no_try(
        settings, sessions, city, sandbox, mastodon):
    delivery_id, _ = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    httpx.post(f"{sandbox}/_sandbox/faults", json={"mastodon": {"rate_limit_next": 5, "rate_limit_reset_s": 600}})
    now = utcnow()
    collector = Collector(settings, sessions, name="worker-a")
    assert collector.run_once(now=now) == 0
    job = job_of(sessions, delivery_id)
    assert job is not None and job.attempts == 0 and job.lease_owner is None
    assert job.due_at >= now + timedelta(seconds=500)
    assert job.last_error and "wait" in job.last_error
    httpx.post(f"{sandbox}/_sandbox/faults", json={"clear": True})
    assert collector.run_once(now=now + timedelta(minutes=1)) == 0  # still waiting, not asked again
    assert collector.run_once(now=now + timedelta(minutes=11)) == 1
    assert replies_of(sessions, delivery_id)


def test_a_failing_platform_leaves_the_reading_for_later_in_plain_words(settings, sessions, city, sandbox,
                                                                        mastodon):
    delivery_id, _ = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    httpx.post(f"{sandbox}/_sandbox/faults", json={"mastodon": {"fail_next": 5, "fail_status": 503}})
    now = utcnow()
    Collector(settings, sessions, name="worker-a").run_once(now=now)
    job = job_of(sessions, delivery_id)
    assert job is not None and job.stage == 0 and job.attempts == 1
    assert job.due_at == now + jobs.RETRY
    assert job.last_error and job.last_error.startswith("Reading replies on Mastodon")


def test_collect_now_reads_every_published_post_and_keeps_the_schedule(settings, sessions, city, sandbox, mastodon,
                                                                      bluesky):
    fresh, _ = published(sessions, city, sandbox, mastodon, age=timedelta(minutes=5))
    other, _ = published(sessions, city, sandbox, bluesky, "bluesky", age=timedelta(days=2))
    read, problems = Collector(settings, sessions, name="ops").collect_now()
    assert (read, problems) == (2, [])
    assert replies_of(sessions, fresh) and replies_of(sessions, other)
    assert job_of(sessions, fresh) is None


def test_a_retracted_post_stops_being_read(settings, sessions, city, sandbox, mastodon):
    delivery_id, _ = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    collector = Collector(settings, sessions, name="worker-a")
    collector.run_once(now=utcnow())
    with transaction(sessions) as session:
        session.execute(update(Delivery).where(Delivery.id == delivery_id)
                        .values(status="retracted", retracted_at=utcnow()))
    assert collector.run_once(now=utcnow() + timedelta(days=1)) == 0
    job = job_of(sessions, delivery_id)
    assert job is not None and job.stage == jobs.DONE


def test_a_channel_that_may_not_read_replies_is_noted_once_and_not_asked_every_run(settings, sessions, city,
                                                                                   sandbox, mastodon):
    delivery_id, _ = published(sessions, city, sandbox, mastodon, age=timedelta(hours=2))
    with transaction(sessions) as session:
        jobs.sweep(session, now=utcnow())
        jobs.unreadable(session, mastodon, "not for this access level", now=utcnow())
    assert Collector(settings, sessions, name="worker-a").run_once(now=utcnow()) == 0
    with sessions() as session:
        channel = session.get(Channel, mastodon)
        assert channel is not None and channel.replies_unreadable == "not for this access level"
    assert replies_of(sessions, delivery_id) == []


@pytest.fixture
def x_channel(client, city, sandbox) -> int:
    httpx.post(f"{sandbox}/_sandbox/faults", json={"clear": True})
    return create_channel(client, city.admin, "x", base=sandbox, name="Parks X")


@pytest.fixture
def facebook(client, city, sandbox) -> int:
    httpx.post(f"{sandbox}/_sandbox/faults", json={"clear": True})
    return create_channel(client, city.admin, "facebook", base=sandbox, name="Parks Facebook")


def test_x_conversation_replies_and_facebook_comments_are_kept(settings, sessions, city, sandbox, x_channel,
                                                               facebook):
    on_x, x_id = published(sessions, city, sandbox, x_channel, "x", age=timedelta(hours=2))
    on_facebook, facebook_id = published(sessions, city, sandbox, facebook, "facebook", age=timedelta(hours=2))
    assert Collector(settings, sessions, name="worker-a").run_once(now=utcnow()) == 2
    x_replies, facebook_replies = replies_of(sessions, on_x), replies_of(sessions, on_facebook)
    assert len(x_replies) == fake_replies.count("x", x_id)
    assert len(facebook_replies) == fake_replies.count("facebook", facebook_id)
    assert all(r.text.startswith("@cityofsandbox ") and r.author_handle.startswith("@") for r in x_replies)
    assert all(r.url and "/status/" in r.url for r in x_replies)
    assert all(r.author_name in {name for _, name in fake_replies.PEOPLE} and r.url and "comment_id=" in r.url
               for r in facebook_replies)


def test_an_x_account_whose_access_level_may_not_search_is_noted_once_and_asked_again_only_by_an_operator(
        settings, sessions, city, client, sandbox):
    credentials, fields = channel_fields("x", base=sandbox)
    channel_id = create_channel(client, city.admin, "x", base=sandbox, name="Free X",
                                credentials={**credentials, "consumer_key": "free"}, settings=fields)
    delivery_id, _ = published(sessions, city, sandbox, channel_id, "x", age=timedelta(hours=2))
    collector = Collector(settings, sessions, name="worker-a")
    start = len(sandbox_calls(sandbox, "x"))
    assert collector.run_once(now=utcnow()) == 0
    with sessions() as session:
        channel = session.get(Channel, channel_id)
        assert channel is not None and channel.replies_unreadable and "access" in channel.replies_unreadable
        assert channel.needs_attention is False  # posting still works: not a broken channel
    job = job_of(sessions, delivery_id)
    assert job is not None and job.stage == 0 and job.lease_owner is None
    searches = len(sandbox_calls(sandbox, "x"))
    assert collector.run_once(now=utcnow() + timedelta(days=1)) == 0
    assert len(sandbox_calls(sandbox, "x")) == searches > start
    read, problems = collector.collect_now()
    assert read == 0 and len(problems) == 1 and "Free X" in problems[0]


# --- staff read them, and hide or remove them with a reason -----------------------------------------


def collected(settings, sessions, city, sandbox, channel_id: int, platform: str, *,
              at_least: int = 2) -> tuple[int, int]:
    """A published post with at least `at_least` replies read: (announcement id, delivery id)."""
    delivery_id, _ = published(sessions, city, sandbox, channel_id, platform, age=timedelta(hours=2),
                               at_least=at_least)
    Collector(settings, sessions, name="worker-a").run_once(now=utcnow())
    with sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        return delivery.announcement_id, delivery_id


def test_staff_of_the_department_read_the_replies_by_channel_and_another_department_gets_404(
        settings, sessions, city, client, sandbox, mastodon):
    announcement_id, delivery_id = collected(settings, sessions, city, sandbox, mastodon, "mastodon")
    r = client.get(f"/api/v1/announcements/{announcement_id}/replies", headers=city.parks_staff.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["items"]) == len(replies_of(sessions, delivery_id)) >= 2
    item = body["items"][0]
    assert item["delivery_id"] == delivery_id and item["platform"] == "mastodon"
    assert item["channel"] == "Parks Mastodon" and item["hidden_at"] is None and item["removed_at"] is None
    assert {"id", "remote_id", "author_handle", "author_name", "created_at", "text", "url", "hidden_by",
            "hide_reason", "removed_by", "remove_reason"} <= set(item)
    [post] = body["posts"]
    assert post["can_hide"] is False and "Mastodon" in post["note"]
    outsider = client.get(f"/api/v1/announcements/{announcement_id}/replies", headers=city.police_staff.auth)
    missing = client.get("/api/v1/announcements/999999/replies", headers=city.police_staff.auth)
    assert outsider.status_code == missing.status_code == 404
    assert outsider.headers["content-type"].startswith("application/problem+json")
    reply_id = item["id"]
    hidden = client.post(f"/api/v1/replies/{reply_id}/hide", json={"reason": "abuse"},
                         headers=city.police_staff.auth)
    assert hidden.status_code == 404  # nothing tells an outsider that the reply exists


def facebook_reply(settings, sessions, city, sandbox, facebook) -> tuple[int, Reply]:
    announcement_id, delivery_id = collected(settings, sessions, city, sandbox, facebook, "facebook")
    return announcement_id, replies_of(sessions, delivery_id)[0]


def graph_comments(sandbox: str, post_id: str) -> list[dict]:
    answer = httpx.get(f"{sandbox}/graph/v25.0/{post_id}/comments", headers={"Authorization": "Bearer sandbox"},
                       params={"fields": "id,is_hidden"})
    return answer.json()["data"]


def test_an_approver_hides_a_facebook_comment_with_a_reason_kept_audited_and_hidden_on_the_platform(
        settings, sessions, city, client, sandbox, facebook):
    announcement_id, reply = facebook_reply(settings, sessions, city, sandbox, facebook)
    r = client.post(f"/api/v1/replies/{reply.id}/hide", json={"reason": "  Personal information  "},
                    headers=city.approver.auth)
    assert r.status_code == 200, r.text
    assert r.json()["hidden_by"] == "comms@city.example" and r.json()["hide_reason"] == "Personal information"
    with sessions() as session:
        delivery = session.get(Delivery, reply.delivery_id)
        assert delivery is not None and delivery.remote_id
        post_id = delivery.remote_id
    assert {c["id"]: c["is_hidden"] for c in graph_comments(sandbox, post_id)}[reply.remote_id] is True
    listed = client.get(f"/api/v1/announcements/{announcement_id}/replies", headers=city.parks_staff.auth).json()
    [shown] = [i for i in listed["items"] if i["id"] == reply.id]
    assert shown["hidden_at"] and shown["hidden_by"] == "comms@city.example"
    with sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "reply.hide")).one()
        assert event.object_id == announcement_id and event.detail["reason"] == "Personal information"
        assert event.actor == "comms@city.example"
    again = client.post(f"/api/v1/replies/{reply.id}/hide", json={"reason": "twice"}, headers=city.approver.auth)
    assert again.status_code == 409 and "hidden already" in again.json()["detail"]


def test_an_admin_removes_a_facebook_comment_it_leaves_the_platform_and_stays_in_the_record(
        settings, sessions, city, client, sandbox, facebook):
    _, reply = facebook_reply(settings, sessions, city, sandbox, facebook)
    r = client.post(f"/api/v1/replies/{reply.id}/remove", json={"reason": "Threat"}, headers=city.admin.auth)
    assert r.status_code == 200, r.text
    with sessions() as session:
        delivery = session.get(Delivery, reply.delivery_id)
        assert delivery is not None and delivery.remote_id
        kept = session.get(Reply, reply.id)
        assert kept is not None and kept.removed_at and kept.remove_reason == "Threat" and kept.text == reply.text
    assert reply.remote_id not in {c["id"] for c in graph_comments(sandbox, delivery.remote_id)}
    # A later reading does not bring it back nor forget it.
    Collector(settings, sessions, name="worker-a").collect_now()
    assert any(r.id == reply.id and r.removed_at for r in replies_of(sessions, reply.delivery_id))


def test_hiding_needs_an_approver_a_reason_and_a_platform_that_allows_it(settings, sessions, city, client, sandbox,
                                                                        facebook, mastodon):
    _, reply = facebook_reply(settings, sessions, city, sandbox, facebook)
    url = f"/api/v1/replies/{reply.id}/hide"
    staff = client.post(url, json={"reason": "rude"}, headers=city.parks_staff.auth)
    assert staff.status_code == 403 and "approver" in staff.json()["detail"]
    blank = client.post(url, json={"reason": "   "}, headers=city.approver.auth)
    assert blank.status_code == 422 and "reason" in blank.json()["detail"]
    assert client.post(url, json={}, headers=city.approver.auth).status_code == 422
    assert client.post(url, json={"reason": "x", "extra": 1}, headers=city.approver.auth).status_code == 422
    assert client.post("/api/v1/replies/99999999999/hide", json={"reason": "x"},
                       headers=city.approver.auth).status_code == 422
    _, on_mastodon = collected(settings, sessions, city, sandbox, mastodon, "mastodon", at_least=1)
    mastodon_reply = replies_of(sessions, on_mastodon)[0]
    refused = client.post(f"/api/v1/replies/{mastodon_reply.id}/hide", json={"reason": "rude"},
                          headers=city.approver.auth)
    assert refused.status_code == 409 and "Mastodon does not let" in refused.json()["detail"]
    with sessions() as session:
        assert session.get(Reply, reply.id).hidden_at is None  # type: ignore[union-attr]


def test_a_platform_that_refuses_leaves_the_reply_as_it_was_and_says_why(settings, sessions, city, client, sandbox,
                                                                         facebook):
    _, reply = facebook_reply(settings, sessions, city, sandbox, facebook)
    httpx.post(f"{sandbox}/_sandbox/faults", json={"graph": {"fail_next": 1, "fail_status": 503}})
    r = client.post(f"/api/v1/replies/{reply.id}/hide", json={"reason": "rude"}, headers=city.approver.auth)
    assert r.status_code == 502 and "try again" in r.json()["detail"]
    with sessions() as session:
        assert session.get(Reply, reply.id).hidden_at is None  # type: ignore[union-attr]


def test_the_replies_collect_command_reads_due_and_every_post_now(settings, database_url, sessions, city, sandbox,
                                                                  mastodon, tmp_path):
    delivery_id, remote_id = published(sessions, city, sandbox, mastodon, age=timedelta(days=3))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    env.update(CIVICPOST_DATABASE_URL=database_url, CIVICPOST_SECRET_KEY=settings.secret_key.get_secret_value(),
               CIVICPOST_ALLOW_PRIVATE_NETWORK="true")
    civicpost = str(Path(sys.executable).parent / "civicpost")
    due = subprocess.run([civicpost, "replies", "collect"], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=120)
    assert due.returncode == 0, due.stderr
    assert "read the replies to 1 post that were due" in due.stdout
    assert len(replies_of(sessions, delivery_id)) == fake_replies.count("mastodon", remote_id)
    now = subprocess.run([civicpost, "replies", "collect", "--now"], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert now.returncode == 0, now.stderr
    assert "read the replies to 1 published post now" in now.stdout
    assert len(replies_of(sessions, delivery_id)) == fake_replies.count("mastodon", remote_id)  # none doubled
