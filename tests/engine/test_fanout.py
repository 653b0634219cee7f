"""The `subscribers` channel: one message per confirmed subscriber, through a real SMTP server."""

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from civicpost.db import transaction
from civicpost.models import Subscriber, SubscriberSend
from tests.engine.observing import state_of, wait_for
from tests.factories import create_approved, create_channel, create_subscribers


@dataclass
class Inbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1: what it took, and what it refuses."""

    port: int
    messages: list[tuple[str, Message]] = field(default_factory=list)
    asked_later: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: float = 0.0  # seconds each message takes

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for rcpt, m in self.messages if rcpt == address]


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("gone"):
            return f"550 5.1.1 <{address}>: no such mailbox"
        if address.startswith("busy") and address not in self.inbox.asked_later:
            self.inbox.asked_later.add(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.inbox.delay:
            await asyncio.sleep(self.inbox.delay)
        with self.inbox.lock:
            for rcpt in envelope.rcpt_tos:
                self.inbox.messages.append((rcpt, message_from_bytes(envelope.original_content)))
        return "250 Message accepted"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    found = Inbox(port)
    controller = Controller(_Handler(found), hostname="127.0.0.1", port=port)
    controller.start()
    yield found
    controller.stop()


@pytest.fixture
def mail_settings(fast_settings, inbox):
    return fast_settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": inbox.port,
                                            "smtp_starttls": False, "smtp_from": "news@city.example",
                                            "fanout_connections": 3})


def subscribers_channel(client, city) -> int:
    return create_channel(client, city.admin, "subscribers", name="Parks subscribers",
                          settings={"topics": ["parks"]})


def _body(message: Message, kind: str = "text/plain") -> str:
    part = next(p for p in message.walk() if p.get_content_type() == kind)
    return part.get_payload(decode=True).decode()


def test_every_confirmed_subscriber_of_the_topic_gets_one_message_with_their_own_unsubscribe_links(
        client, city, sessions, settings, mail_settings, inbox, worker_factory, sign_in):
    key = settings.fernet_key()
    residents = [f"r{i}@example.org" for i in range(7)]
    create_subscribers(sessions, key, "parks", residents)
    create_subscribers(sessions, key, "parks", ["unconfirmed@example.org"], confirmed=False)
    create_subscribers(sessions, key, "police", ["police-only@example.org"])
    channel = subscribers_channel(client, city)
    a = create_approved(client, city, channels=[channel], title="Pool opens Saturday")
    worker_factory(settings=mail_settings).start()

    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    with inbox.lock:
        assert sorted(rcpt for rcpt, _ in inbox.messages) == sorted(residents)
    first, second = inbox.to("r0@example.org")[0], inbox.to("r1@example.org")[0]
    assert first["Subject"] == second["Subject"] and "Pool opens Saturday" in first["Subject"]
    assert first["To"] == "r0@example.org" and first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = first["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("http://127.0.0.1:8000/unsubscribe/") and unsubscribe != second["List-Unsubscribe"]
    text, html = _body(first), _body(first, "text/html")
    assert unsubscribe in text and unsubscribe in html and unsubscribe not in _body(second)
    assert f"http://127.0.0.1:8000/announcements/{a['id']}" in text
    assert len({m["Message-ID"] for _, m in inbox.messages}) == len(residents)
    shown = state_of(client, city, a["id"])
    assert shown["deliveries"][0]["status"] == "published"
    assert shown["residents"] == {"sent": 7, "failed": 0, "pending": 0, "skipped": 0, "maybe_twice": 0}
    page = sign_in(city.parks_staff).get(f"/staff/announcements/{a['id']}/deliveries")
    assert page.status_code == 200 and "Residents who subscribed" in page.text
    assert "<dt>Sent</dt><dd>7</dd>" in page.text


def test_an_announcement_without_a_subscribers_channel_shows_no_resident_counts(client, city, draft):
    assert draft()["residents"] is None


def test_a_refused_address_is_a_bounce_and_a_busy_server_is_tried_again(
        client, city, sessions, settings, mail_settings, inbox, worker_factory):
    key = settings.fernet_key()
    gone, busy, fine = create_subscribers(sessions, key, "parks",
                                          ["gone@example.org", "busy@example.org", "fine@example.org"])
    a = create_approved(client, city, channels=[subscribers_channel(client, city)])
    worker_factory(settings=mail_settings).start()

    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    assert len(inbox.to("busy@example.org")) == 1 and len(inbox.to("fine@example.org")) == 1
    assert inbox.to("gone@example.org") == []
    counts = state_of(client, city, a["id"])["residents"]
    assert (counts["sent"], counts["failed"], counts["pending"]) == (2, 1, 0)
    with transaction(sessions) as session:
        rows = {r.subscriber_id: r for r in session.scalars(select(SubscriberSend))}
        assert rows[gone].state == "failed" and rows[gone].last_error.startswith("550")
        assert "gone@example.org" not in rows[gone].last_error
        assert rows[busy].state == "sent" and rows[busy].attempts == 2
        assert rows[fine].state == "sent" and rows[fine].attempts == 1
        assert session.get(Subscriber, gone).bounces == 1


def test_an_address_that_bounced_three_times_in_a_row_is_not_sent_to(
        client, city, sessions, settings, mail_settings, inbox, worker_factory):
    key = settings.fernet_key()
    create_subscribers(sessions, key, "parks", ["tired@example.org"], bounces=3)
    create_subscribers(sessions, key, "parks", ["fine@example.org"], bounces=2)
    a = create_approved(client, city, channels=[subscribers_channel(client, city)])
    worker_factory(settings=mail_settings).start()

    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    assert inbox.to("tired@example.org") == [] and len(inbox.to("fine@example.org")) == 1
    with transaction(sessions) as session:
        # Mail accepted: the bounces counted are no longer "in a row".
        assert sorted(session.scalars(select(Subscriber.bounces))) == [0, 3]


def test_a_channel_with_no_subscribers_is_published_at_once(client, city, mail_settings, worker_factory):
    a = create_approved(client, city, channels=[subscribers_channel(client, city)])
    worker_factory(settings=mail_settings).start()
    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")


def test_without_a_mail_server_nothing_leaves_and_the_counts_say_why(
        client, city, sessions, settings, fast_settings, worker_factory):
    create_subscribers(sessions, settings.fernet_key(), "parks", ["r0@example.org", "r1@example.org"])
    a = create_approved(client, city, channels=[subscribers_channel(client, city)])
    worker_factory(settings=fast_settings).start()

    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    assert state_of(client, city, a["id"])["residents"]["skipped"] == 2
    with transaction(sessions) as session:
        assert {r.last_error for r in session.scalars(select(SubscriberSend))} == {
            "no mail server: set CIVICPOST_SMTP_HOST to send residents' mail"}


def test_a_resident_who_chose_a_digest_gets_the_days_announcements_in_one_message_the_next_morning(
        client, city, sessions, settings, mail_settings, inbox, worker_factory):
    key = settings.fernet_key()
    create_subscribers(sessions, key, "parks", ["now@example.org"])
    (daily,) = create_subscribers(sessions, key, "parks", ["daily@example.org"], mode="digest")
    channel = subscribers_channel(client, city)
    worker_factory(settings=mail_settings).start()
    pool = create_approved(client, city, channels=[channel], title="Pool opens Saturday")
    leaves = create_approved(client, city, channels=[channel], title="Leaf pickup starts Monday")

    # Published when everyone else has it: the digest does not hold the announcements back.
    wait_for(lambda: all(state_of(client, city, a["id"])["state"] == "published" for a in (pool, leaves)))
    assert len(inbox.to("now@example.org")) == 2 and inbox.to("daily@example.org") == []
    assert state_of(client, city, pool["id"])["residents"]["pending"] == 1
    with transaction(sessions) as session:
        waiting = list(session.scalars(select(SubscriberSend).where(SubscriberSend.digest)))
        assert {r.subscriber_id for r in waiting} == {daily} and len(waiting) == 2
        local = waiting[0].next_attempt_at.astimezone(settings.zone)
        assert (local.hour, local.minute) == (settings.digest_hour, 0)
        # The morning comes.
        session.execute(update(SubscriberSend).where(SubscriberSend.digest).values(
            next_attempt_at=waiting[0].created_at))

    (message,) = wait_for(lambda: inbox.to("daily@example.org"))
    assert message["Subject"] == "Our City: 2 announcements today"
    text = _body(message)
    assert "Pool opens Saturday" in text and "Leaf pickup starts Monday" in text
    assert message["List-Unsubscribe"].strip("<>") in text
    wait_for(lambda: state_of(client, city, pool["id"])["residents"]["sent"] == 2)


def test_an_emergency_reaches_a_resident_who_chose_a_digest_at_once(
        client, city, sessions, settings, mail_settings, inbox, worker_factory):
    create_subscribers(sessions, settings.fernet_key(), "parks", ["daily@example.org"], mode="digest")
    a = create_approved(client, city, channels=[subscribers_channel(client, city)], emergency=True, title="Boil water")
    worker_factory(settings=mail_settings).start()
    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    (message,) = inbox.to("daily@example.org")
    assert "Boil water" in message["Subject"]


@pytest.mark.parametrize("topics, said", [
    (["no-such-topic"], "no topic 'no-such-topic'"),
    (["Parks"], "is not a topic's slug"),
    (["parks", "x" * 70], "is not a topic's slug"),
    (["parks\u0000"], "is not a topic's slug"),
])
def test_a_subscribers_channel_naming_a_topic_that_is_not_there_is_refused_with_what_to_fix(client, city, topics,
                                                                                            said):
    r = client.post("/api/v1/channels", headers=city.admin.auth, json={
        "department": "parks", "platform": "subscribers", "name": "Parks subscribers", "credentials": {},
        "settings": {"topics": topics}})
    assert r.status_code == 422, r.text
    assert said in r.text and "settings.topics" in r.text


def test_a_retracted_announcement_stops_reaching_residents(client, city, sessions, settings, fast_settings,
                                                           worker_factory):
    create_subscribers(sessions, settings.fernet_key(), "parks", ["r0@example.org", "r1@example.org"])
    a = create_approved(client, city, channels=[subscribers_channel(client, city)])
    # A mail server that does not answer: every row waits to be tried again.
    unreachable = fast_settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_starttls": False,
                                                   "retry_base_seconds": 2, "max_attempts": 8})
    worker_factory(settings=unreachable).start()

    def tried() -> bool:
        with transaction(sessions) as session:
            found = list(session.scalars(select(SubscriberSend)))
            return len(found) == 2 and all(r.attempts == 1 and r.state == "pending" for r in found)

    wait_for(tried)
    r = client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth,
                    json={"reason": "Wrong date"})
    assert r.status_code == 202, r.text

    def stopped() -> set:
        with transaction(sessions) as session:
            return {(r.state, r.last_error) for r in session.scalars(select(SubscriberSend))}

    wait_for(lambda: stopped() == {("skipped", "the announcement was retracted or cancelled")})


def test_rows_waiting_longer_than_a_lease_keep_it_and_go_once(client, city, sessions, settings, mail_settings,
                                                              inbox, worker_factory):
    """One connection, a lease of one second and a server taking 0.3 s a message: the last rows wait
    far longer than a lease for their turn, and are still sent once each."""
    inbox.delay = 0.3
    residents = [f"r{i}@example.org" for i in range(12)]
    create_subscribers(sessions, settings.fernet_key(), "parks", residents)
    a = create_approved(client, city, channels=[subscribers_channel(client, city)])
    worker_factory(settings=mail_settings.model_copy(update={"fanout_connections": 1, "lease_seconds": 1})).start()
    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published", timeout=30)
    with inbox.lock:
        assert sorted(rcpt for rcpt, _ in inbox.messages) == sorted(residents)
    assert state_of(client, city, a["id"])["residents"]["maybe_twice"] == 0
