"""Right before each connection, the adapters refuse internal addresses again:
a name can resolve differently from when the channel was made, and an answer
can redirect (issue 11, finding 9)."""

import socket

import pytest
import responses
import respx

from civicpost import net
from civicpost.platforms import AddressRefused, build_adapter, guard
from tests.factories import make_outgoing

from .recorded.bluesky import BLUESKY_CREDENTIALS, bluesky_session
from .recorded.mastodon import MASTODON_ACCOUNT
from .recorded.x import X_CREDENTIALS

PUBLIC_IP = "93.184.216.34"


class FakeDns:
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host, port, *args, **kwargs):
        self.asked.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0)) for ip in self.answers[host]]


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns({})
    monkeypatch.setattr(net, "resolver", fake)
    monkeypatch.setattr(guard, "RECHECK_SECONDS", 0.0)  # look again at every connection
    return fake


def strict(platform: str, credentials: dict, settings: dict):
    return build_adapter(platform, credentials, settings, timeout=5, allow_private_network=False)


@pytest.mark.parametrize(("platform", "credentials", "settings"), [
    ("x", X_CREDENTIALS, {"api_base": "http://127.1:8025/x"}),
    ("facebook", {"page_access_token": "t"}, {"api_base": "http://0x7f000001/graph", "page_id": "1"}),
    ("mastodon", {"access_token": "t"}, {"api_base": "http://[::1]:8025/mastodon"}),
    ("bluesky", BLUESKY_CREDENTIALS, {"api_base": "http://169.254.169.254/"}),
    ("webhook", {"secret": "s"}, {"url": "http://[::ffff:127.0.0.1]:9/hook"}),
    ("email", {}, {"smtp_host": "0.0.0.0", "smtp_port": 25, "from": "a@city.example", "to": ["b@city.example"]}),
])
def test_an_adapter_for_an_internal_address_is_refused_before_anything_is_sent(platform, credentials, settings):
    with pytest.raises(AddressRefused, match="refused to connect: .* is (a|the) "):
        strict(platform, credentials, settings)


def test_allowing_the_private_network_builds_the_adapter_for_the_sandbox():
    adapter = build_adapter("mastodon", {"access_token": "t"}, {"api_base": "http://127.0.0.1:8025/mastodon"},
                            timeout=5, allow_private_network=True)
    assert type(adapter).__name__ == "MastodonAdapter"


def test_a_name_that_turns_internal_after_the_channel_was_made_is_refused_before_the_next_post(dns):
    dns.answers["hooks.city.example"] = [PUBLIC_IP]
    adapter = strict("webhook", {"secret": "s"}, {"url": "https://hooks.city.example/in"})
    with respx.mock(assert_all_called=True) as router:
        hook = router.post("https://hooks.city.example/in").respond(201, json={"id": "1"})
        adapter.publish(make_outgoing(text='{"title": "Pools open"}'))

        dns.answers["hooks.city.example"] = ["10.20.30.40"]  # DNS rebinding, or a changed record
        with pytest.raises(AddressRefused, match="hooks.city.example resolves to 10.20.30.40, a private address"):
            adapter.publish(make_outgoing(text='{"title": "Pools open"}'))

    assert hook.call_count == 1
    assert dns.asked.count("hooks.city.example") >= 3  # at build, and before each connection


def test_a_redirect_to_an_internal_address_is_not_followed_by_a_requests_based_client(dns):
    dns.answers["social.city.example"] = [PUBLIC_IP]
    adapter = strict("mastodon", {"access_token": "t"}, {"api_base": "https://social.city.example"})
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get("https://social.city.example/api/v1/accounts/verify_credentials", status=302,
                 headers={"Location": "http://169.254.169.254/latest/meta-data/iam/"})
        with pytest.raises(AddressRefused, match="169.254.169.254 is a link-local address"):
            adapter.check()
        assert [call.request.url for call in mock.calls] == ["https://social.city.example/api/v1/accounts/verify_credentials"]


def test_a_redirect_to_an_internal_address_is_not_followed_by_an_httpx_based_client(dns):
    dns.answers["pds.city.example"] = [PUBLIC_IP]
    adapter = strict("bluesky", BLUESKY_CREDENTIALS, {"api_base": "https://pds.city.example"})
    with respx.mock(assert_all_called=True) as router:
        router.post("https://pds.city.example/xrpc/com.atproto.server.createSession").respond(
            307, headers={"Location": "http://127.0.0.1:2375/containers/json"})
        with pytest.raises(AddressRefused, match="127.0.0.1 is a loopback address"):
            adapter.check()
        assert [str(call.request.url) for call in router.calls] == ["https://pds.city.example/xrpc/com.atproto.server.createSession"]


def test_a_guarded_adapter_still_posts_to_a_public_address(dns):
    dns.answers["social.city.example"] = [PUBLIC_IP]
    adapter = strict("mastodon", {"access_token": "t"}, {"api_base": "https://social.city.example"})
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get("https://social.city.example/api/v1/accounts/verify_credentials", json=MASTODON_ACCOUNT)
        mock.get("https://social.city.example/api/v2/instance/", json={"configuration": {"statuses": {"max_characters": 500}}})
        assert adapter.check()["account"] == "parks"


def test_a_bluesky_sign_in_that_names_an_internal_server_is_not_followed_there(dns):
    dns.answers["pds.city.example"] = [PUBLIC_IP]
    adapter = strict("bluesky", BLUESKY_CREDENTIALS, {"api_base": "https://pds.city.example"})
    session = bluesky_session()
    session["didDoc"] = {"id": session["did"], "service": [
        {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": "http://10.0.0.9:2583"}]}
    with respx.mock(assert_all_called=False) as router:
        sign_in = router.post("https://pds.city.example/xrpc/com.atproto.server.createSession").respond(json=session)
        with pytest.raises(AddressRefused, match="10.0.0.9 is a private address"):
            adapter.publish(make_outgoing())
        assert sign_in.called and all(call.request.url.host == "pds.city.example" for call in router.calls)
