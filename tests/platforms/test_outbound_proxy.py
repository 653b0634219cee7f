"""A city's servers often reach the internet through a proxy set in the
environment; the requests-based adapters read it once and must still use it."""

from collections.abc import Iterator

import pytest
import responses

from civicpost.platforms.mastodon.adapter import MastodonAdapter
from civicpost.platforms.x.adapter import XAdapter
from tests.factories import make_outgoing

from .recorded.mastodon import MASTODON_BASE, mastodon_status
from .recorded.x import X_BASE, X_CREDENTIALS, x_tweet

PROXY = "http://proxy.city.example:3128"


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


def post_once(platform: str, mock: responses.RequestsMock) -> responses.Call:
    if platform == "x":
        mock.post(f"{X_BASE}/2/tweets", json=x_tweet("1", "Pools open"), status=201)
        XAdapter(X_CREDENTIALS, {"api_base": X_BASE}, timeout=5).publish(make_outgoing(text="Pools open"))
    else:
        mock.post(f"{MASTODON_BASE}/api/v1/statuses", json=mastodon_status("1", "<p>Pools open</p>"))
        MastodonAdapter({"access_token": "tok"}, {"api_base": MASTODON_BASE}, timeout=5).publish(
            make_outgoing(text="Pools open")
        )
    return mock.calls[0]


@pytest.mark.parametrize("platform", ["x", "mastodon"])
def test_a_proxy_from_the_environment_carries_the_post(platform, mock, monkeypatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", PROXY)

    call = post_once(platform, mock)

    assert call.request.req_kwargs["proxies"].get("https") == PROXY


@pytest.mark.parametrize("platform", ["x", "mastodon"])
def test_a_host_in_no_proxy_is_reached_directly(platform, mock, monkeypatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", PROXY)
    monkeypatch.setenv("NO_PROXY", "x.sandbox.test,social.sandbox.test")

    call = post_once(platform, mock)

    assert not call.request.req_kwargs["proxies"].get("https")


def test_a_ca_bundle_from_the_environment_is_used(mock, monkeypatch, tmp_path) -> None:
    bundle = tmp_path / "city-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))

    call = post_once("mastodon", mock)

    assert call.request.req_kwargs["verify"] == str(bundle)
