import socket
import time

import pytest

from civicpost.platforms import CredentialsError, PermanentError, RateLimited, TransientError
from civicpost.platforms.webhook.adapter import WebhookAdapter
from tests.factories import OUTGOING_KEY as KEY
from tests.factories import make_outgoing

from .servers import WEBHOOK_SECRET, Receiver

PAYLOAD = '{"title": "Pools open", "body": "Saturday at 10am", "department": "Parks"}'


def adapter(receiver: Receiver, secret: str = WEBHOOK_SECRET) -> WebhookAdapter:
    return WebhookAdapter({"secret": secret}, {"url": receiver.url}, timeout=5)


def test_the_receiver_gets_the_json_signed_with_the_channel_secret(webhook_receiver: Receiver) -> None:
    receipt = adapter(webhook_receiver).publish(make_outgoing(text=PAYLOAD))

    (delivery,) = webhook_receiver.received
    assert delivery["valid"]
    assert delivery["json"] == {"title": "Pools open", "body": "Saturday at 10am", "department": "Parks"}
    assert delivery["headers"]["Idempotency-Key"] == KEY
    assert delivery["headers"]["X-Civicpost-Event"] == "publish"
    assert abs(int(delivery["headers"]["X-Civicpost-Timestamp"]) - time.time()) < 60
    assert receipt.remote_id == "hook-42"


def test_rendered_json_in_extra_is_sent_as_is(webhook_receiver: Receiver) -> None:
    adapter(webhook_receiver).publish(make_outgoing(text="not json", extra={"json": {"title": "Pools open", "emoji": "🏊"}}))

    assert webhook_receiver.received[0]["json"] == {"title": "Pools open", "emoji": "🏊"}


def test_text_that_is_not_json_is_refused_before_sending(webhook_receiver: Receiver) -> None:
    with pytest.raises(PermanentError):
        adapter(webhook_receiver).publish(make_outgoing(text="Pools open"))
    assert webhook_receiver.received == []


def test_a_receiver_answer_without_an_id_leaves_the_delivery_key_as_the_id(webhook_receiver: Receiver) -> None:
    webhook_receiver.reply = (204, {}, b"")

    assert adapter(webhook_receiver).publish(make_outgoing(text=PAYLOAD)).remote_id == KEY


def test_retry_after_is_honoured_on_429_and_503(webhook_receiver: Receiver) -> None:
    webhook_receiver.reply = (429, {"Retry-After": "120"}, b"{}")
    with pytest.raises(RateLimited) as limited:
        adapter(webhook_receiver).publish(make_outgoing(text=PAYLOAD))
    assert limited.value.retry_after == 120

    webhook_receiver.reply = (503, {"Retry-After": "30"}, b"{}")
    with pytest.raises(TransientError) as unavailable:
        adapter(webhook_receiver).publish(make_outgoing(text=PAYLOAD))
    assert unavailable.value.retry_after == 30


def test_a_receiver_rejecting_the_signature_is_a_credentials_error(webhook_receiver: Receiver) -> None:
    with pytest.raises(CredentialsError):
        adapter(webhook_receiver, secret="not-the-secret").publish(make_outgoing(text=PAYLOAD))
    assert webhook_receiver.received[0]["valid"] is False


def test_retract_sends_a_signed_retract_event_and_accepts_gone(webhook_receiver: Receiver) -> None:
    webhook_receiver.reply = (410, {}, b"{}")

    adapter(webhook_receiver).delete("hook-42")

    (event,) = webhook_receiver.received
    assert event["valid"] and event["json"] == {"event": "retract", "id": "hook-42"}
    assert event["headers"]["X-Civicpost-Event"] == "retract"


def test_an_unreachable_receiver_is_transient_because_the_idempotency_key_makes_a_resend_safe(webhook_receiver: Receiver) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
    with pytest.raises(TransientError):
        WebhookAdapter({"secret": WEBHOOK_SECRET}, {"url": url}, timeout=5).publish(make_outgoing(text=PAYLOAD))


def test_the_signature_covers_the_timestamp_so_a_replayed_request_cannot_be_re_dated() -> None:
    from civicpost.platforms.webhook.adapter import signature

    body = b'{"title":"Pools open"}'
    assert signature(WEBHOOK_SECRET, "1700000000", body) != signature(WEBHOOK_SECRET, "1700000300", body)
    assert signature(WEBHOOK_SECRET, "1700000000", body) != signature("another-secret", "1700000000", body)
