"""Notifications to staff, sent to a real SMTP server and a real chat hook on 127.0.0.1:
who gets what for each event, emergencies at once and the rest in a digest, a
person who unticked gets nothing, a failed send is retried and never lost,
and two senders never send one row twice."""

import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message

import pytest
from sqlalchemy import func, select, update

from civicpost.db import make_sessionmaker, transaction, utcnow
from civicpost.engine.recording import settle
from civicpost.models import Notification, State
from civicpost.models.enums import DeliveryStatus
from civicpost.notifications import claims
from civicpost.notifications.sender import Sender
from tests.factories import create_approved, create_draft, create_submitted, set_outcome
from tests.pages import csrf_of
from tests.platforms.servers import ChatHook, SmtpServer, running_chat_hook, running_smtp_server

HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def chat() -> Iterator[ChatHook]:
    with running_chat_hook() as hook:
        yield hook


@pytest.fixture
def mail_settings(settings, smtp):
    return settings.model_copy(update={
        "smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_starttls": False, "smtp_from": "civicpost@city.example",
        "base_url": "https://civicpost.city.example", "notify_digest_minutes": 15,
        "retry_base_seconds": 0, "retry_max_seconds": 0, "max_attempts": 3})


@pytest.fixture
def sender(mail_settings, engine):
    """A sender as the worker runs it (SQLite: claims under BEGIN IMMEDIATE)."""

    def make(name: str = "sender-a", batch: int = 50, **changes) -> Sender:
        write = engine.execution_options(sqlite_begin="IMMEDIATE") if engine.dialect.name == "sqlite" else engine
        return Sender(mail_settings.model_copy(update=changes), make_sessionmaker(write), name=name, batch=batch)

    return make


def mails(smtp: SmtpServer) -> list[tuple[list[str], Message]]:
    return [(envelope.rcpt_tos, message_from_bytes(envelope.content)) for envelope in smtp.behaviour.messages]


def to(smtp: SmtpServer, email: str) -> list[Message]:
    return [message for rcpt, message in mails(smtp) if email in rcpt]


def text_of(message: Message) -> str:
    return message.get_payload(decode=True).decode()


def test_a_submitted_announcement_waits_for_the_approvers_digest_and_the_author_gets_nothing(
        client, city, smtp, sender):
    a = create_submitted(client, city)
    assert sender().run_once() == 0, "the digest gathers for notify_digest_minutes first"
    assert sender(notify_digest_minutes=0).run_once() == 1
    [message] = to(smtp, city.approver.email)
    assert message["Subject"] == "1 announcement waiting for approval"
    assert "Pool opens Saturday (Parks and Recreation)" in text_of(message)
    assert f"https://civicpost.city.example/staff/announcements/{a['id']}" in text_of(message)
    # Admins choose this themselves; the author never approves their own.
    assert to(smtp, city.admin.email) == [] and to(smtp, city.parks_staff.email) == []


def test_an_approver_who_changed_the_draft_is_not_told_it_waits_for_them(client, city, smtp, sender, people):
    second = people.person("approver", email="second.approver@city.example")
    a = create_draft(client, city.parks_staff, channels=city.parks_channels)
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth, json={"title": "Pool opens Sunday"})
    assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth).status_code == 200
    assert sender(notify_digest_minutes=0).run_once() == 1
    # They could not approve it (a second person who did not write or change it must): only the other is told.
    assert to(smtp, city.approver.email) == [] and len(to(smtp, second.email)) == 1


def test_several_waiting_announcements_go_in_one_digest(client, city, smtp, sender, sessions):
    create_submitted(client, city, title="Pool opens Saturday")
    create_submitted(client, city, title="Trail closed for repairs")
    # The first row is due; the second, written later, goes with it.
    with transaction(sessions) as session:
        first = session.scalar(select(func.min(Notification.id)))
        session.execute(update(Notification).where(Notification.id == first)
                        .values(next_attempt_at=utcnow() - timedelta(minutes=20)))
    assert sender().run_once() == 1
    [message] = to(smtp, city.approver.email)
    assert message["Subject"] == "2 announcements waiting for approval"
    assert "Pool opens Saturday" in text_of(message) and "Trail closed for repairs" in text_of(message)
    assert sender(notify_digest_minutes=0).run_once() == 0, "nothing is sent twice"


def test_an_emergency_waiting_for_approval_is_mailed_at_once(client, city, smtp, sender):
    create_submitted(client, city, title="Boil water notice", emergency=True)
    assert sender().run_once() == 1
    [message] = to(smtp, city.approver.email)
    assert message["Subject"] == "Emergency waiting for approval: Boil water notice"
    assert message["Auto-Submitted"] == "auto-generated"


def test_the_author_hears_of_approval_and_of_a_send_back_with_the_reason(client, city, smtp, sender):
    approved = create_approved(client, city, title="Pool opens Saturday")
    sent_back = create_submitted(client, city, title="Trail closed")
    r = client.post(f"/api/v1/announcements/{sent_back['id']}/reject", headers=city.approver.auth,
                    json={"reason": "Say which trail, please."})
    assert r.status_code == 200, r.text
    sender().run_once()
    subjects = sorted(m["Subject"] for m in to(smtp, city.parks_staff.email))
    assert subjects == ["Approved: Pool opens Saturday", "Sent back: Trail closed"]
    back = next(m for m in to(smtp, city.parks_staff.email) if m["Subject"].startswith("Sent back"))
    assert "What to change: Say which trail, please." in text_of(back)
    mail = next(m for m in to(smtp, city.parks_staff.email) if m["Subject"].startswith("Approved"))
    assert f"https://civicpost.city.example/staff/announcements/{approved['id']}" in text_of(mail)


def test_published_and_failed_reach_the_author_and_failure_reaches_admins_and_the_departments_hook(
        client, city, smtp, chat, sender, sessions, sign_in):
    admin = sign_in(city.admin)
    page = admin.get("/staff/departments/parks/notifications", headers=HTML)
    r = admin.post("/staff/departments/parks/notifications", data={"csrf_token": csrf_of(page.text), "url": chat.url},
                   headers=HTML, follow_redirects=False)
    assert r.status_code == 303, r.text
    good = create_approved(client, city, title="Pool opens Saturday")
    bad = create_approved(client, city, title="Trail closed")
    set_outcome(sessions, good["id"], State.publishing, DeliveryStatus.published)
    set_outcome(sessions, bad["id"], State.publishing, DeliveryStatus.failed)
    with transaction(sessions) as session:
        settle(session, good["id"], bad["id"])
    sender().run_once()
    author = sorted(m["Subject"] for m in to(smtp, city.parks_staff.email))
    assert "Published: Pool opens Saturday" in author and "Not published everywhere: Trail closed" in author
    assert [m["Subject"] for m in to(smtp, city.admin.email)] == ["Not published everywhere: Trail closed"]
    [post] = chat.received
    assert post["text"].startswith('civicpost: "Trail closed" of Parks and Recreation could not be published')
    assert f"/staff/announcements/{bad['id']}" in post["text"]
    # The hook's address is a secret: the page shows its host only.
    shown = admin.get("/staff/departments/parks/notifications", headers=HTML).text
    assert "127.0.0.1" in shown and "/services/T000" not in shown and "sent" in shown


def test_a_person_who_unticked_a_kind_gets_none_of_it(client, city, smtp, sender, sign_in):
    staff = sign_in(city.parks_staff)
    page = staff.get("/staff/account", headers=HTML)
    assert 'name="kinds" value="approved" checked' in page.text
    assert 'value="waiting"' not in page.text, "staff approve nothing"
    r = staff.post("/staff/account/notifications", headers=HTML, follow_redirects=False,
                   data={"csrf_token": csrf_of(page.text), "kinds": ["rejected", "published"]})
    assert r.status_code == 303
    assert 'name="kinds" value="approved">' in staff.get("/staff/account", headers=HTML).text
    create_approved(client, city)
    sender().run_once()
    assert to(smtp, city.parks_staff.email) == []


def test_an_approver_who_unticked_waiting_gets_no_digest(client, city, smtp, sender, sign_in):
    approver = sign_in(city.approver)
    page = approver.get("/staff/account", headers=HTML)
    assert 'name="kinds" value="waiting" checked' in page.text
    approver.post("/staff/account/notifications", headers=HTML, data={"csrf_token": csrf_of(page.text)})
    create_submitted(client, city, emergency=True)
    sender(notify_digest_minutes=0).run_once()
    assert to(smtp, city.approver.email) == []


def test_choices_refuse_kinds_that_are_not_on_the_page_with_a_message(city, sign_in):
    staff = sign_in(city.parks_staff)
    token = csrf_of(staff.get("/staff/account", headers=HTML).text)
    for bad in ["waiting", "trouble", "x" * 100, "appr\u00f6ved", "a\x00b", ""]:
        r = staff.post("/staff/account/notifications", headers=HTML, data={"csrf_token": token, "kinds": [bad]})
        assert r.status_code == 422, bad
        assert "not notifications you can choose" in r.text and "Tick only the boxes" in r.text
    huge = staff.post("/staff/account/notifications", headers=HTML, data={"csrf_token": token, "kinds": "a" * 5000})
    assert huge.status_code == 422


def test_a_failed_smtp_send_is_retried_with_the_error_kept_and_then_sent(client, city, smtp, sender, sessions):
    smtp.behaviour.data_reply = "451 4.3.0 Mail server temporarily rejected message"
    create_submitted(client, city, emergency=True)
    assert sender().run_once() == 0
    with sessions() as session:
        row = session.scalars(select(Notification)).one()
        assert row.status == "retrying" and row.attempts == 1
        assert row.last_error == "the mail server answered 451 4.3.0 Mail server temporarily rejected message"
    smtp.behaviour.data_reply = None
    assert sender().run_once() == 1
    with sessions() as session:
        row = session.scalars(select(Notification)).one()
        assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    assert len(to(smtp, city.approver.email)) == 1


def test_a_send_that_keeps_failing_ends_failed_and_visible_never_dropped(client, city, smtp, sender, sessions,
                                                                         sign_in):
    smtp.behaviour.data_reply = "451 try later"
    create_submitted(client, city, emergency=True)
    for _ in range(3):
        sender().run_once()
    with sessions() as session:
        row = session.scalars(select(Notification)).one()
        assert row.status == "failed" and row.attempts == 3 and "451 try later" in row.last_error
    shown = sign_in(city.admin).get("/staff/account", headers=HTML).text
    assert "Notifications not delivered: 0 waiting to be tried again, 1 given up." in shown


def test_a_mail_server_that_cannot_be_reached_is_retried_with_a_plain_message(client, city, sender, sessions):
    create_submitted(client, city, emergency=True)
    sender(smtp_port=9).run_once()
    with sessions() as session:
        row = session.scalars(select(Notification)).one()
    assert row.status == "retrying" and row.last_error.startswith("cannot reach the mail server 127.0.0.1:9")
    assert "Traceback" not in row.last_error


def test_without_a_mail_server_nothing_leaves_and_the_rows_say_why(client, city, sender, sessions):
    create_submitted(client, city, emergency=True)
    sender(smtp_host="").run_once()
    with sessions() as session:
        row = session.scalars(select(Notification)).one()
    assert row.status == "skipped" and "CIVICPOST_SMTP_HOST" in row.last_error


def test_an_item_approved_before_its_digest_leaves_the_digest(client, city, smtp, sender):
    create_approved(client, city)
    sender(notify_digest_minutes=0).run_once()
    assert to(smtp, city.approver.email) == []


def test_a_rolled_back_event_leaves_no_notification(client, city, sessions):
    a = create_submitted(client, city)
    r = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                    json={"fingerprint": "0" * 64})
    assert r.status_code == 409
    with sessions() as session:
        events = session.scalars(select(Notification.event)).all()
    assert events == ["waiting"]


def test_two_senders_never_send_one_row_twice(client, city, smtp, sender, sessions):
    for n in range(12):
        create_submitted(client, city, title=f"Emergency {n}", emergency=True)
    # One row a claim, four at once: every claim races the others.
    senders = [sender(f"sender-{n}", batch=1) for n in range(4)]
    threads = [threading.Thread(target=s.run_once) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [message["Message-ID"] for _, message in mails(smtp)]
    assert len(ids) == 12 and len(set(ids)) == 12
    with sessions() as session:
        assert set(session.scalars(select(Notification.status))) == {"sent"}


def test_a_sender_that_died_mid_send_is_taken_over_after_its_lease_with_the_same_message_id(
        client, city, smtp, sender, sessions, engine):
    create_submitted(client, city, emergency=True)
    with transaction(sessions) as session:
        [message] = claims.claim(session, owner="died", now=utcnow(), limit=10, lease_seconds=60,
                                 digest_window=timedelta(0))
    assert sender().run_once() == 0, "the lease holds"
    with transaction(sessions) as session:
        session.execute(update(Notification).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert sender().run_once() == 1
    [mail] = to(smtp, city.approver.email)
    assert mail["Message-ID"] == f"<notification-{message.ids[0]}-1@city.example>"
    with sessions() as session:
        row = session.scalars(select(Notification)).one()
    assert row.status == "sent" and row.attempts == 2


@pytest.mark.parametrize(("url", "says"), [
    ("", "Enter the incoming webhook address"),
    ("   ", "Enter the incoming webhook address"),
    ("https://hooks.slack.com/" + "a" * 3000, "longer than 2048 characters"),
    ("https://hooks.slack.com/ser vices", "spaces or invisible characters"),
    ("https://hooks.slack.com/\x00x", "spaces or invisible characters"),
    ("https://hooks.slack.com/\u202ex", "spaces or invisible characters"),
    ("ftp://hooks.slack.com/x", "must start with https://"),
    ("https://hooks.slack.com:99999/x", "cannot be read"),
    ("hooks.slack.com/services/x", "must start with https://"),
])
def test_a_bad_hook_address_is_refused_with_what_to_fix(url, says, client, city, sign_in):
    admin = sign_in(city.admin)
    token = csrf_of(admin.get("/staff/departments/parks/notifications", headers=HTML).text)
    r = admin.post("/staff/departments/parks/notifications", headers=HTML, data={"csrf_token": token, "url": url})
    assert r.status_code == 422 and says in r.text


def test_outside_the_private_network_a_hook_must_be_https_on_a_public_address(settings, engine, sessions, city):
    from fastapi.testclient import TestClient

    from civicpost.web import create_app
    from tests.factories import PASSWORD

    strict = create_app(settings.model_copy(update={"allow_private_network": False}), engine=engine)
    with TestClient(strict) as browser:
        page = browser.get("/staff/login")
        browser.post("/staff/login", data={"email": city.admin.email, "password": PASSWORD,
                                           "csrf_token": csrf_of(page.text), "next": "/staff/"})
        token = csrf_of(browser.get("/staff/departments/parks/notifications", headers=HTML).text)
        for url, says in [("http://hooks.example.com/x", "must start with https://"),
                          ("https://127.0.0.1/x", "civicpost may not send there"),
                          ("https://10.1.2.3/x", "a private address")]:
            r = browser.post("/staff/departments/parks/notifications", headers=HTML,
                             data={"csrf_token": token, "url": url})
            assert r.status_code == 422 and says in r.text, url


def test_only_admins_open_a_departments_hook_page_and_an_unknown_department_is_404(city, sign_in):
    for person in (city.parks_staff, city.approver):
        assert sign_in(person).get("/staff/departments/parks/notifications", headers=HTML).status_code == 403
    admin = sign_in(city.admin)
    assert admin.get("/staff/departments/nowhere/notifications", headers=HTML).status_code == 404
    assert admin.get("/staff/departments/Bad%20Slug/notifications", headers=HTML).status_code == 422
    assert admin.get(f"/staff/departments/{'a' * 500}/notifications", headers=HTML).status_code == 422
