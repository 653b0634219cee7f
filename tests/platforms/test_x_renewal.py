"""X OAuth 2.0 access renewed with the refresh token (SPEC §8.3): the rotated
pair comes back with the new expiry, and each refusal says what to do, against
recorded answers (respx), never the internet."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from civicpost.platforms import CredentialsError, RateLimited, TransientError
from civicpost.platforms.x.oauth2 import refresh

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BASE = "https://api.x.test"
CREDENTIALS = {"oauth2_access_token": "old-access", "oauth2_refresh_token": "old-refresh", "client_id": "client-1"}


def renew(credentials: dict = CREDENTIALS):
    return refresh(credentials, {"api_base": BASE}, now=NOW, timeout=5)


def test_a_refresh_answers_the_rotated_pair_and_when_the_new_token_ends() -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{BASE}/2/oauth2/token").respond(200, json={
            "token_type": "bearer", "expires_in": 7200, "access_token": "new-access", "refresh_token": "new-refresh",
            "scope": "tweet.write users.read tweet.read offline.access"})
        renewed = renew()
    assert renewed.credentials == {**CREDENTIALS, "oauth2_access_token": "new-access",
                                   "oauth2_refresh_token": "new-refresh"}
    assert renewed.expires_at == NOW + timedelta(hours=2)
    sent = dict(httpx.QueryParams(route.calls[0].request.content.decode()))
    assert sent == {"grant_type": "refresh_token", "refresh_token": "old-refresh", "client_id": "client-1"}
    assert "old-refresh" not in str(route.calls[0].request.url)


def test_a_confidential_client_signs_the_refresh_with_its_secret() -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{BASE}/2/oauth2/token").respond(200, json={"access_token": "a", "refresh_token": "r",
                                                                         "expires_in": 7200})
        renew({**CREDENTIALS, "client_secret": "s3cret"})
    assert route.calls[0].request.headers["authorization"].startswith("Basic ")


def test_a_used_or_revoked_refresh_token_is_a_credentials_error_that_says_to_connect_again() -> None:
    with respx.mock() as router:
        router.post(f"{BASE}/2/oauth2/token").respond(400, json={
            "error": "invalid_request", "error_description": "Value passed for the token was invalid."})
        with pytest.raises(CredentialsError, match="Value passed for the token was invalid.*connect the account again"):
            renew()


def test_without_a_refresh_token_nothing_is_sent_and_the_channel_is_told_what_is_missing() -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.post(f"{BASE}/2/oauth2/token")
        with pytest.raises(CredentialsError, match="no OAuth 2.0 refresh token"):
            renew({"oauth2_access_token": "only-access"})
    assert not route.called


def test_a_429_is_a_wait_and_a_server_error_a_try_later() -> None:
    reset = str(int((NOW + timedelta(seconds=90)).timestamp()))
    with respx.mock() as router:
        router.post(f"{BASE}/2/oauth2/token").mock(side_effect=[
            httpx.Response(429, json={"title": "Too Many Requests"}, headers={"x-rate-limit-reset": reset}),
            httpx.Response(503, text="over capacity")])
        with pytest.raises(RateLimited) as waited:
            renew()
        assert waited.value.retry_after == 90
        with pytest.raises(TransientError):
            renew()
