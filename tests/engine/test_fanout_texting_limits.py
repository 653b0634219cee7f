"""The city's texting limits set by an admin in the app (not only the environment) hold when texts' rows are
made and again right before each text goes; emergencies are exempt. Texts go to the sandbox's Messages API."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from civicpost.db import transaction
from civicpost.models import SubscriberSend
from civicpost.sandbox.app import create_sandbox_app
from civicpost.sandbox.testing import running_sandbox
from tests.engine.observing import state_of, wait_for
from tests.factories import create_approved, create_channel, create_texting_subscribers

SID = "AC" + "3" * 32


@pytest.fixture
def sandbox() -> Iterator[tuple[str, list]]:
    app = create_sandbox_app()
    with running_sandbox(app=app) as url:
        yield url, app.state.sandbox.fakes["sms"].messages


@pytest.fixture
def sms_settings(fast_settings, sandbox):
    return fast_settings.model_copy(update={
        "sms_account_sid": SID, "sms_auth_token": SecretStr("sms-token"), "sms_from": "+15550009999",
        "sms_api_base": f"{sandbox[0]}/sms", "sms_per_second": 50, "smtp_host": "127.0.0.1", "smtp_port": 9,
        "smtp_starttls": False})


def quiet_now(settings) -> str:
    now = datetime.now(UTC).astimezone(settings.zone)
    return f"{(now - timedelta(hours=1)):%H}:00-{(now + timedelta(hours=2)):%H}:00"


def texts(sessions) -> list[SubscriberSend]:
    with transaction(sessions) as session:
        return list(session.scalars(select(SubscriberSend).where(SubscriberSend.medium == "sms")
                                    .order_by(SubscriberSend.id)))


def make_due_now(sessions) -> None:
    with transaction(sessions) as session:
        session.execute(update(SubscriberSend).where(SubscriberSend.state == "pending")
                        .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))


def set_limits(client, city, **limits):
    r = client.put("/api/v1/texting", headers=city.admin.auth, json=limits)
    assert r.status_code == 200, r.text
    return r.json()


def test_quiet_hours_set_by_an_admin_hold_texts_made_then_and_again_when_they_fall_due(
        client, city, sessions, settings, sms_settings, sandbox, worker_factory):
    create_texting_subscribers(sessions, settings.fernet_key(), "parks", ["+15550104477"])
    channel = create_channel(client, city.admin, "subscribers", name="Parks texts",
                             settings={"topics": ["parks"], "sms": True})
    set_limits(client, city, monthly_cap=0, quiet_hours=quiet_now(settings))
    a = create_approved(client, city, channels=[channel])
    worker = worker_factory(settings=sms_settings)
    worker.start()

    wait_for(lambda: texts(sessions))
    [row] = texts(sessions)
    assert row.state == "pending" and row.next_attempt_at > datetime.now(UTC) + timedelta(minutes=50)

    # Due now (as if made before the admin set the hours): checked again at sending, it waits again.
    make_due_now(sessions)
    wait_for(lambda: texts(sessions)[0].next_attempt_at > datetime.now(UTC) + timedelta(minutes=50))
    [row] = texts(sessions)
    assert row.state == "pending" and row.attempts == 0 and sandbox[1] == []
    assert state_of(client, city, a["id"])["residents"]["pending"] == 1

    emergency = create_approved(client, city, channels=[channel], emergency=True, title="Boil water")
    wait_for(lambda: state_of(client, city, emergency["id"])["state"] == "published")
    assert [m["To"] for m in sandbox[1]] == ["+15550104477"] and "Boil water" in sandbox[1][0]["Body"]


def test_a_cap_lowered_by_an_admin_while_texts_wait_skips_them_when_they_fall_due(
        client, city, sessions, settings, sms_settings, sandbox, worker_factory):
    create_texting_subscribers(sessions, settings.fernet_key(), "parks", ["+15550104477", "+15550104478"])
    channel = create_channel(client, city.admin, "subscribers", name="Parks texts",
                             settings={"topics": ["parks"], "sms": True})
    # The environment's quiet hours hold the texts for the morning; the admin then sets a cap of 1.
    a = create_approved(client, city, channels=[channel])
    worker_factory(settings=sms_settings.model_copy(update={"sms_quiet_hours": quiet_now(settings)})).start()
    wait_for(lambda: len(texts(sessions)) == 2)
    assert {r.state for r in texts(sessions)} == {"pending"}
    assert set_limits(client, city, monthly_cap=1, quiet_hours="")["source"] == "admin"

    make_due_now(sessions)
    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    rows = texts(sessions)
    assert sorted(r.state for r in rows) == ["sent", "skipped"] and len(sandbox[1]) == 1
    [skipped] = [r for r in rows if r.state == "skipped"]
    assert skipped.last_error.startswith("over the city's monthly SMS cap (1 segments, 1 used)")
    assert "+1555" not in skipped.last_error

    emergency = create_approved(client, city, channels=[channel], emergency=True, title="Boil water")
    wait_for(lambda: state_of(client, city, emergency["id"])["state"] == "published")
    assert len(sandbox[1]) == 3
