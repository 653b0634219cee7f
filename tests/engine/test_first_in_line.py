"""Emergency deliveries go first: claimed before any ordinary delivery due, started before ordinary jobs a
worker claimed ahead, and not refused over the city's own planned posts; a pause the platform asked for holds
them too."""

import time
import uuid
from datetime import timedelta

from sqlalchemy import select, update

from civicpost.db import transaction, utcnow
from civicpost.models import EMERGENCY_LANE, ORDINARY_LANE, Channel, Delivery, DeliveryStatus
from tests.engine.observing import hook_channel, state_of, wait_for
from tests.factories import create_approved, create_channel, create_deliveries, create_draft, grant_emergency_publisher

EMERGENCY = "Boil water notice"


def backlog(client, city, sessions, channel_id: int, count: int) -> int:
    """`count` ordinary deliveries to the channel, all overdue (the oldest a minute ago); the announcement's id."""
    a = create_approved(client, city, channels=[channel_id])
    past = utcnow() - timedelta(minutes=1)
    with transaction(sessions) as session:
        first = session.scalar(select(Delivery).where(Delivery.announcement_id == a["id"]))
        assert first is not None
        first.next_attempt_at = first.due_at = past
        session.add_all(Delivery(
            key=str(uuid.uuid4()), announcement_id=a["id"], channel_id=channel_id, status=DeliveryStatus.pending,
            fingerprint=first.fingerprint, rendition=first.rendition, due_at=past + timedelta(milliseconds=n),
            next_attempt_at=past + timedelta(milliseconds=n)) for n in range(1, count))
    return a["id"]


def publish_now(client, city, channels: list[int]) -> dict:
    grant_emergency_publisher(client, city.admin, city.parks_staff)
    draft = create_draft(client, city.parks_staff, title=EMERGENCY, emergency=True, channels=channels)
    r = client.post(f"/api/v1/announcements/{draft['id']}/publish-now", headers=city.parks_staff.auth,
                    json={"reason": "Water main broke on Elm Street"})
    assert r.status_code == 200, r.text
    return r.json()


def titles(receiver) -> list[str]:
    return [r.body["title"] for r in receiver.published()]


def test_an_emergency_released_behind_hundreds_of_due_posts_is_sent_before_them(
        client, city, receiver, sessions, worker_factory):
    hook = hook_channel(client, city, receiver)
    backlog(client, city, sessions, hook, 300)
    worker_factory(concurrency=4).start()
    wait_for(lambda: len(receiver.published()) >= 10)
    emergency = publish_now(client, city, [hook])

    def sent():
        got = titles(receiver)
        return got if EMERGENCY in got else None

    position = wait_for(sent).index(EMERGENCY)
    # Only what was already claimed and sending went out between: well over half of the backlog waited.
    assert position < 150, f"the emergency was post {position + 1} of 301"
    wait_for(lambda: len(receiver.published()) == 301, timeout=60)
    with sessions() as session:
        lanes = dict(session.execute(select(Delivery.announcement_id, Delivery.lane).distinct()).all())
    assert lanes[emergency["id"]] == EMERGENCY_LANE and set(lanes.values()) == {EMERGENCY_LANE, ORDINARY_LANE}


def test_an_emergency_claimed_while_every_send_is_busy_starts_before_ordinary_jobs_claimed_ahead_of_it(
        client, city, receiver, sessions, worker_factory):
    # Two send threads, two ordinary jobs claimed ahead. The first send answers soon and frees a thread,
    # which takes the third ordinary job; the emergency, claimed next, must start before the fourth.
    # (0.8 s, not less: a busy machine must still release the emergency before the first send ends.)
    receiver.script = [(200, {}, 0.8)] + [(200, {}, 2.0)] * 3
    hook = hook_channel(client, city, receiver)
    backlog(client, city, sessions, hook, 8)
    worker_factory(concurrency=2).start()
    wait_for(lambda: len(receiver.published()) >= 2)
    publish_now(client, city, [hook])
    got = wait_for(lambda: (t := titles(receiver)) and EMERGENCY in t and t, timeout=20)
    assert got.index(EMERGENCY) == 3, got


def test_a_pause_the_platform_asked_for_holds_an_emergency_on_that_channel_only(
        client, city, receiver, sessions, worker_factory):
    hook = hook_channel(client, city, receiver)
    feed = city.parks_channels[0]
    with transaction(sessions) as session:
        # As a 429 from the platform leaves it: another post now would be refused too.
        session.execute(update(Channel).where(Channel.id == hook).values(paused_until=utcnow() + timedelta(minutes=5)))
    emergency = publish_now(client, city, [feed, hook])
    worker_factory().start()

    def feed_published():
        by = {d["channel_id"]: d["status"] for d in state_of(client, city, emergency["id"])["deliveries"]}
        return by if by[feed] == "published" else None

    wait_for(feed_published)
    time.sleep(0.5)
    by = {d["channel_id"]: d for d in state_of(client, city, emergency["id"])["deliveries"]}
    assert by[hook]["status"] == "pending" and by[hook]["attempts"] == 0
    assert receiver.received == []


def test_an_emergency_is_not_refused_over_the_citys_own_planned_posts_against_a_daily_limit(
        client, city, sessions):
    threads = create_channel(client, city.admin, "threads")
    planned = create_draft(client, city.parks_staff, title="Pool schedule")["id"]
    create_deliveries(sessions, channel_id=threads, announcement_id=planned, count=250,
                      status=DeliveryStatus.pending, at=utcnow() + timedelta(hours=1))
    emergency = publish_now(client, city, [threads])
    assert [d["status"] for d in emergency["deliveries"]] == ["pending"]
    # An ordinary announcement to the same channel is still refused, saying why.
    a = create_draft(client, city.parks_staff, channels=[threads])
    submitted = client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth).json()
    r = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                    json={"fingerprint": submitted["fingerprint"]})
    assert r.status_code == 422 and "daily limit" in r.json()["detail"]
