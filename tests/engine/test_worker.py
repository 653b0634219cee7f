"""The worker publishes approved deliveries, retries, fails clearly, and never doubles."""

from datetime import timedelta

from sqlalchemy import select, update

from civicpost.db import transaction, utcnow
from civicpost.engine import claims, guard
from civicpost.engine.guard import Send, Stop
from civicpost.engine.worker import Worker
from civicpost.models import Announcement, Channel, Delivery, State
from tests.engine.observing import hook_channel, state_of, wait_for
from tests.factories import create_approved


def test_an_approved_announcement_is_published_once_on_every_channel(client, city, receiver, worker_factory):
    hook = hook_channel(client, city, receiver)
    feed = city.parks_channels[0]
    a = create_approved(client, city, channels=[feed, hook])
    worker_factory().start()

    def published():
        got = state_of(client, city, a["id"])
        return got if got["state"] == "published" else None

    got = wait_for(published)
    by_channel = {d["channel_id"]: d for d in got["deliveries"]}
    assert by_channel[hook]["status"] == "published" and by_channel[hook]["remote_id"] == "hook-1"
    assert by_channel[feed]["remote_url"].endswith(f"/announcements/{a['id']}")
    assert len(receiver.published()) == 1
    assert receiver.published()[0].body["title"] == "Pool opens Saturday"
    trail = [e["action"] for e in client.get(f"/api/v1/announcements/{a['id']}/audit", headers=city.approver.auth).json()["items"]]
    assert trail.count("delivery.published") == 2 and trail[-1] == "published"


def test_a_server_error_is_retried_with_backoff_and_then_succeeds(client, city, receiver, worker_factory):
    receiver.script = [(503, {}, 0), (500, {}, 0)]
    hook = hook_channel(client, city, receiver)
    a = create_approved(client, city, channels=[hook])
    worker_factory().start()
    got = wait_for(lambda: (s := state_of(client, city, a["id"]))["state"] == "published" and s)
    assert got["deliveries"][0]["attempts"] == 3
    assert len(receiver.received) == 3
    # Every attempt carried the same idempotency key, so the receiver can tell.
    assert len({r.headers["idempotency-key"] for r in receiver.received}) == 1


def test_a_rate_limit_pauses_that_channel_only(client, city, receiver, worker_factory, sessions):
    receiver.script = [(429, {"Retry-After": "30"}, 0)]
    hook = hook_channel(client, city, receiver)
    feed = city.parks_channels[0]
    a = create_approved(client, city, channels=[feed, hook])
    worker_factory().start()

    def settled():
        got = state_of(client, city, a["id"])
        by = {d["channel_id"]: d["status"] for d in got["deliveries"]}
        return by if by[feed] == "published" and by[hook] == "retrying" else None

    wait_for(settled)
    with sessions() as session:
        channel = session.get(Channel, hook)
        assert channel.paused_until is not None and channel.paused_until > utcnow() + timedelta(seconds=20)
        delivery = session.scalar(select(Delivery).where(Delivery.channel_id == hook))
        assert delivery.attempts == 0 and "rate limited" in delivery.last_error
        assert session.get(Channel, feed).paused_until is None


def test_a_permanent_refusal_fails_with_the_platforms_words_and_a_person_can_retry(client, city, receiver, worker_factory):
    receiver.script = [(400, {}, 0)]
    hook = hook_channel(client, city, receiver)
    a = create_approved(client, city, channels=[hook])
    worker_factory().start()
    got = wait_for(lambda: (s := state_of(client, city, a["id"]))["state"] == "failed" and s)
    delivery = got["deliveries"][0]
    assert delivery["status"] == "failed" and "400" in delivery["last_error"]
    assert client.post(f"/api/v1/deliveries/{delivery['id']}/retry", headers=city.parks_staff.auth).status_code == 403
    r = client.post(f"/api/v1/deliveries/{delivery['id']}/retry", headers=city.approver.auth)
    assert r.status_code == 200 and r.json()["status"] == "pending"
    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    assert client.post(f"/api/v1/deliveries/{delivery['id']}/retry", headers=city.approver.auth).status_code == 409


def test_wrong_credentials_fail_the_delivery_and_mark_the_channel(client, city, receiver, worker_factory):
    receiver.secret = "not-what-the-receiver-expects"
    hook = hook_channel(client, city, receiver)
    receiver.secret = "hook-secret-value"
    client.put(f"/api/v1/channels/{hook}/credentials", headers=city.admin.auth, json={"credentials": {"secret": "wrong-secret"}})
    a = create_approved(client, city, channels=[hook])
    worker_factory().start()
    wait_for(lambda: state_of(client, city, a["id"])["state"] == "failed")
    channel = client.get(f"/api/v1/channels/{hook}", headers=city.admin.auth).json()
    assert channel["health"]["status"] == "needs_attention"
    assert channel["health"]["last_error"]


def test_a_cancelled_announcement_never_publishes_even_after_a_worker_claimed_it(client, city, receiver, fast_settings, sessions, engine):
    hook = hook_channel(client, city, receiver)
    a = create_approved(client, city, channels=[hook])
    worker = Worker(fast_settings, engine=engine, concurrency=1)
    with transaction(worker.write_sessions) as session:
        jobs = claims.claim_due(session, owner=worker.name, now=utcnow(), limit=10, lease_seconds=60)
    assert len(jobs) == 1
    # The approver cancels while the claim is held (the announcement is now publishing).
    with sessions.begin() as session:
        session.execute(update(Announcement).where(Announcement.id == a["id"]).values(state=State.cancelled))
    worker.process(jobs[0])
    assert receiver.received == []
    with sessions() as session:
        delivery = session.get(Delivery, jobs[0].delivery_id)
        assert delivery.status == "cancelled" and "stopped before sending" in delivery.last_error


def test_the_guard_read_for_a_whole_claim_stops_only_the_cancelled_announcement(client, city, receiver, fast_settings, sessions, engine):
    from civicpost.models import Announcement, State
    hook = hook_channel(client, city, receiver)
    kept = create_approved(client, city, channels=[hook], title="Pool opens Saturday")
    dropped = create_approved(client, city, channels=[hook], title="Pool opens Sunday")
    worker = Worker(fast_settings, engine=engine, concurrency=4)
    with transaction(worker.write_sessions) as session:
        jobs = claims.claim_due(session, owner=worker.name, now=utcnow(), limit=10, lease_seconds=60)
    with sessions.begin() as session:
        session.execute(update(Announcement).where(Announcement.id == dropped["id"]).values(state=State.cancelled))
    with transaction(worker.sessions) as session:
        ready = guard.prepare_all(session, jobs, owner=worker.name, settings=fast_settings)
    live = [r for r in ready if isinstance(r, Send)]
    assert [r.delivery.announcement_id for r in ready if isinstance(r, Stop)] == [dropped["id"]]
    assert [(r.delivery.announcement_id, r.outgoing.title) for r in live] == [(kept["id"], "Pool opens Saturday")]
    for job, prepared in zip(jobs, ready):
        worker.process(job, prepared)
    assert [r.body["title"] for r in receiver.published()] == ["Pool opens Saturday"]


def test_an_edit_after_claim_stops_the_old_content_from_going_out(client, city, receiver, fast_settings, sessions, engine):
    hook = hook_channel(client, city, receiver)
    a = create_approved(client, city, channels=[hook])
    worker = Worker(fast_settings, engine=engine, concurrency=1)
    with transaction(worker.write_sessions) as session:
        jobs = claims.claim_due(session, owner=worker.name, now=utcnow(), limit=10, lease_seconds=60)
    # Claiming bumped the version; an edit now is refused rather than racing the send.
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth, json={"body": "Changed"})
    assert r.status_code == 409
    worker.process(jobs[0])
    assert len(receiver.published()) == 1


def test_a_delivery_whose_worker_died_is_reconciled_before_any_resend(client, city, receiver, worker_factory, sessions, engine):
    hook = hook_channel(client, city, receiver)
    a = create_approved(client, city, channels=[hook])
    # A worker claimed it and died: its lease has run out.
    with transaction(sessions) as session:
        jobs = claims.claim_due(session, owner="dead-worker", now=utcnow(), limit=10, lease_seconds=60)
        session.execute(update(Delivery).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert jobs
    worker_factory().start()
    got = wait_for(lambda: (s := state_of(client, city, a["id"]))["state"] == "published" and s)
    # The webhook cannot be asked, so it is re-sent with the same Idempotency-Key.
    keys = {r.headers["idempotency-key"] for r in receiver.received}
    assert len(keys) == 1 and got["deliveries"][0]["attempts"] == 2


def test_an_interrupted_email_becomes_unknown_for_a_person(client, city, worker_factory, sessions):
    r = client.post(
        "/api/v1/channels", headers=city.admin.auth,
        json={"department": "parks", "platform": "email", "name": "Parks list",
              "settings": {"smtp_host": "127.0.0.1", "smtp_port": 9, "from": "parks@city.example", "to": ["list@city.example"]}},
    )
    email = r.json()["id"]
    a = create_approved(client, city, channels=[email])
    with transaction(sessions) as session:
        claims.claim_due(session, owner="dead-worker", now=utcnow(), limit=10, lease_seconds=60)
        session.execute(update(Delivery).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    worker_factory().start()
    got = wait_for(lambda: (s := state_of(client, city, a["id"]))["deliveries"][0]["status"] == "unknown" and s)
    assert "cannot be looked up" in got["deliveries"][0]["last_error"]
    assert got["state"] == "publishing"


def test_retract_deletes_each_post_and_keeps_the_record(client, city, receiver, worker_factory):
    hook = hook_channel(client, city, receiver)
    a = create_approved(client, city, channels=[hook, city.parks_channels[0]])
    worker_factory().start()
    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    r = client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth)
    assert r.status_code == 202 and r.json()["state"] == "retracted"
    got = wait_for(lambda: (s := state_of(client, city, a["id"])) and {d["status"] for d in s["deliveries"]} == {"retracted"} and s)
    retracts = [x for x in receiver.received if x.headers.get("x-civicpost-event") == "retract"]
    assert len(retracts) == 1 and retracts[0].body["id"] == "hook-1"
    assert all(d["remote_id"] for d in got["deliveries"])


def test_sigterm_style_stop_releases_claims_that_never_started(client, city, receiver, worker_factory, sessions):
    receiver.script = [(200, {}, 1.0)]  # the first send takes a second
    hook = hook_channel(client, city, receiver)
    create_approved(client, city, channels=[hook], title="Pool opens Saturday")
    create_approved(client, city, channels=[hook], title="Pool opens Sunday")
    worker = worker_factory(concurrency=1)
    worker.start()
    # One send on the wire; the other claimed with it, waiting for the only send thread.
    wait_for(lambda: receiver.received)
    worker.stop(timeout=10)
    with sessions() as session:
        deliveries = session.scalars(select(Delivery).order_by(Delivery.id)).all()
    sent, waiting = deliveries
    assert sent.status == "published" and sent.attempts == 1
    assert waiting.status == "pending" and waiting.lease_owner is None and waiting.attempts == 0
    assert len(receiver.received) == 1


def test_readyz_reports_no_worker_then_a_running_one_then_a_silent_one(client, city, worker_factory, sessions):
    r = client.get("/readyz")
    assert r.status_code == 503 and "no worker is running" in r.json()["problems"][0]
    worker = worker_factory()
    worker.start()
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["workers"] == [worker.name]
    # The worker goes silent (a hung process): its last check-in ages past the limit.
    from civicpost.models import WorkerHeartbeat

    worker.scheduler.pause()
    # One UPDATE, no read first: on SQLite a read-then-write transaction fails
    # at once ("database is locked") if the running worker wrote in between.
    with transaction(sessions) as session:
        session.execute(
            update(WorkerHeartbeat)
            .where(WorkerHeartbeat.name == worker.name)
            .values(last_seen_at=utcnow() - timedelta(minutes=5))
        )
    r = client.get("/readyz")
    assert r.status_code == 503 and worker.name in r.json()["problems"][0]


def test_metrics_count_deliveries_by_status_and_report_lag(client, city, receiver, worker_factory):
    hook = hook_channel(client, city, receiver)
    a = create_approved(client, city, channels=[hook, city.parks_channels[0]])
    text = client.get("/metrics").text
    assert 'civicpost_deliveries{status="pending"} 2.0' in text
    worker_factory().start()
    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    text = client.get("/metrics").text
    assert 'civicpost_deliveries{status="published"} 2.0' in text
    assert 'civicpost_delivery_lag_seconds{quantile="0.99"}' in text
    assert 'civicpost_publish_seconds_count{outcome="published",platform="webhook"}' in text
