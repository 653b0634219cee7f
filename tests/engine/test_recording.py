"""Recording writes a decision only for a delivery still leased to the worker that sent it."""

from sqlalchemy import func, select, update

from civicpost.db import transaction, utcnow
from civicpost.engine import claims, guard
from civicpost.engine.guard import Send
from civicpost.engine.outcomes import Published
from civicpost.engine.recording import Batch
from civicpost.models import AuditEvent, Channel, Delivery, DeliveryStatus
from civicpost.platforms import RateLimited, Receipt
from tests.engine.observing import hook_channel
from tests.factories import create_approved


def claimed_send(sessions, settings, *, owner: str) -> Send:
    with transaction(sessions) as session:
        (job,) = claims.claim_due(session, owner=owner, now=utcnow(), limit=5, lease_seconds=60)
    with sessions() as session:
        send = guard.prepare(session, job, owner=owner, settings=settings)
    assert isinstance(send, Send)
    return send


def record(sessions, settings, send: Send, happened, *, owner: str) -> bool:
    with transaction(sessions) as session:
        batch = Batch(session, owner=owner, delivery_ids=[send.delivery.id])
        batch.record(send, happened, settings=settings)
        return batch.write()


def published_events(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).where(AuditEvent.action == "delivery.published"))


def test_a_published_outcome_is_written_with_its_audit_event_and_settles_the_announcement(
    client, city, receiver, sessions, fast_settings
):
    a = create_approved(client, city, channels=[hook_channel(client, city, receiver)])
    send = claimed_send(sessions, fast_settings, owner="w1")
    assert not record(sessions, fast_settings, send, Published(Receipt("hook-1", "https://hooks.example/1")), owner="w1")
    with sessions() as session:
        delivery = session.get(Delivery, send.delivery.id)
        assert delivery.status == DeliveryStatus.published and delivery.lease_owner is None
        assert delivery.remote_url == "https://hooks.example/1"
    assert published_events(sessions) == 1
    assert client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["state"] == "published"


def test_an_outcome_for_a_lease_another_worker_took_is_not_written_but_the_channels_pause_is(
    client, city, receiver, sessions, fast_settings
):
    create_approved(client, city, channels=[hook_channel(client, city, receiver)])
    send = claimed_send(sessions, fast_settings, owner="w1")
    # The lease ran out and another worker claimed the delivery to reconcile it.
    with transaction(sessions) as session:
        session.execute(update(Delivery).values(lease_owner="w2"))
    record(sessions, fast_settings, send, Published(Receipt("hook-1")), owner="w1")
    record(sessions, fast_settings, send, RateLimited("slow down", retry_after=60), owner="w1")
    with sessions() as session:
        delivery = session.get(Delivery, send.delivery.id)
        assert delivery.status == DeliveryStatus.sending and delivery.lease_owner == "w2"
        assert delivery.remote_id is None and delivery.last_error is None
        assert session.get(Channel, send.channel.id).paused_until is not None
    assert published_events(sessions) == 0
