"""Retract wins (SPEC §8.1): a retract stops what has not started and takes back
every post, including those whose sends were on the wire when it came and
those a send may have made; nothing stays live."""

import re
from datetime import datetime

import httpx
import pytest
from sqlalchemy import select, update

from civicpost.db import transaction
from civicpost.models import Announcement, Delivery, DeliveryStatus, State
from civicpost.sandbox.app import create_sandbox_app
from civicpost.sandbox.testing import running_sandbox
from tests.engine.observing import state_of, wait_for
from tests.factories import create_approved, create_channel

PATHS = {"x": ("/x/2/tweets", "x"), "mastodon": ("/mastodon/api/v1/statuses", "mastodon")}


@pytest.fixture
def sandbox():
    app = create_sandbox_app()
    with running_sandbox(app=app) as base:
        yield base, app.state.sandbox


def sandbox_channels(client, city, base: str) -> dict[str, int]:
    return {platform: create_channel(client, city.admin, platform, base=base) for platform in ("x", "mastodon")}


def requests_to(base: str, platform: str, method: str) -> list[dict]:
    prefix, name = PATHS[platform]
    entries = httpx.get(f"{base}/_sandbox/requests", params={"platform": name}).json()["requests"]
    return [e for e in entries if e["method"] == method and e["path"].startswith(prefix)]


def live_posts(fake) -> list[str]:
    return [post.id for post in fake.timeline()]


def test_a_retract_while_sends_are_on_the_wire_deletes_each_post_as_soon_as_it_lands(
    client, city, sandbox, worker_factory, fast_settings, sign_in
):
    base, platforms = sandbox
    channels = sandbox_channels(client, city, base)
    httpx.post(f"{base}/_sandbox/faults", json={"x": {"latency_ms": 2000}, "mastodon": {"latency_ms": 2000}}).raise_for_status()
    a = create_approved(client, city, channels=list(channels.values()))
    worker_factory(settings=fast_settings.model_copy(update={"publish_timeout_seconds": 15})).start()
    # Both sends are on the wire: the platforms have the requests and answer in 2 s.
    wait_for(lambda: all(requests_to(base, p, "POST") for p in channels), timeout=10)
    r = client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth)
    assert r.status_code == 202 and r.json()["state"] == "retracted"

    def all_taken_back():
        got = state_of(client, city, a["id"])
        return got if {d["status"] for d in got["deliveries"]} == {"retracted"} else None

    got = wait_for(all_taken_back, timeout=15)
    for delivery in got["deliveries"]:
        create_at = datetime.fromisoformat(requests_to(base, delivery["platform"], "POST")[0]["at"])
        delete_at = datetime.fromisoformat(requests_to(base, delivery["platform"], "DELETE")[0]["at"])
        # As soon as it landed: the create took its 2 s, and the delete followed at once.
        assert (delete_at - create_at).total_seconds() < 2 + 1
        platform = delivery["platform"]
        assert delivery["retracted_at"] and datetime.fromisoformat(delivery["retracted_at"]).utcoffset() is not None
        deletes = requests_to(base, platform, "DELETE")
        assert [e["path"].rsplit("/", 1)[1] for e in deletes] == [delivery["remote_id"]], platform
        assert deletes[0]["status"] == 200
        assert len(requests_to(base, platform, "POST")) == 1  # posted once, never again
    assert live_posts(platforms.x) == [] and live_posts(platforms.mastodon) == []
    assert state_of(client, city, a["id"])["state"] == "retracted"
    actions = [e["action"] for e in client.get(f"/api/v1/announcements/{a['id']}/audit", headers=city.approver.auth).json()["items"]]
    assert actions.count("delivery.retracted") == 2
    # The announcement's page shows each delete: where, and when.
    page = sign_in(city.approver).get(f"/staff/announcements/{a['id']}").text
    rows = page[page.index('id="deliveries-heading"'):page.index('id="history-heading"')]
    for platform, name in (("x", "X"), ("mastodon", "Mastodon")):
        delivery = next(d for d in got["deliveries"] if d["platform"] == platform)
        shown = re.search(rf'Deleted from {name} <time datetime="([^"]+)">', rows)
        assert shown and datetime.fromisoformat(shown.group(1)) == datetime.fromisoformat(delivery["retracted_at"])


def test_a_send_that_may_have_posted_is_found_and_deleted_after_a_retract(
    client, city, sandbox, worker_factory, fast_settings, sessions
):
    base, platforms = sandbox
    x = sandbox_channels(client, city, base)["x"]
    # X stores the post and never answers: the worker gives up after 1 s, not knowing.
    httpx.post(f"{base}/_sandbox/faults", json={"x": {"hang_next": 1, "hang_max_s": 60}}).raise_for_status()
    a = create_approved(client, city, channels=[x])
    settings = fast_settings.model_copy(update={"publish_timeout_seconds": 1, "retry_base_seconds": 60,
                                                "retry_max_seconds": 120})
    worker_factory(settings=settings).start()

    def waiting_to_reconcile():
        with sessions() as session:
            d = session.scalar(select(Delivery).where(Delivery.announcement_id == a["id"]))
            return d.status == DeliveryStatus.retrying and d.reconcile

    wait_for(waiting_to_reconcile, timeout=10)
    assert len(live_posts(platforms.x)) == 1  # it did go out
    r = client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth)
    assert r.status_code == 202

    got = wait_for(lambda: (s := state_of(client, city, a["id"]))["deliveries"][0]["status"] == "retracted" and s,
                   timeout=10)
    delivery = got["deliveries"][0]
    assert delivery["retracted_at"] is not None
    assert live_posts(platforms.x) == []
    deletes = requests_to(base, "x", "DELETE")
    assert [e["path"].rsplit("/", 1)[1] for e in deletes] == [delivery["remote_id"]] and deletes[0]["status"] == 200
    assert len(requests_to(base, "x", "POST")) == 1  # looked up, never posted again
    assert any(e["method"] == "GET" and "/tweets" in e["path"] and "/users/" in e["path"]
               for e in httpx.get(f"{base}/_sandbox/requests", params={"platform": "x"}).json()["requests"])


def test_a_delivery_that_may_have_posted_where_nobody_can_look_is_left_for_a_person(
    client, city, receiver, worker_factory, sessions
):
    hook = create_channel(client, city.admin, "webhook", name="Partner hook", settings={"url": receiver.url})
    a = create_approved(client, city, channels=[hook])
    # A send whose outcome nobody could tell: a person was to look.
    with transaction(sessions) as session:
        session.execute(update(Announcement).where(Announcement.id == a["id"]).values(state=State.publishing))
        session.execute(update(Delivery).where(Delivery.announcement_id == a["id"])
                        .values(status=DeliveryStatus.unknown, attempts=3, last_error="gave up after 3 attempts"))
    assert client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth).status_code == 202
    worker_factory().start()

    def left_for_a_person():
        d = state_of(client, city, a["id"])["deliveries"][0]
        return d if d["last_error"] and d["last_error"].startswith("retracted while") else None

    delivery = wait_for(left_for_a_person)
    assert delivery["status"] == "unknown" and delivery["retracted_at"] is None
    assert "cannot be looked up" in delivery["last_error"] and "the receiving system" in delivery["last_error"]
    assert receiver.received == []  # nothing was sent, not even a guess at a retract
    with sessions() as session:
        assert session.scalar(select(Delivery.retract_requested_at)) is None  # the worker is done with it


def test_a_retract_stops_deliveries_that_never_started(client, city, receiver, sessions):
    hook = create_channel(client, city.admin, "webhook", name="Partner hook", settings={"url": receiver.url})
    feed = city.parks_channels[0]
    a = create_approved(client, city, channels=[hook, feed])
    with transaction(sessions) as session:
        session.execute(update(Announcement).where(Announcement.id == a["id"]).values(state=State.publishing))
        session.execute(update(Delivery).where(Delivery.channel_id == feed)
                        .values(status=DeliveryStatus.published, remote_id="feed-1"))
    got = client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth).json()
    by_channel = {d["channel_id"]: d for d in got["deliveries"]}
    assert by_channel[hook]["status"] == "cancelled" and "retracted before" in by_channel[hook]["last_error"]
    assert by_channel[feed]["status"] == "published"  # the worker deletes it next
    with sessions() as session:
        marked = dict(session.execute(select(Delivery.channel_id, Delivery.retract_requested_at)).all())
    assert marked[hook] is None and marked[feed] is not None


def test_a_send_that_fails_after_the_retract_is_stopped_not_retried(client, city, sandbox, worker_factory, fast_settings):
    base, platforms = sandbox
    x = sandbox_channels(client, city, base)["x"]
    httpx.post(f"{base}/_sandbox/faults", json={"x": {"latency_ms": 1500, "fail_next": 1, "fail_status": 503}}).raise_for_status()
    a = create_approved(client, city, channels=[x])
    worker_factory(settings=fast_settings.model_copy(update={"publish_timeout_seconds": 10})).start()
    wait_for(lambda: requests_to(base, "x", "POST"), timeout=10)
    assert client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth).status_code == 202
    delivery = wait_for(lambda: (d := state_of(client, city, a["id"])["deliveries"][0])["status"] == "cancelled" and d,
                        timeout=10)
    assert delivery["last_error"].startswith("announcement retracted before this channel published")
    assert len(requests_to(base, "x", "POST")) == 1 and live_posts(platforms.x) == []


def test_a_send_whose_worker_died_after_the_retract_is_found_and_deleted(
    client, city, sandbox, worker_factory, fast_settings, sessions
):
    from datetime import timedelta

    from civicpost.db import utcnow
    from civicpost.engine import claims, guard
    from civicpost.platforms import build_adapter

    base, platforms = sandbox
    x = sandbox_channels(client, city, base)["x"]
    a = create_approved(client, city, channels=[x])
    # A worker claims the delivery, its post reaches X, and the worker dies before recording it.
    with transaction(sessions) as session:
        job = claims.claim_due(session, owner="dead-worker", now=utcnow(), limit=10, lease_seconds=60)[0]
    with sessions() as session:
        prepared = guard.prepare(session, job, owner="dead-worker", settings=fast_settings)
        credentials = {"consumer_key": "k", "consumer_secret": "s", "access_token": "t", "access_token_secret": "ts"}
        build_adapter("x", credentials, {"api_base": f"{base}/x"}, timeout=5, allow_private_network=True).publish(prepared.outgoing)
    assert len(live_posts(platforms.x)) == 1
    assert client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth).status_code == 202
    with transaction(sessions) as session:
        session.execute(update(Delivery).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    worker_factory().start()
    delivery = wait_for(lambda: (d := state_of(client, city, a["id"])["deliveries"][0])["status"] == "retracted" and d,
                        timeout=10)
    assert delivery["retracted_at"] and live_posts(platforms.x) == []
    assert len(requests_to(base, "x", "POST")) == 1 and len(requests_to(base, "x", "DELETE")) == 1


def test_a_post_that_cannot_be_deleted_for_want_of_credentials_is_tried_again_once_they_are_fixed(
    client, city, sandbox, worker_factory, fast_settings, sessions
):
    base, platforms = sandbox
    x = sandbox_channels(client, city, base)["x"]
    a = create_approved(client, city, channels=[x])
    worker = worker_factory(settings=fast_settings.model_copy(update={"retry_max_seconds": 3600}))
    worker.start()
    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    good = {"consumer_key": "k", "consumer_secret": "s", "access_token": "t", "access_token_secret": "ts"}
    client.put(f"/api/v1/channels/{x}/credentials", headers=city.admin.auth,
               json={"credentials": {**good, "access_token": "bad"}}).raise_for_status()
    client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth).raise_for_status()
    delivery = wait_for(lambda: (d := state_of(client, city, a["id"])["deliveries"][0])["last_error"] and d)
    assert delivery["status"] == "published" and "fix the channel's credentials" in delivery["last_error"]
    assert len(live_posts(platforms.x)) == 1
    channel = client.get(f"/api/v1/channels/{x}", headers=city.admin.auth).json()
    assert channel["health"]["status"] == "needs_attention"
    # Someone fixes the channel; the next try (brought forward here) deletes the post.
    client.put(f"/api/v1/channels/{x}/credentials", headers=city.admin.auth, json={"credentials": good}).raise_for_status()
    with transaction(sessions) as session:
        session.execute(update(Delivery).values(next_attempt_at=Delivery.created_at))
    worker.wake()
    wait_for(lambda: state_of(client, city, a["id"])["deliveries"][0]["status"] == "retracted")
    assert live_posts(platforms.x) == []
