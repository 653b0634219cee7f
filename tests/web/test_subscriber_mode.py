"""On the manage page a resident chooses each announcement at once or one daily digest (`subscribers.mode`,
which the fan-out honours); a number-only resident, who gets no mail, is not asked."""

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from civicpost.db import transaction
from civicpost.models import Subscriber
from civicpost.subscribers import links
from civicpost.subscribers.crypto import SubscriberBox
from civicpost.web import create_app

EMAIL, PHONE = "resident@example.org", "+15550104477"


@pytest.fixture
def public(settings, engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"digest_hour": 7}), engine=engine),
                    headers={"Accept": "text/html"}) as client:
        yield client


def resident(sessions, settings, *, email: str | None = EMAIL, phone: str | None = None) -> tuple[int, str]:
    box = SubscriberBox(settings.fernet_key())
    with transaction(sessions) as session:
        subscriber = Subscriber(link_nonce=secrets.token_hex(16))
        if email:
            subscriber.email_encrypted, subscriber.email_digest = box.seal(email), box.digest(email)
            subscriber.email_confirmed_at = datetime.now(UTC)
        if phone:
            subscriber.phone_encrypted, subscriber.phone_digest = box.seal(phone), box.digest(phone)
        session.add(subscriber)
        session.flush()
        return subscriber.id, links.manage_url("", box, subscriber)


def mode_of(sessions, subscriber_id: int) -> str:
    with transaction(sessions) as session:
        return session.get(Subscriber, subscriber_id).mode


def test_a_resident_chooses_a_daily_digest_and_back(public, sessions, settings):
    subscriber_id, manage = resident(sessions, settings, phone=PHONE)
    page = public.get(manage)
    assert 'value="immediate" id="mode-immediate" checked' in page.text
    assert "One message a day, at 07:00" in page.text and "texts always go as each announcement" in page.text

    saved = public.post(manage, data={"action": "mode", "mode": "digest"})
    assert saved.status_code == 200 and "one message a day" in saved.text
    assert 'value="digest" id="mode-digest" checked' in saved.text
    assert mode_of(sessions, subscriber_id) == "digest"

    public.post(manage, data={"action": "mode", "mode": "immediate"})
    assert mode_of(sessions, subscriber_id) == "immediate"


@pytest.mark.parametrize("mode", ["", "weekly", "DIGEST", "digest\x00", "d" * 5000])
def test_a_choice_that_is_not_offered_gets_the_page_back_saying_what_to_choose(public, sessions, settings, mode):
    subscriber_id, manage = resident(sessions, settings)
    r = public.post(manage, data={"action": "mode", "mode": mode})
    assert r.status_code == 422 and "Choose how often to hear from us" in r.text and 'href="#mode"' in r.text
    assert mode_of(sessions, subscriber_id) == "immediate"


def test_a_tampered_link_changes_nothing(public, sessions, settings):
    subscriber_id, manage = resident(sessions, settings)
    r = public.post(manage[:-3] + "AAA", data={"action": "mode", "mode": "digest"})
    assert r.status_code == 404 and mode_of(sessions, subscriber_id) == "immediate"


def test_a_number_only_resident_is_not_offered_digests(public, sessions, settings):
    _, manage = resident(sessions, settings, email=None, phone=PHONE)
    page = public.get(manage)
    assert page.status_code == 200 and 'name="mode"' not in page.text
