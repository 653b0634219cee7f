"""A channel may not point at an internal address (issue 11, finding 9; SPEC
§8.1 "Outbound addresses"): refused at create, with the field and the reason,
after resolving names and whatever the spelling."""

import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from civicpost import net
from tests.factories import PASSWORD
from tests.pages import csrf_of

# Loopback, unspecified, private, link-local, shared, multicast and reserved,
# in the spellings a client accepts.
REFUSED_HOSTS = [
    "127.0.0.1", "127.1", "0x7f000001", "2130706433", "0177.0.0.1", "127.255.255.254", "[::1]",
    "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[2002:7f00:1::1]", "0.0.0.0", "0", "[::]",
    "10.1.2.3", "172.16.0.1", "192.168.1.10", "[fd00::1]", "169.254.169.254", "[fe80::1]",
    "100.64.0.1", "224.0.0.1", "[ff02::1]", "240.0.0.1", "255.255.255.255", "localhost", "api.localhost",
]
PUBLIC_IP = "93.184.216.34"


class FakeDns:
    """The name service, faked at the edge: names answer what a test says."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.asked: list[str] = []

    def __call__(self, host, port, *args, **kwargs):
        self.asked.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0))
                for ip in self.answers[host]]


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(net, "resolver", fake)
    return fake


@pytest.fixture
def strict(settings, engine) -> Iterator[TestClient]:
    """The app as a city runs it: CIVICPOST_ALLOW_PRIVATE_NETWORK unset."""
    from civicpost.web import create_app

    with TestClient(create_app(settings.model_copy(update={"allow_private_network": False}), engine=engine)) as c:
        yield c


@pytest.fixture
def admin(people):
    people.department("parks")
    return people.person("admin")


def channel(platform: str, settings: dict) -> dict:
    credentials = {"webhook": {"secret": "s"}, "email": {}}.get(platform, {"access_token": "t"})
    return {"department": "parks", "platform": platform, "name": f"Parks {platform}", "credentials": credentials,
            "settings": settings}


FIELDS = {
    "api_base": ("mastodon", lambda host: {"api_base": f"https://{host}/"}),
    "url": ("webhook", lambda host: {"url": f"http://{host}:8080/hook"}),
    "smtp_host": ("email", lambda host: {"smtp_host": host.strip("[]"), "smtp_port": 25, "from": "a@city.example",
                                         "to": ["b@city.example"]}),
}


@pytest.mark.parametrize("host", REFUSED_HOSTS)
@pytest.mark.parametrize("field", sorted(FIELDS))
def test_a_channel_pointing_at_an_internal_address_is_refused_naming_the_field_and_why(strict, admin, field, host):
    platform, settings_for = FIELDS[field]

    r = strict.post("/api/v1/channels", headers=admin.auth, json=channel(platform, settings_for(host)))

    assert r.status_code == 422, r.text
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert list(errors) == [f"settings.{field}"], errors
    assert "refused" in errors[f"settings.{field}"] and "CIVICPOST_ALLOW_PRIVATE_NETWORK" in errors[f"settings.{field}"]


def test_the_refusal_says_what_kind_of_address_it_is(strict, admin):
    r = strict.post("/api/v1/channels", headers=admin.auth,
                    json=channel("mastodon", {"api_base": "http://0x7f000001/"}))
    assert "0x7f000001 (127.0.0.1) is a loopback address" in r.text
    r = strict.post("/api/v1/channels", headers=admin.auth,
                    json=channel("mastodon", {"api_base": "http://169.254.169.254/"}))
    assert "link-local" in r.text and "metadata" in r.text


def test_a_name_is_resolved_and_refused_if_any_of_its_addresses_is_internal(strict, admin, dns):
    dns.answers["gateway.city.example"] = ["10.0.0.7"]
    dns.answers["mixed.city.example"] = [PUBLIC_IP, "127.0.0.1"]

    for name, address in (("gateway.city.example", "10.0.0.7"), ("mixed.city.example", "127.0.0.1")):
        r = strict.post("/api/v1/channels", headers=admin.auth,
                        json=channel("mastodon", {"api_base": f"https://{name}"}))
        assert r.status_code == 422 and f"{name} resolves to {address}" in r.text, r.text
    assert dns.asked == ["gateway.city.example", "mixed.city.example"]


def test_a_public_address_or_a_name_resolving_to_one_is_accepted(strict, admin, dns):
    dns.answers["social.city.example"] = [PUBLIC_IP, "2606:2800:220:1:248:1893:25c8:1946"]

    for api_base in ("https://social.city.example", "https://8.8.8.8"):
        r = strict.post("/api/v1/channels", headers=admin.auth, json=channel("mastodon", {"api_base": api_base}))
        assert r.status_code == 201, r.text
    assert dns.asked == ["social.city.example"]


def test_a_name_that_cannot_be_found_is_refused_with_what_to_check(strict, admin, dns):
    r = strict.post("/api/v1/channels", headers=admin.auth,
                    json=channel("webhook", {"url": "https://hooks.nowhere.example/in"}))

    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "settings.url",
                                   "message": "the name hooks.nowhere.example cannot be found: check the address"}]
    assert dns.asked == ["hooks.nowhere.example"]


def test_allowing_the_private_network_lets_a_channel_reach_the_sandbox_on_loopback(client, admin):
    r = client.post("/api/v1/channels", headers=admin.auth,
                    json=channel("mastodon", {"api_base": "http://127.0.0.1:8025/mastodon"}))
    assert r.status_code == 201, r.text


def test_the_staff_page_shows_the_refusal_beside_the_address(strict, admin):
    page = strict.get("/staff/login")
    strict.post("/staff/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    form = strict.get("/staff/channels?platform=mastodon")
    r = strict.post("/staff/channels", data={
        "csrf_token": csrf_of(form.text), "platform": "mastodon", "department": "parks", "name": "Parks on Mastodon",
        "language": "en", "credentials.access_token": "t", "settings.api_base": "http://[::1]:3000/"})

    assert r.status_code == 422
    assert "::1 is a loopback address" in r.text
