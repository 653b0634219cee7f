"""A suspension's start and end are told, through the outbox, to approvers, admins, the covered departments'
people (by mail, to a real SMTP server on 127.0.0.1) and the departments' chat hook; other departments'
people hear nothing; an automatic end at `until` is told the same way."""

from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes

import pytest
from sqlalchemy import select, update

from civicpost.db import make_sessionmaker, transaction, utcnow
from civicpost.models import Notification, Suspension
from civicpost.notifications.sender import Sender
from civicpost.suspensions import service
from tests.factories import create_department_hook
from tests.platforms.servers import ChatHook, SmtpServer, running_chat_hook, running_smtp_server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def chat() -> Iterator[ChatHook]:
    with running_chat_hook() as hook:
        yield hook


@pytest.fixture
def send(settings, smtp, engine):
    mail = settings.model_copy(update={
        "smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_starttls": False, "smtp_from": "civicpost@city.example",
        "base_url": "https://civicpost.city.example", "notify_digest_minutes": 15})
    write = engine.execution_options(sqlite_begin="IMMEDIATE") if engine.dialect.name == "sqlite" else engine

    def run() -> int:
        sent = 0
        while (n := Sender(mail, make_sessionmaker(write), name="sender", batch=50).run_once()):
            sent += n
        return sent

    return run


def subjects(smtp: SmtpServer) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for envelope in smtp.behaviour.messages:
        message = message_from_bytes(envelope.content)
        for rcpt in envelope.rcpt_tos:
            found.setdefault(rcpt, []).append(message["Subject"])
    return found


def bodies(smtp: SmtpServer) -> list[str]:
    return [message_from_bytes(e.content).get_payload(decode=True).decode() for e in smtp.behaviour.messages]


def test_a_department_pause_is_told_at_start_and_end_to_its_people_approvers_and_hook(
        client, city, sessions, settings, smtp, chat, send):
    create_department_hook(sessions, settings, "parks", chat.url)
    create_department_hook(sessions, settings, "police", chat.url + "?police")
    s = client.post("/api/v1/suspensions", headers=city.approver.auth,
                    json={"reason": "Flooding on Elm Street", "departments": ["parks"]}).json()
    assert send() > 0
    got = subjects(smtp)
    paused = ["Scheduled posts paused: Parks and Recreation"]
    assert got == {city.approver.email: paused, city.admin.email: paused, city.parks_staff.email: paused}
    assert city.police_staff.email not in got
    assert all("Flooding on Elm Street" in b and f"/staff/suspensions#suspension-{s['id']}" in b for b in bodies(smtp))
    [post] = chat.received
    assert post["text"].startswith("civicpost: scheduled posts of Parks and Recreation are paused: Flooding")

    client.delete(f"/api/v1/suspensions/{s['id']}", headers=city.approver.auth).raise_for_status()
    send()
    ended = subjects(smtp)[city.parks_staff.email]
    assert ended == paused + ["Pause ended: Parks and Recreation"]
    assert "released nothing" in bodies(smtp)[-1]
    assert len(chat.received) == 2 and "ended" in chat.received[1]["text"]


def test_a_city_pause_reaches_every_department_and_an_automatic_end_is_told_too(client, city, sessions, smtp, send):
    s = client.post("/api/v1/suspensions", headers=city.approver.auth,
                    json={"reason": "Election day", "until": (utcnow() + timedelta(hours=1)).isoformat()}).json()
    send()
    got = subjects(smtp)
    assert set(got) == {city.approver.email, city.admin.email, city.parks_staff.email, city.police_staff.email}
    assert got[city.police_staff.email] == ["Scheduled posts paused: the whole city"]
    with transaction(sessions) as session:
        session.execute(update(Suspension).where(Suspension.id == s["id"])
                        .values(until=utcnow() - timedelta(seconds=1)))
    with transaction(sessions) as session:
        assert service.end_expired(session) == 1
    send()
    assert subjects(smtp)[city.police_staff.email][-1] == "Pause ended: the whole city"
    assert "at its set time" in bodies(smtp)[-1]
    with sessions() as session:
        events = session.scalars(select(Notification.event).order_by(Notification.id)).all()
    assert events.count("suspension_end") == 4
