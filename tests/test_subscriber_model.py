"""The people behind the `subscribers` channel: topics per department, sealed addresses, links."""

import time

import pytest
from sqlalchemy import select, text

from civicpost import migrate
from civicpost.db import make_engine, transaction
from civicpost.models import Subscriber, Topic
from civicpost.subscribers import links
from civicpost.subscribers.crypto import SubscriberBox
from tests.factories import create_department

KEY = "k" * 40


def test_every_department_gets_its_topic_however_it_is_made(sessions):
    create_department(sessions, "parks", "Parks and Recreation")
    with transaction(sessions) as session:
        topic = session.scalar(select(Topic).where(Topic.slug == "parks"))
        assert topic is not None and topic.name == "Parks and Recreation" and topic.department_id is not None


def test_migration_gives_departments_that_exist_already_their_topics(tmp_path):
    url = f"sqlite:///{tmp_path / 'before.db'}"
    migrate.upgrade(url, "0027")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO departments (slug, name, created_at) "
                                    "VALUES ('water', 'Water', '2026-01-01 00:00:00')"))
        migrate.upgrade(url)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT slug, name, department_id FROM topics")).all()
        assert rows == [("water", "Water", 1)]
    finally:
        engine.dispose()


def test_a_sealed_address_reads_back_only_with_the_same_key_and_its_digest_is_keyed():
    box = SubscriberBox(KEY)
    sealed = box.seal("resident@example.org")
    assert b"resident" not in sealed and box.open(sealed) == "resident@example.org"
    assert box.digest("resident@example.org") == SubscriberBox(KEY).digest("resident@example.org")
    assert box.digest("resident@example.org") != SubscriberBox("j" * 40).digest("resident@example.org")


def test_links_are_bound_to_their_purpose_their_subscriber_and_its_nonce():
    box = SubscriberBox(KEY)
    one = Subscriber(id=7, link_nonce="a" * 32)
    manage = links.manage_token(box, one)
    assert links.check(box, manage, one, purpose="manage")
    assert not links.check(box, manage, one, purpose="unsubscribe")
    assert not links.check(box, manage, Subscriber(id=7, link_nonce="b" * 32), purpose="manage")
    assert not links.check(box, manage.replace("7.", "8.", 1), Subscriber(id=8, link_nonce="a" * 32), purpose="manage")


@pytest.mark.parametrize("age, valid", [(60, True), (24 * 3600 - 5, True), (24 * 3600 + 5, False), (-60, False)])
def test_a_confirmation_link_lasts_24_hours(age, valid):
    box = SubscriberBox(KEY)
    one = Subscriber(id=3, link_nonce="n" * 32)
    token = links.confirm_token(box, one, now=time.time() - age)
    assert links.check(box, token, one, purpose="confirm") is valid


def test_one_click_headers_follow_rfc_8058():
    box = SubscriberBox(KEY)
    headers = links.unsubscribe_headers("https://city.example/", box, Subscriber(id=5, link_nonce="x" * 32))
    assert headers["List-Unsubscribe"].startswith("<https://city.example/unsubscribe/5.")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_only_confirmed_deliverable_addresses_are_recipients(sessions):
    from civicpost.db import utcnow
    from civicpost.models import Subscription
    from civicpost.subscribers import recipients

    box = SubscriberBox(KEY)
    create_department(sessions, "parks")
    with transaction(sessions) as session:
        topic_id = session.scalar(select(Topic.id).where(Topic.slug == "parks"))
        made = {}
        for name, confirmed, bounces in [("yes", True, 0), ("unconfirmed", False, 0), ("bounced", True, 3)]:
            email = f"{name}@example.org"
            subscriber = Subscriber(email_encrypted=box.seal(email), email_digest=box.digest(email),
                                    email_confirmed_at=utcnow() if confirmed else None, bounces=bounces,
                                    link_nonce=name)
            session.add(subscriber)
            session.flush()
            session.add(Subscription(subscriber_id=subscriber.id, topic_id=topic_id))
            made[name] = subscriber.id
        phone = "+15550104477"
        texted = Subscriber(phone_encrypted=box.seal(phone), phone_digest=box.digest(phone), link_nonce="p")
        session.add(texted)
        session.flush()
        session.add(Subscription(subscriber_id=texted.id, topic_id=topic_id))
    with transaction(sessions) as session:
        assert [r.email for r in recipients.confirmed_recipients(session, box, [topic_id])] == ["yes@example.org"]
        assert recipients.start_sms(session, box, phone="+1 (555) 010-4477")
    with transaction(sessions) as session:
        found = list(recipients.confirmed_recipients(session, box, [topic_id]))
        assert [(r.email, r.phone) for r in found] == [("yes@example.org", None), (None, phone)]
        assert recipients.stop_sms(session, box, phone=phone)
        assert recipients.record_bounce(session, subscriber_id=made["yes"]) == 1
    with transaction(sessions) as session:
        assert [r.phone for r in recipients.confirmed_recipients(session, box, [topic_id])] == [None]
