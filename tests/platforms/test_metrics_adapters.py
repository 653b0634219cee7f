"""Reading how posts did, against each platform's recorded answers (SPEC §8.3):
the counts come back under civicpost's names, in the platform's batch size,
a 429 is a wait, and Facebook skips a Page insights metric Meta retired."""

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import responses
import respx

from civicpost.platforms import SPECS, Metrics, RateLimited, build_adapter, where
from civicpost.platforms.facebook.adapter import FacebookAdapter
from civicpost.platforms.mastodon.adapter import MastodonAdapter
from civicpost.platforms.x.adapter import XAdapter
from civicpost.sandbox import create_sandbox_app
from civicpost.sandbox.testing import running_sandbox
from tests.factories import channel_fields, make_outgoing

from .recorded.facebook import FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, GRAPH, PAGE_ID, graph_error
from .recorded.mastodon import MASTODON_ACCOUNT, MASTODON_BASE, mastodon_rate_limit_headers, mastodon_status
from .recorded.x import X_BASE, X_CREDENTIALS, x_problem, x_rate_limit_headers
from .worlds import sample_media

POST_A, POST_B = f"{PAGE_ID}_122101234567890123", f"{PAGE_ID}_122101234567890124"


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as mocked:
        yield mocked


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_every_platform_that_reads_counts_says_how_many_posts_one_reading_takes() -> None:
    readable = where(lambda s: s.capabilities.metrics)
    assert {"x", "mastodon", "bluesky", "facebook"} <= readable
    assert {name: SPECS[name].metrics_batch for name in ("x", "mastodon", "bluesky", "facebook")} == \
        {"x": 100, "mastodon": 20, "bluesky": 25, "facebook": 50}
    assert all(SPECS[name].metrics_batch > 0 for name in readable)


def test_x_reads_public_metrics_of_many_posts_in_one_call_and_leaves_out_a_deleted_one(
    mock: responses.RequestsMock,
) -> None:
    metrics = {"retweet_count": 3, "reply_count": 2, "like_count": 17, "quote_count": 1, "bookmark_count": 4,
               "impression_count": 950}
    mock.get(f"{X_BASE}/2/tweets", json={
        "data": [{"id": "1880000000000000001", "text": "Pools open", "public_metrics": metrics}],
        "errors": [{"value": "1880000000000000002", "detail": "Could not find tweet", "title": "Not Found Error",
                    "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    adapter = XAdapter(X_CREDENTIALS, {"api_base": X_BASE}, timeout=5)

    counts = adapter.read_counts(["1880000000000000001", "1880000000000000002"])

    assert counts == {"1880000000000000001": {"likes": 17, "reposts": 3, "replies": 2, "quotes": 1, "views": 950}}
    sent = query(mock.calls[0].request.url)
    assert sent["ids"] == ["1880000000000000001,1880000000000000002"]
    assert sent["tweet.fields"] == ["public_metrics"]


def test_x_answering_429_to_a_reading_is_a_wait_until_its_reset(mock: responses.RequestsMock) -> None:
    mock.get(f"{X_BASE}/2/tweets", status=429, json=x_problem(429, "Too Many Requests", "Too Many Requests"),
             headers=x_rate_limit_headers(120))

    with pytest.raises(RateLimited) as caught:
        XAdapter(X_CREDENTIALS, {"api_base": X_BASE}, timeout=5).read_counts(["1880000000000000001"])
    assert caught.value.retry_after is not None and 100 < caught.value.retry_after <= 120


def test_x_followers_come_from_the_account_public_metrics(mock: responses.RequestsMock) -> None:
    mock.get(f"{X_BASE}/2/users/me", json={"data": {"id": "1", "username": "CityOfExample",
                                                    "public_metrics": {"followers_count": 5120}}})
    assert XAdapter(X_CREDENTIALS, {"api_base": X_BASE}, timeout=5).followers() == 5120
    assert query(mock.calls[0].request.url)["user.fields"] == ["public_metrics"]


def test_mastodon_reads_favourites_reblogs_and_replies_of_up_to_20_statuses_at_once(
    mock: responses.RequestsMock,
) -> None:
    mock.get(f"{MASTODON_BASE}/api/v1/statuses", json=[
        mastodon_status("113000000000000001", "<p>Pools open</p>", favourites_count=12, reblogs_count=4,
                        replies_count=1)])
    adapter = MastodonAdapter({"access_token": "tok"}, {"api_base": MASTODON_BASE}, timeout=5)

    counts = adapter.read_counts(["113000000000000001", "113000000000000002"])

    assert counts == {"113000000000000001": {"likes": 12, "reposts": 4, "replies": 1}}
    assert query(mock.calls[0].request.url)["id[]"] == ["113000000000000001", "113000000000000002"]


def test_mastodon_answering_429_to_a_reading_is_a_wait(mock: responses.RequestsMock) -> None:
    mock.get(f"{MASTODON_BASE}/api/v1/statuses", status=429, json={"error": "Too many requests"},
             headers=mastodon_rate_limit_headers(300))
    with pytest.raises(RateLimited) as caught:
        MastodonAdapter({"access_token": "tok"}, {"api_base": MASTODON_BASE}, timeout=5).read_counts(["1"])
    assert caught.value.retry_after is not None and 250 < caught.value.retry_after <= 300


def test_mastodon_followers_come_from_the_account(mock: responses.RequestsMock) -> None:
    mock.get(f"{MASTODON_BASE}/api/v1/accounts/verify_credentials",
             json={**MASTODON_ACCOUNT, "followers_count": 812})
    assert MastodonAdapter({"access_token": "tok"}, {"api_base": MASTODON_BASE}, timeout=5).followers() == 812


def reactions(likes: int, comments: int, shares: int) -> dict:
    return {"reactions": {"data": [], "summary": {"total_count": likes}},
            "comments": {"data": [], "summary": {"total_count": comments}}, "shares": {"count": shares}}


def test_facebook_reads_reactions_comments_and_shares_of_a_batch_in_one_call(router: respx.MockRouter) -> None:
    batch = router.get(f"{GRAPH}/").respond(json={POST_A: {"id": POST_A, **reactions(30, 4, 2)},
                                                   POST_B: {"id": POST_B, **reactions(0, 0, 0)}})

    counts = FacebookAdapter(FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, timeout=5).read_counts([POST_A, POST_B])

    assert counts == {POST_A: {"likes": 30, "replies": 4, "reposts": 2}, POST_B: {"likes": 0, "replies": 0,
                                                                                  "reposts": 0}}
    sent = batch.calls[0].request.url.params
    assert sent["ids"] == f"{POST_A},{POST_B}"
    assert sent["fields"].startswith("reactions.summary(total_count).limit(0)")


def test_facebook_skips_a_page_insights_metric_meta_retired_with_a_warning_and_keeps_the_others(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture,
) -> None:
    router.get(f"{GRAPH}/").respond(json={POST_A: {"id": POST_A, **reactions(5, 1, 0)}})

    def insights(request: httpx.Request) -> httpx.Response:
        metric = request.url.params["metric"]
        if "post_engaged_fan" in metric.split(","):
            return httpx.Response(400, json=graph_error(100, "(#100) The value must be a valid insights metric"))
        return httpx.Response(200, json={"data": [{"name": metric, "period": "lifetime", "values": [{"value": 640}]}]})

    route = router.get(f"{GRAPH}/{POST_A}/insights").mock(side_effect=insights)
    settings = {**FACEBOOK_SETTINGS, "insights_metrics": ["post_impressions_unique", "post_engaged_fan"]}
    adapter = FacebookAdapter(FACEBOOK_CREDENTIALS, settings, timeout=5)

    with caplog.at_level(logging.WARNING):
        counts = adapter.read_counts([POST_A])

    assert counts == {POST_A: {"likes": 5, "replies": 1, "reposts": 0, "post_impressions_unique": 640}}
    assert "post_engaged_fan" in caplog.text and "skipped" in caplog.text
    calls = route.call_count
    adapter.read_counts([POST_A])  # the retired metric is not asked for again
    assert route.call_count == calls + 1


def test_facebook_reads_the_rest_of_a_batch_when_one_post_was_deleted_on_facebook(router: respx.MockRouter) -> None:
    router.get(f"{GRAPH}/").respond(400, json=graph_error(100, "(#803) Some of the aliases you requested do not exist"))
    router.get(f"{GRAPH}/{POST_A}").respond(json={"id": POST_A, **reactions(9, 0, 1)})
    router.get(f"{GRAPH}/{POST_B}").respond(400, json=graph_error(100, "Unsupported get request"))

    counts = FacebookAdapter(FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, timeout=5).read_counts([POST_A, POST_B])

    assert counts == {POST_A: {"likes": 9, "replies": 0, "reposts": 1}}


def test_facebook_throttling_a_reading_is_a_wait(router: respx.MockRouter) -> None:
    router.get(f"{GRAPH}/").respond(400, json=graph_error(32, "(#32) Page request limit reached"))
    with pytest.raises(RateLimited):
        FacebookAdapter(FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, timeout=5).read_counts([POST_A])


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with running_sandbox(app=create_sandbox_app()) as base:
        yield base


@pytest.mark.parametrize("platform", sorted(where(lambda s: s.capabilities.metrics)))
def test_the_sandbox_answers_every_reading_platform_with_counts_and_followers(
    sandbox: str, platform: str, request: pytest.FixtureRequest, tmp_path: Path,
) -> None:
    credentials, settings = channel_fields(platform, base=sandbox)
    adapter = build_adapter(platform, credentials, settings, timeout=5, allow_private_network=True)
    assert isinstance(adapter, Metrics)
    media = sample_media(request.getfixturevalue("image_host"), tmp_path) if SPECS[platform].media.required else []
    receipt = adapter.publish(make_outgoing(key=f"metrics-{platform}-0000-0000-000000000000", text="Pools open",
                                            media=media))

    counts = adapter.read_counts([receipt.remote_id])

    assert set(counts) == {receipt.remote_id}
    assert {"likes", "replies"} <= set(counts[receipt.remote_id])
    assert all(isinstance(v, int) and v >= 0 for v in counts[receipt.remote_id].values())
    followers = adapter.followers()
    assert followers is not None and followers > 0


def test_threads_reads_each_post_insights_and_leaves_out_a_deleted_one(router: respx.MockRouter) -> None:
    from civicpost.platforms.threads.adapter import ThreadsAdapter

    base = "https://threads.sandbox.test/v1.0"
    router.get(f"{base}/17890000000000001/insights").respond(json={"data": [
        {"name": "views", "period": "lifetime", "values": [{"value": 420}]},
        {"name": "likes", "period": "lifetime", "values": [{"value": 11}]},
        {"name": "replies", "period": "lifetime", "values": [{"value": 2}]}]})
    router.get(f"{base}/17890000000000002/insights").respond(
        400, json=graph_error(100, "Object with ID '17890000000000002' does not exist", subcode=33))
    adapter = ThreadsAdapter({"access_token": "THAA-token"},
                             {"threads_user_id": "26000000000000001", "api_base": "https://threads.sandbox.test"},
                             timeout=5)

    counts = adapter.read_counts(["17890000000000001", "17890000000000002"])

    assert counts == {"17890000000000001": {"views": 420, "likes": 11, "replies": 2}}
