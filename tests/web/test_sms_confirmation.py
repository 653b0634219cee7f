"""SMS double opt-in: confirming a sign-up by its mailed link (a real SMTP server receives it) texts the number
given with it once, through the sandbox's Twilio-compatible Messages API; YES at /hooks/sms confirms the number."""

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import update

from civicpost.db import transaction, utcnow
from civicpost.models import Subscriber
from civicpost.sandbox.app import create_sandbox_app
from civicpost.sandbox.testing import running_sandbox
from civicpost.sms.signature import sign
from civicpost.subscribers import recipients
from civicpost.subscribers.crypto import SubscriberBox
from civicpost.web import create_app
from tests.factories import create_department
from tests.platforms.servers import SmtpServer, running_smtp_server

SID, TOKEN, PHONE = "AC" + "2" * 32, "sms-token-for-tests", "+15550104477"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def sandbox() -> Iterator[tuple[str, list]]:
    app = create_sandbox_app()
    with running_sandbox(app=app) as url:
        yield url, app.state.sandbox.fakes["sms"].messages


def city_settings(settings, smtp: SmtpServer, sandbox_url: str, **more):
    return settings.model_copy(update={
        "smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_starttls": False, "smtp_from": "news@city.example",
        "base_url": "https://city.example", "city_name": "City of Springfield",
        "subscribe_sms_number": "+1 555 010 2000", "subscribe_phone_prefix": "+1",
        "sms_account_sid": SID, "sms_auth_token": SecretStr(TOKEN), "sms_from": "+15550102000",
        "sms_api_base": f"{sandbox_url}/sms", **more})


@pytest.fixture
def texting(settings, smtp, sandbox, engine, sessions) -> Iterator[TestClient]:
    create_department(sessions, "parks", "Parks and Recreation")
    create_department(sessions, "water", "Water Department")
    with TestClient(create_app(city_settings(settings, smtp, sandbox[0]), engine=engine),
                    headers={"Accept": "text/html"}) as client:
        yield client


def confirm_link(smtp: SmtpServer, index: int = -1) -> str:
    body = message_from_bytes(smtp.behaviour.messages[index].content).get_payload(decode=True).decode()
    found = re.search(r"https://city\.example(/subscribe/confirm/\S+)", body)
    assert found, body
    return found[1]


def sign_up_and_confirm(client: TestClient, smtp: SmtpServer, *, phone: str = PHONE,
                        topics: tuple[str, ...] = ("parks", "water")) -> str:
    r = client.post("/subscribe", data={"email": "resident@example.org", "phone": phone, "topics": list(topics),
                                        "consent": "yes"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    confirmed = client.post(confirm_link(smtp))
    assert confirmed.status_code == 200
    return confirmed.text


def reply(client: TestClient, body: str, *, sender: str = PHONE):
    fields = {"MessageSid": "SM" + "0" * 32, "AccountSid": SID, "From": sender, "To": "+15550102000", "Body": body}
    return client.post("/hooks/sms", data=fields,
                       headers={"X-Twilio-Signature": sign(TOKEN, "https://city.example/hooks/sms", fields.items())})


def test_confirming_the_address_texts_the_number_once_and_yes_confirms_it(texting, smtp, sandbox, sessions,
                                                                          settings, caplog):
    messages = sandbox[1]
    caplog.set_level(logging.DEBUG)
    page = sign_up_and_confirm(texting, smtp)
    assert "reply YES to that text" in page

    [text] = messages
    assert text["To"] == PHONE
    assert text["Body"] == ("City of Springfield alerts: reply YES to get texts for Parks and Recreation, "
                            "Water Department. Reply STOP to end. Msg&data rates may apply.")
    box = SubscriberBox(settings.fernet_key())
    with transaction(sessions) as session:
        [one] = recipients.confirmed_recipients(session, box, [1])
        assert (one.email, one.phone) == ("resident@example.org", None)

    assert "get the city's texts" in reply(texting, "yes").text
    with transaction(sessions) as session:
        [one] = recipients.confirmed_recipients(session, box, [1])
        assert one.phone == PHONE
    assert PHONE not in caplog.text and PHONE[-7:] not in caplog.text


def test_the_confirmation_text_never_goes_twice_within_ten_minutes_nor_to_a_confirmed_number(
        texting, smtp, sandbox, sessions):
    messages = sandbox[1]
    sign_up_and_confirm(texting, smtp)
    assert texting.post(confirm_link(smtp)).status_code == 200  # the same button pressed again
    assert len(messages) == 1
    with transaction(sessions) as session:
        session.execute(update(Subscriber).values(sms_confirmation_sent_at=utcnow() - timedelta(minutes=11)))
    texting.post(confirm_link(smtp))
    assert len(messages) == 2

    reply(texting, "START")
    with transaction(sessions) as session:
        session.execute(update(Subscriber).values(sms_confirmation_sent_at=None))
    texting.post(confirm_link(smtp))
    assert len(messages) == 2


def test_a_number_that_texted_stop_is_not_asked_again(texting, smtp, sandbox, sessions):
    messages = sandbox[1]
    sign_up_and_confirm(texting, smtp)
    reply(texting, "STOP")
    with transaction(sessions) as session:
        session.execute(update(Subscriber).values(sms_confirmation_sent_at=None))
    texting.post(confirm_link(smtp))
    assert len(messages) == 1


def test_an_address_alone_is_confirmed_without_any_text(texting, smtp, sandbox):
    r = texting.post("/subscribe", data={"email": "resident@example.org", "topics": ["parks"], "consent": "yes"},
                     follow_redirects=False)
    assert r.status_code == 303
    page = texting.post(confirm_link(smtp))
    assert page.status_code == 200 and "reply YES" not in page.text
    assert sandbox[1] == []


def test_many_topics_are_counted_not_named_so_the_text_stays_short(texting, smtp, sandbox, sessions):
    for n in range(6):
        create_department(sessions, f"dept{n}", f"Department of Long Names Number {n}")
    sign_up_and_confirm(texting, smtp, topics=tuple(f"dept{n}" for n in range(6)))
    [text] = sandbox[1]
    assert "reply YES to get texts for the 6 topics you chose." in text["Body"]


def test_a_refusing_provider_is_logged_without_the_number_and_the_confirmation_still_stands(
        settings, smtp, sandbox, engine, sessions, caplog):
    create_department(sessions, "parks", "Parks and Recreation")
    refused = city_settings(settings, smtp, sandbox[0], sms_auth_token=SecretStr("bad"))
    caplog.set_level(logging.INFO)
    with TestClient(create_app(refused, engine=engine), headers={"Accept": "text/html"}) as client:
        sign_up_and_confirm(client, smtp, topics=("parks",))
    assert sandbox[1] == []
    assert "confirmation text of subscriber" in caplog.text and "refused (HTTP 401)" in caplog.text
    assert PHONE not in caplog.text
    with transaction(sessions) as session:
        [subscriber] = session.query(Subscriber).all()
        assert subscriber.email_confirmed_at is not None and subscriber.phone_confirmed_at is None


def test_confirmation_texts_to_one_number_are_throttled_as_sign_ups_are(texting, smtp, sandbox, sessions):
    messages = sandbox[1]
    sign_up_and_confirm(texting, smtp)
    for _ in range(6):
        with transaction(sessions) as session:
            session.execute(update(Subscriber).values(sms_confirmation_sent_at=utcnow() - timedelta(minutes=11)))
        assert texting.post(confirm_link(smtp)).status_code == 200
    # The sign-up and the first texts are free; then the number waits (5 s, doubling), so the rest go nowhere.
    assert 2 <= len(messages) <= 3
