"""Access renewed before it ends (SPEC §8.3): an X channel whose OAuth 2.0
token ends within a day gets a new one with its refresh token; the rotated
pair is stored sealed with its expiry, and a refusal puts the channel in
need of a person, in a sentence. The platform is respx, never the internet."""

from datetime import timedelta

import respx
from sqlalchemy import update

from civicpost import renewal
from civicpost.db import transaction, utcnow
from civicpost.engine.worker import Worker
from civicpost.models import Channel
from civicpost.security import CredentialBox
from tests.factories import create_channel

BASE = "https://api.x.test"
OAUTH2 = {"oauth2_access_token": "old-access", "oauth2_refresh_token": "old-refresh", "client_id": "client-1"}


def x_channel(client, city, sessions, *, expires_in: timedelta | None) -> int:
    channel_id = create_channel(client, city.admin, "x", name="Parks X", credentials=OAUTH2,
                                settings={"api_base": BASE})
    with transaction(sessions) as session:
        session.execute(update(Channel).where(Channel.id == channel_id).values(
            token_expires_at=utcnow() + expires_in if expires_in is not None else None))
    return channel_id


def renew(settings, sessions, channel_id: int):
    return renewal.renew_if_due(sessions, CredentialBox(settings.fernet_key()), channel_id, now=utcnow(), timeout=5,
                               allow_private_network=True)


def stored(settings, sessions, channel_id: int) -> tuple[Channel, dict]:
    with sessions() as session:
        channel = session.get(Channel, channel_id)
        assert channel is not None
        return channel, CredentialBox(settings.fernet_key()).open(channel.credentials_encrypted)


def test_access_ending_within_a_day_is_renewed_and_the_rotated_pair_is_stored_sealed(client, city, sessions,
                                                                                     settings):
    channel_id = x_channel(client, city, sessions, expires_in=timedelta(hours=3))
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{BASE}/2/oauth2/token").respond(200, json={
            "access_token": "new-access", "refresh_token": "new-refresh", "expires_in": 7200})
        assert renew(settings, sessions, channel_id) is None
    channel, credentials = stored(settings, sessions, channel_id)
    assert credentials["oauth2_access_token"] == "new-access" and credentials["oauth2_refresh_token"] == "new-refresh"
    assert b"new-refresh" not in (channel.credentials_encrypted or b"")
    assert channel.token_expires_at is not None
    assert timedelta(minutes=119) < channel.token_expires_at - utcnow() <= timedelta(hours=2)


def test_access_that_lasts_beyond_a_day_is_left_alone(client, city, sessions, settings):
    channel_id = x_channel(client, city, sessions, expires_in=timedelta(days=3))
    with respx.mock(assert_all_called=False) as router:
        route = router.post(f"{BASE}/2/oauth2/token")
        assert renew(settings, sessions, channel_id) is None
    assert not route.called
    assert stored(settings, sessions, channel_id)[1]["oauth2_refresh_token"] == "old-refresh"


def test_a_refused_refresh_token_puts_the_channel_in_need_of_a_person_and_says_what_to_do(client, city, sessions,
                                                                                          settings):
    channel_id = x_channel(client, city, sessions, expires_in=None)
    with respx.mock() as router:
        router.post(f"{BASE}/2/oauth2/token").respond(400, json={"error": "invalid_request",
                                                                 "error_description": "Value passed was invalid."})
        problem = renew(settings, sessions, channel_id)
    assert problem is not None and problem.startswith("Renewing access to X failed")
    channel, credentials = stored(settings, sessions, channel_id)
    assert channel.needs_attention is True and channel.last_error == problem
    assert "connect the account again" in problem
    assert credentials["oauth2_refresh_token"] == "old-refresh"
    health = client.get(f"/api/v1/channels/{channel_id}", headers=city.admin.auth).json()
    assert health["health"]["status"] == "needs_attention"


def test_a_channel_without_a_refresh_token_is_never_renewed(client, city, sessions, settings):
    channel_id = create_channel(client, city.admin, "x", name="Parks X", credentials={"oauth2_access_token": "a"},
                                settings={"api_base": BASE})
    with respx.mock(assert_all_called=False) as router:
        route = router.post(f"{BASE}/2/oauth2/token")
        assert renew(settings, sessions, channel_id) is None
    assert not route.called


def test_of_several_renewals_at_once_only_the_first_asks_the_platform(client, city, sessions, settings):
    channel_id = x_channel(client, city, sessions, expires_in=timedelta(minutes=5))
    with respx.mock() as router:
        route = router.post(f"{BASE}/2/oauth2/token").respond(200, json={
            "access_token": "new-access", "refresh_token": "new-refresh", "expires_in": 7200})
        for _ in range(3):
            assert renewal.renew_if_due(sessions, CredentialBox(settings.fernet_key()), channel_id, now=utcnow(),
                                        timeout=5, allow_private_network=True,
                                        before=renewal.RENEW_BEFORE_SENDING) is None
    assert route.call_count == 1  # refresh tokens are single use: a second renewal would have been refused


def test_the_worker_renews_access_about_to_end_just_before_it_posts(client, city, sessions, settings, engine):
    ending = x_channel(client, city, sessions, expires_in=timedelta(minutes=5))
    lasting = create_channel(client, city.admin, "x", name="Parks X two", credentials=OAUTH2,
                             settings={"api_base": BASE})
    with transaction(sessions) as session:
        session.execute(update(Channel).where(Channel.id == lasting).values(token_expires_at=utcnow() + timedelta(hours=1)))
    worker = Worker(settings, engine=engine, name="renewing-worker")
    try:
        with respx.mock(assert_all_called=True) as router:
            token = router.post(f"{BASE}/2/oauth2/token").respond(200, json={
                "access_token": "new-access", "refresh_token": "new-refresh", "expires_in": 7200})
            for channel_id in (ending, lasting):
                with sessions() as session:
                    channel = session.get(Channel, channel_id)
                    assert channel is not None
                    worker.adapters.get(channel)
        assert token.call_count == 1, "only the channel whose access ends within minutes"
        assert stored(settings, sessions, ending)[1]["oauth2_access_token"] == "new-access"
        assert stored(settings, sessions, lasting)[1]["oauth2_access_token"] == "old-access"
    finally:
        worker.pool.shutdown(wait=False)
