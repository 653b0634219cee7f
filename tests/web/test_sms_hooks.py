"""`/hooks/sms`: STOP, START and HELP from residents' phones, signed by the SMS provider."""

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from civicpost.db import transaction
from civicpost.models import Subscriber, SubscriberConsent
from civicpost.sms.signature import sign
from civicpost.subscribers.crypto import SubscriberBox
from civicpost.web import create_app

TOKEN = "provider-auth-token-for-tests"
URL = "http://127.0.0.1:8000/hooks/sms"
PHONE = "+15550104477"


@pytest.fixture
def sms(settings, engine) -> Iterator[TestClient]:
    chosen = settings.model_copy(update={"sms_account_sid": "AC123", "sms_auth_token": SecretStr(TOKEN)})
    with TestClient(create_app(chosen, engine=engine)) as client:
        yield client


@pytest.fixture
def resident(sessions, settings) -> int:
    box = SubscriberBox(settings.fernet_key())
    with transaction(sessions) as session:
        subscriber = Subscriber(phone_encrypted=box.seal(PHONE), phone_digest=box.digest(PHONE),
                                phone_confirmed_at=datetime.now(UTC), link_nonce=secrets.token_hex(16))
        session.add(subscriber)
        session.flush()
        return subscriber.id


def text(client: TestClient, body: str, *, sender: str = PHONE, token: str = TOKEN, **extra: str):
    fields = {"MessageSid": "SM" + "0" * 32, "AccountSid": "AC123", "From": sender, "To": "+15550009999",
              "Body": body, **extra}
    return client.post("/hooks/sms", data=fields,
                       headers={"X-Twilio-Signature": sign(token, URL, fields.items())})


def test_stop_ends_texts_to_the_number_and_start_brings_them_back_with_consent_kept(sms, sessions, resident):
    stopped = text(sms, "stop")
    assert stopped.status_code == 200 and stopped.headers["content-type"].startswith("text/xml")
    assert "no more texts" in stopped.text and "<Response><Message>" in stopped.text
    with transaction(sessions) as session:
        assert session.get(Subscriber, resident).sms_stopped_at is not None
    started = text(sms, "START")
    assert "Reply STOP" in started.text
    with transaction(sessions) as session:
        assert session.get(Subscriber, resident).sms_stopped_at is None
        actions = list(session.scalars(select(SubscriberConsent.action).order_by(SubscriberConsent.id)))
        assert actions == ["stop", "start"]


def test_help_answers_with_the_residents_own_link_to_change_topics(sms, resident):
    answer = text(sms, "Help please")
    assert answer.status_code == 200
    assert f"/subscriptions/{resident}." in answer.text and "reply STOP" in answer.text


def test_a_number_nobody_subscribed_gets_an_answer_and_nothing_changes(sms, sessions):
    answer = text(sms, "STOP", sender="+15550100000")
    assert answer.status_code == 200 and "no more texts" in answer.text
    with transaction(sessions) as session:
        assert session.scalars(select(SubscriberConsent)).all() == []


@pytest.mark.parametrize("token", ["someone-elses-token", ""])
def test_a_request_not_signed_with_the_citys_token_is_refused_and_changes_nothing(sms, sessions, resident, token):
    answer = text(sms, "STOP", token=token) if token else sms.post("/hooks/sms", data={"From": PHONE, "Body": "STOP"})
    assert answer.status_code == 403 and "X-Twilio-Signature" in answer.json()["detail"]
    with transaction(sessions) as session:
        assert session.get(Subscriber, resident).sms_stopped_at is None


def test_a_signed_request_whose_fields_were_changed_is_refused(sms, resident):
    fields = {"From": PHONE, "Body": "START"}
    signature = sign(TOKEN, URL, fields.items())
    answer = sms.post("/hooks/sms", data={**fields, "Body": "STOP"}, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 403


@pytest.mark.parametrize("sender", ["", "not a number", "+1555٣٣٣٣٣٣٣", "+1" + "5" * 60])
def test_a_sender_that_is_not_a_phone_number_is_a_clear_422(sms, sender):
    answer = text(sms, "STOP", sender=sender)
    assert answer.status_code == 422 and "international form" in answer.json()["detail"]


def test_a_body_too_long_for_any_text_is_refused(sms):
    answer = text(sms, "STOP " + "x" * 2000)
    assert answer.status_code == 422 and "1600" in answer.json()["detail"]


def test_without_an_sms_account_the_hook_is_not_there(client):
    answer = client.post("/hooks/sms", data={"From": PHONE, "Body": "STOP"})
    assert answer.status_code == 404 and "CIVICPOST_SMS_AUTH_TOKEN" in answer.json()["detail"]
