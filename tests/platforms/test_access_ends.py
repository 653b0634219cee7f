"""When a channel's access ends, where the platform tells it: Meta's token
debugger for Facebook (and Instagram through Facebook Login), LinkedIn's token
introspection with the city's app. The weekly report warns two weeks before."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from civicpost.platforms import AccessEnds, CredentialsError, PermanentError, build_adapter
from civicpost.platforms.facebook.adapter import FacebookAdapter
from civicpost.platforms.linkedin.adapter import LinkedInAdapter
from civicpost.sandbox import create_sandbox_app
from civicpost.sandbox.testing import running_sandbox
from tests.factories import channel_fields

from .recorded.facebook import FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, GRAPH
from .recorded.linkedin import LINKEDIN_CREDENTIALS, LINKEDIN_SETTINGS

LINKEDIN_WEB = "https://www.linkedin.sandbox.test"
APP = {"client_id": "86abc2xyz", "client_secret": "WPL_AP1.secret"}


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as mock:
        yield mock


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with running_sandbox(app=create_sandbox_app()) as base:
        yield base


def sandbox_adapter(platform: str, sandbox: str, **credentials: str):
    fields, settings = channel_fields(platform, base=sandbox)
    return build_adapter(platform, {**fields, **credentials}, settings, timeout=5, allow_private_network=True)


def test_facebook_asks_the_token_debugger_with_the_token_in_the_header_and_takes_the_earlier_end(router):
    route = router.get(f"{GRAPH}/debug_token").respond(json={"data": {
        "is_valid": True, "type": "PAGE", "expires_at": 0, "data_access_expires_at": 1_800_000_000}})

    ends = FacebookAdapter(FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, timeout=5).access_ends_at()

    assert ends == datetime.fromtimestamp(1_800_000_000, UTC)
    request = route.calls[0].request
    assert request.headers["authorization"] == "Bearer EAAB-page-token"
    assert parse_qs(request.url.query.decode()) == {"input_token": ["EAAB-page-token"]}  # never access_token=


def test_a_facebook_token_that_ends_sooner_than_its_data_access_answers_its_own_end(router):
    router.get(f"{GRAPH}/debug_token").respond(json={"data": {
        "is_valid": True, "expires_at": 1_700_000_000, "data_access_expires_at": 1_800_000_000}})
    assert FacebookAdapter(FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, timeout=5).access_ends_at() == \
        datetime.fromtimestamp(1_700_000_000, UTC)


def test_a_token_meta_calls_invalid_marks_the_channel_and_one_that_never_ends_says_none(router):
    route = router.get(f"{GRAPH}/debug_token")
    route.side_effect = [httpx.Response(200, json={"data": {"is_valid": False, "expires_at": 1_700_000_000}}),
                         httpx.Response(200, json={"data": {"is_valid": True, "expires_at": 0}})]
    adapter = FacebookAdapter(FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, timeout=5)
    with pytest.raises(CredentialsError, match="no longer valid: connect the channel again"):
        adapter.access_ends_at()
    assert adapter.access_ends_at() is None


def test_the_sandbox_page_token_tells_its_data_access_end_and_an_expiring_one_is_five_days_off(sandbox):
    now = datetime.now(UTC)
    ordinary = sandbox_adapter("facebook", sandbox).access_ends_at()
    soon = sandbox_adapter("facebook", sandbox, page_access_token="page-token-expiring").access_ends_at()
    assert ordinary is not None and timedelta(days=89) < ordinary - now <= timedelta(days=90, minutes=1)
    assert soon is not None and timedelta(days=4) < soon - now <= timedelta(days=5, minutes=1)


def test_an_instagram_address_without_the_debugger_says_nothing_rather_than_failing(sandbox):
    adapter = sandbox_adapter("instagram", sandbox)
    assert isinstance(adapter, AccessEnds)
    assert adapter.access_ends_at() is None


def test_linkedin_introspects_with_the_apps_id_and_secret_in_a_form_never_the_address(router):
    route = router.post(f"{LINKEDIN_WEB}/oauth/v2/introspectToken").respond(json={
        "active": True, "status": "active", "client_id": APP["client_id"], "expires_at": 1_790_000_000})
    adapter = LinkedInAdapter({**LINKEDIN_CREDENTIALS, **APP}, {**LINKEDIN_SETTINGS, "web_base": LINKEDIN_WEB},
                              timeout=5)

    assert adapter.access_ends_at() == datetime.fromtimestamp(1_790_000_000, UTC)
    request = route.calls[0].request
    assert not request.url.query and "authorization" not in request.headers
    assert parse_qs(request.content.decode()) == {"client_id": [APP["client_id"]],
                                                  "client_secret": [APP["client_secret"]],
                                                  "token": [LINKEDIN_CREDENTIALS["access_token"]]}


def test_linkedin_without_the_apps_id_and_secret_asks_nothing(router):
    adapter = LinkedInAdapter(LINKEDIN_CREDENTIALS, {**LINKEDIN_SETTINGS, "web_base": LINKEDIN_WEB}, timeout=5)
    assert adapter.access_ends_at() is None
    assert not router.calls


def test_the_sandbox_linkedin_token_lasts_sixty_days_and_an_expired_or_a_wrong_secret_says_what_to_fix(sandbox):
    now = datetime.now(UTC)
    ends = sandbox_adapter("linkedin", sandbox, **APP).access_ends_at()
    assert ends is not None and timedelta(days=58) < ends - now <= timedelta(days=59, minutes=1)
    with pytest.raises(CredentialsError, match="no longer active: connect the channel again"):
        sandbox_adapter("linkedin", sandbox, access_token="member-token-expired", **APP).access_ends_at()
    with pytest.raises(PermanentError, match="refused the app's client ID and secret"):
        sandbox_adapter("linkedin", sandbox, client_id="86abc2xyz", client_secret="bad").access_ends_at()
