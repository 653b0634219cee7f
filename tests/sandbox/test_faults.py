"""Injected faults, seen through the real SDKs: rate limits, 5xx, latency, accept-then-hang."""

import time

import httpx
import pytest
import requests
import tweepy
from atproto import Client
from atproto_client.exceptions import NetworkError, RateLimitExceededError, RequestException
from mastodon import MastodonRatelimitError, MastodonServiceUnavailableError

from civicpost.sandbox import fake_classes

from .clients import mastodon_client, x_client

PAGE = "102030405060708"


def test_x_rate_limit_gives_tweepy_the_reset_time_from_x_rate_limit_reset(sandbox):
    sandbox.faults(x={"rate_limit_next": 1, "rate_limit_reset_s": 120})

    with pytest.raises(tweepy.TooManyRequests) as limited:
        x_client(sandbox.url).create_tweet(text="throttled")

    assert 110 < limited.value.reset_time - time.time() <= 121
    assert sandbox.state.x.tweets == {}


def test_mastodon_rate_limit_is_thrown_with_an_iso_reset_header(sandbox):
    sandbox.faults(mastodon={"rate_limit_next": 1})

    with pytest.raises(MastodonRatelimitError):
        mastodon_client(sandbox.url).status_post("throttled")
    sandbox.faults(mastodon={"rate_limit_next": 1})
    raw = requests.post(
        f"{sandbox.url}/mastodon/api/v1/statuses", data={"status": "x"}, headers={"Authorization": "Bearer t"}
    )

    assert raw.status_code == 429
    assert raw.headers["X-RateLimit-Remaining"] == "0"
    assert raw.headers["X-RateLimit-Reset"].endswith("Z")


def test_bluesky_rate_limit_carries_ratelimit_reset(sandbox):
    client = Client(base_url=f"{sandbox.url}/bluesky")
    client.login("city.bsky.social", "pw")
    sandbox.faults(bluesky={"rate_limit_next": 1, "rate_limit_reset_s": 30})

    with pytest.raises(RateLimitExceededError) as limited:
        client.send_post("throttled")

    reset = int(limited.value.response.headers["ratelimit-reset"])
    assert 20 < reset - time.time() <= 31
    assert limited.value.response.content.error == "RateLimitExceeded"


@pytest.mark.parametrize(
    ("code", "header"), [(4, "x-app-usage"), (32, "x-business-use-case-usage"), (80001, "x-business-use-case-usage")]
)
def test_graph_throttling_uses_graphs_error_codes_and_usage_headers(sandbox, code, header):
    sandbox.faults(graph={"rate_limit_next": 1, "graph_throttle_code": code})

    response = httpx.post(
        f"{sandbox.url}/graph/v21.0/{PAGE}/feed", data={"message": "throttled"}, headers={"Authorization": "Bearer t"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["is_transient"] is True
    assert header in response.headers


def test_fail_next_fails_exactly_that_many_requests_then_recovers(sandbox):
    sandbox.faults(mastodon={"fail_next": 2, "fail_status": 503})
    client = mastodon_client(sandbox.url)

    for _ in range(2):
        with pytest.raises(MastodonServiceUnavailableError):
            client.status_post("retry me")
    client.status_post("retry me")

    assert len(sandbox.state.mastodon.statuses) == 1
    assert [r["status"] for r in sandbox.requests("mastodon")] == [503, 503, 200]


@pytest.mark.parametrize(("status", "raised"), [(500, RequestException), (503, RequestException), (502, NetworkError)])
def test_a_bluesky_5xx_reaches_atproto_as_its_own_exception_class(sandbox, status, raised):
    # atproto files 502 under NetworkError, beside 409 and 413: adapters must map both classes.
    client = Client(base_url=f"{sandbox.url}/bluesky")
    client.login("city.bsky.social", "pw")
    sandbox.faults(bluesky={"fail_next": 1, "fail_status": status})

    with pytest.raises(raised) as failed:
        client.send_post("upstream down")

    assert failed.value.response.status_code == status


def test_writes_only_faults_spare_sign_in_and_reads(sandbox):
    sandbox.faults(bluesky={"fail_next": 1, "writes_only": True})
    client = Client(base_url=f"{sandbox.url}/bluesky")

    client.login("city.bsky.social", "pw")  # createSession and getProfile pass
    with pytest.raises(RequestException):
        client.send_post("hits the fault")


def test_latency_delays_platform_requests_but_not_the_control_panel(sandbox):
    sandbox.faults(graph={"latency_ms": 300})

    started = time.monotonic()
    httpx.get(f"{sandbox.url}/graph/v21.0/me", headers={"Authorization": "Bearer t"})
    slow = time.monotonic() - started
    started = time.monotonic()
    sandbox.http.get("/_sandbox/faults")
    fast = time.monotonic() - started

    assert slow >= 0.3
    assert fast < 0.3


def test_accept_then_hang_records_the_post_but_the_client_times_out(sandbox):
    sandbox.faults(mastodon={"hang_next": 1, "hang_max_s": 30})
    client = mastodon_client(sandbox.url)
    client.request_timeout = 0.5

    with pytest.raises(Exception, match="(?i)timed out|timeout"):
        client.status_post("Did this go out?", idempotency_key="delivery-7")

    assert [s.text for s in sandbox.state.mastodon.statuses.values()] == ["Did this go out?"]


def test_retrying_a_hung_post_with_its_idempotency_key_finds_the_original(sandbox):
    sandbox.faults(mastodon={"hang_next": 1})
    client = mastodon_client(sandbox.url)
    client.request_timeout = 0.5
    with pytest.raises(Exception):
        client.status_post("Once only", idempotency_key="delivery-8")

    client.request_timeout = 5
    again = client.status_post("Once only", idempotency_key="delivery-8")

    assert list(sandbox.state.mastodon.statuses) == [again.id]


def test_a_hang_ends_when_the_client_disconnects_not_at_the_bound(sandbox):
    sandbox.faults(x={"hang_next": 1, "hang_max_s": 60})
    client = x_client(sandbox.url)
    client.session.get_adapter("https://api.twitter.com").timeout = 0.3

    with pytest.raises(requests.exceptions.Timeout):
        client.create_tweet(text="hung")
    deadline = time.monotonic() + 5
    while sandbox.requests("x")[-1]["status"] == "hanging" and time.monotonic() < deadline:
        time.sleep(0.05)

    entry = sandbox.requests("x")[-1]
    assert (entry["status"], entry["fault"]) == (504, "hang")
    assert len(sandbox.state.x.tweets) == 1


def test_a_hang_never_applies_to_reads(sandbox):
    sandbox.faults(x={"hang_next": 1})

    me = x_client(sandbox.url).get_me(user_auth=True)

    assert me.data.username == "cityofsandbox"
    assert sandbox.http.get("/_sandbox/faults").json()["x"]["hang_next"] == 1


def test_the_error_rate_is_a_seeded_probability(sandbox):
    sandbox.faults(graph={"error_rate": 0.5, "error_status": 500}, seed=7)
    statuses = [
        sandbox.http.get("/graph/v21.0/me", headers={"Authorization": "Bearer t"}).status_code for _ in range(40)
    ]

    assert 5 < statuses.count(500) < 35
    assert set(statuses) == {200, 500}


@pytest.mark.parametrize(
    "body",
    [{"twitter": {"fail_next": 1}}, {"x": {"fail_nxt": 1}}, {"x": {"error_rate": 2}}, {"x": {"hang_max_s": 10_000}}],
)
def test_a_mistyped_fault_request_is_refused_and_changes_nothing(sandbox, body):
    response = sandbox.http.post("/_sandbox/faults", json=body)

    assert response.status_code == 400
    assert sandbox.http.get("/_sandbox/faults").json()["x"]["fail_next"] == 0


def test_reset_clears_faults_but_keeps_the_start_latency(sandbox):
    sandbox.faults(**{"*": {"fail_next": 3}})

    sandbox.http.post("/_sandbox/reset")

    settings = sandbox.http.get("/_sandbox/faults").json()
    assert {s["fail_next"] for s in settings.values()} == {0}


def test_every_fake_the_sandbox_finds_can_be_given_faults_by_its_name(sandbox):
    names = {fake.name for fake in fake_classes()}

    sandbox.faults(**{name: {"fail_next": 1} for name in names})

    settings = sandbox.http.get("/_sandbox/faults").json()
    assert set(settings) == names
    assert {s["fail_next"] for s in settings.values()} == {1}
