"""Residents subscribe through /subscribe: double opt-in by a signed link (a real SMTP server receives it),
a confirm button (a GET changes nothing), the manage page, one-click unsubscribe (RFC 8058), forget me;
every bad input answered with what to fix, and nothing revealing whether an address is subscribed."""

import re
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from civicpost.db import transaction, utcnow
from civicpost.models import Subscriber, SubscriberConsent, Subscription
from civicpost.subscribers import recipients
from civicpost.subscribers.crypto import SubscriberBox
from tests.factories import create_department
from tests.platforms.servers import SmtpServer, running_smtp_server

HTML = {"Accept": "text/html"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def residents(settings, smtp, engine, sessions) -> Iterator[TestClient]:
    """The public site with a mail server; two departments (and so two topics)."""
    from civicpost.web import create_app

    mailing = settings.model_copy(update={"smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_starttls": False,
                                          "smtp_from": "news@city.example", "base_url": "https://city.example"})
    create_department(sessions, "parks", "Parks and Recreation")
    create_department(sessions, "water", "Water Department")
    with TestClient(create_app(mailing, engine=engine), headers=HTML) as client:
        yield client


def mails(smtp: SmtpServer) -> list[Message]:
    return [message_from_bytes(e.content) for e in smtp.behaviour.messages]


def link(message: Message, kind: str) -> str:
    body = message.get_payload(decode=True).decode()
    found = re.search(rf"https://city\.example(/{kind}/\S+)", body)
    assert found, body
    return found[1]


def sign_up(client, email="resident@example.org", topics=("parks",), consent="yes", **more):
    return client.post("/subscribe", data={"email": email, "topics": list(topics), "consent": consent, **more},
                       follow_redirects=False)


def test_the_form_offers_every_topic_and_a_consent_box(residents):
    page = residents.get("/subscribe").text
    assert '<input type="email" name="email"' in page
    assert 'name="topics" value="parks"' in page and 'name="topics" value="water"' in page
    assert 'name="consent"' in page and 'name="phone"' not in page
    chosen = residents.get("/subscribe?topic=water").text
    assert 'value="water" id="topic-water" checked' in chosen and 'value="parks" id="topic-parks" checked' not in chosen


def test_a_sign_up_is_confirmed_by_the_button_behind_the_mailed_link_not_by_opening_it(residents, smtp, sessions,
                                                                                      settings):
    r = sign_up(residents, topics=("parks", "water"))
    assert r.status_code == 303 and r.headers["location"] == "/subscribe/sent?by=email"
    assert "Check your inbox" in residents.get(r.headers["location"]).text
    [message] = mails(smtp)
    assert message["To"] == "resident@example.org"
    assert message["List-Unsubscribe"].startswith("<https://city.example/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    confirm = link(message, "subscribe/confirm")
    box = SubscriberBox(settings.fernet_key())
    page = residents.get(confirm)
    assert page.status_code == 200 and "Confirm my subscription" in page.text
    with transaction(sessions) as session:
        assert list(recipients.confirmed_recipients(session, box, [1, 2])) == []
        assert session.scalar(select(func.count()).select_from(Subscription)) == 0
    done = residents.post(confirm)
    assert done.status_code == 200 and "You are subscribed" in done.text
    with transaction(sessions) as session:
        [one] = recipients.confirmed_recipients(session, box, [1, 2])
        assert one.email == "resident@example.org"
        actions = session.scalars(select(SubscriberConsent.action).order_by(SubscriberConsent.id)).all()
        assert actions == ["subscribe", "confirm"]
        assert session.scalar(select(SubscriberConsent.topics).where(SubscriberConsent.action == "confirm")) \
            == "parks water"


def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(residents, smtp):
    first = sign_up(residents, email="known@example.org")
    residents.post(link(mails(smtp)[0], "subscribe/confirm"))
    again = sign_up(residents, email="known@example.org")
    other = sign_up(residents, email="someone-else@example.org")
    assert (first.status_code, first.headers["location"]) == (again.status_code, again.headers["location"]) \
        == (other.status_code, other.headers["location"])


def test_a_confirmation_mail_never_goes_twice_within_ten_minutes_to_one_address(residents, smtp, sessions):
    sign_up(residents)
    sign_up(residents, topics=("water",))
    assert len(mails(smtp)) == 1
    with transaction(sessions) as session:
        session.execute(update(Subscriber).values(email_confirmation_sent_at=utcnow() - timedelta(minutes=11)))
    sign_up(residents, topics=("water",))
    assert len(mails(smtp)) == 2


def test_a_sign_up_for_a_confirmed_address_changes_nothing_until_its_owner_confirms(residents, smtp, sessions):
    sign_up(residents, topics=("parks",))
    residents.post(link(mails(smtp)[0], "subscribe/confirm"))
    with transaction(sessions) as session:
        session.execute(update(Subscriber).values(email_confirmation_sent_at=None))
    sign_up(residents, topics=("water",))
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 1
    residents.post(link(mails(smtp)[1], "subscribe/confirm"))
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 2


@pytest.mark.parametrize("fields, field, words", [
    ({"email": ""}, "email", "enter an email address"),
    ({"email": "not an address"}, "email", "no spaces"),
    ({"email": "name@"}, "email", "domain name"),
    ({"email": "x" * 300 + "@example.org"}, "email", "at most 254"),
    ({"email": "a\x00b@example.org"}, "email", "control characters"),
    ({"email": "josé@example.org"}, "email", "no accents"),
    ({"topics": ()}, "topics", "choose at least one topic"),
    ({"topics": ("nowhere",)}, "topics", "there is no topic"),
    ({"consent": ""}, "consent", "tick the box"),
])
def test_bad_input_gets_the_form_back_with_what_to_fix(residents, smtp, fields, field, words):
    r = sign_up(residents, **fields)
    assert r.status_code == 422
    assert words in r.text.lower() and 'id="error-summary"' in r.text
    assert f'href="#{field}"' in r.text
    assert mails(smtp) == []


def test_sign_ups_are_throttled_per_address_and_per_client(residents, smtp):
    answers = [sign_up(residents, email="flood@example.org").status_code for _ in range(6)]
    assert answers[:3] == [303, 303, 303] and answers[-1] == 429
    assert len(mails(smtp)) == 1
    r = sign_up(residents, email="flood@example.org")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and "try again in" in r.text
    many = [sign_up(residents, email=f"n{i}@example.org").status_code for i in range(25)]
    assert many[-1] == 429


def test_a_link_that_is_tampered_with_or_expired_leads_nowhere(residents, smtp):
    sign_up(residents)
    confirm = link(mails(smtp)[0], "subscribe/confirm")
    for bad in (confirm[:-2] + ("AA" if not confirm.endswith("AA") else "BB"), confirm.replace("/1.", "/2.", 1),
                "/subscribe/confirm/1.1.1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/subscribe/confirm/" + "9" * 40,
                "/subscribe/confirm/x", "/subscriptions/1.abc", "/subscriptions/999999999999999999." + "A" * 32,
                "/unsubscribe/2147483648." + "A" * 32, "/unsubscribe/99999999999999999999.x"):
        r = residents.get(bad)
        assert r.status_code == 404, bad
        assert "does not work" in r.text
    assert residents.post(confirm[:-2] + "zz").status_code == 404


def test_one_click_unsubscribes_at_once_and_a_get_changes_nothing(residents, smtp, sessions):
    sign_up(residents)
    message = mails(smtp)[0]
    residents.post(link(message, "subscribe/confirm"))
    target = message["List-Unsubscribe"].strip("<>").removeprefix("https://city.example")
    assert "Unsubscribe from everything" in residents.get(target).text
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 1
    assert residents.post(target, data={"something": "else"}).status_code == 400
    mail_program = TestClient(residents.app)
    r = mail_program.post(target, content=b"List-Unsubscribe=One-Click",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and "unsubscribed" in r.text
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 0
        assert session.scalar(select(SubscriberConsent.source).order_by(SubscriberConsent.id.desc()).limit(1)) \
            == "one-click"


def test_the_manage_page_changes_topics_unsubscribes_and_forgets(residents, smtp, sessions, settings):
    sign_up(residents, topics=("parks",))
    message = mails(smtp)[0]
    residents.post(link(message, "subscribe/confirm"))
    manage = link(message, "subscriptions")
    page = residents.get(manage)
    assert "r…t@example.org" in page.text and "resident@example.org" not in page.text
    assert 'value="parks" id="topic-parks" checked' in page.text
    saved = residents.post(manage, data={"action": "save", "topics": ["water"]})
    assert "Saved" in saved.text and 'value="water" id="topic-water" checked' in saved.text
    assert residents.post(manage, data={"action": "save", "topics": ["nope"]}).status_code == 422
    assert residents.post(manage, data={"action": "explode"}).status_code == 422
    refused = residents.post(manage, data={"action": "forget"})
    assert refused.status_code == 422 and "Tick the box" in refused.text
    gone = residents.post(manage, data={"action": "forget", "sure": "yes"})
    assert "Your address is deleted" in gone.text
    box = SubscriberBox(settings.fernet_key())
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 0
        kept = session.scalars(select(SubscriberConsent).order_by(SubscriberConsent.id)).all()
        assert [c.action for c in kept] == ["subscribe", "confirm", "change", "forget"]
        assert all(c.subscriber_id is None and c.email_digest == box.digest("resident@example.org") for c in kept)
    assert residents.get(manage).status_code == 404


@pytest.fixture
def texting(settings, smtp, engine, sessions) -> Iterator[TestClient]:
    """The public site of a city with SMS: /subscribe asks for a mobile number too."""
    from civicpost.web import create_app

    city = settings.model_copy(update={"smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_starttls": False,
                                       "subscribe_sms_number": "+1 555 010 2000", "subscribe_phone_prefix": "+1"})
    create_department(sessions, "parks", "Parks and Recreation")
    with TestClient(create_app(city, engine=engine), headers=HTML) as client:
        yield client


def test_a_number_alone_keeps_its_topics_and_gets_nothing_until_start(texting, smtp, sessions, settings):
    assert 'name="phone"' in texting.get("/subscribe").text
    r = sign_up(texting, email="", phone="(555) 010-4477")
    assert r.status_code == 303 and r.headers["location"] == "/subscribe/sent?by=phone"
    assert "text START to +1 555 010 2000" in texting.get(r.headers["location"]).text.replace("<strong>", "") \
        .replace("</strong>", "")
    assert mails(smtp) == []
    box = SubscriberBox(settings.fernet_key())
    with transaction(sessions) as session:
        assert list(recipients.confirmed_recipients(session, box, [1])) == []
        assert recipients.start_sms(session, box, phone="+15550104477")
    with transaction(sessions) as session:
        [one] = recipients.confirmed_recipients(session, box, [1])
        assert (one.email, one.phone) == (None, "+15550104477")
    again = sign_up(texting, email="", phone="+1 555 010 4477", topics=("parks",))
    assert again.headers["location"] == r.headers["location"]


@pytest.mark.parametrize("phone, words", [("12", "country code"), ("+1 555 abc 4477", "country code"),
                                          ("+" + "9" * 20, "country code"), ("٥٥٥٠١٠٤٤٧٧", "country code")])
def test_a_malformed_number_gets_the_form_back_with_what_to_fix(texting, phone, words):
    r = sign_up(texting, phone=phone)
    assert r.status_code == 422 and words in r.text and 'href="#phone"' in r.text


@pytest.mark.slow
def test_sign_ups_nobody_confirmed_are_swept_but_imports_and_consent_stay(residents, smtp, sessions, database_url,
                                                                          settings):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import TEST_SECRET

    sign_up(residents, email="never@example.org")
    sign_up(residents, email="confirmed@example.org")
    residents.post(link(mails(smtp)[1], "subscribe/confirm"))
    with transaction(sessions) as session:
        session.execute(update(Subscriber).values(created_at=utcnow() - timedelta(days=31)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    env.update(CIVICPOST_DATABASE_URL=database_url, CIVICPOST_SECRET_KEY=TEST_SECRET)
    done = subprocess.run([str(Path(sys.executable).parent / "civicpost"), "subscribers", "sweep", "--days", "30"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and "deleted 1 unconfirmed sign-up older than 30 days" in done.stdout, done.stderr
    box = SubscriberBox(settings.fernet_key())
    with transaction(sessions) as session:
        assert session.scalars(select(Subscriber.email_digest)).all() == [box.digest("confirmed@example.org")]
        kept = session.scalars(select(SubscriberConsent).where(
            SubscriberConsent.email_digest == box.digest("never@example.org"))).all()
        assert [(c.action, c.subscriber_id) for c in kept] == [("subscribe", None)]
