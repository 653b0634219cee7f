"""The account's own latest post (SPEC §8.3): a post made in the platform's own
app keeps a channel from looking quiet, so the adapters that can read it say
when the account last posted, against recorded answers and the sandbox."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import respx

from civicpost.platforms import SPECS, LatestPost, build_adapter, where
from civicpost.platforms.facebook.adapter import FacebookAdapter
from civicpost.platforms.mastodon.adapter import MastodonAdapter
from civicpost.platforms.x.adapter import XAdapter
from civicpost.sandbox import create_sandbox_app
from civicpost.sandbox.testing import running_sandbox
from tests.factories import channel_fields, make_outgoing

from .recorded.facebook import FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, GRAPH, PAGE_ID
from .recorded.mastodon import MASTODON_ACCOUNT, MASTODON_BASE, mastodon_status
from .recorded.x import X_BASE, X_CREDENTIALS
from .worlds import sample_media


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with running_sandbox(app=create_sandbox_app()) as base:
        yield base


def test_x_mastodon_bluesky_and_facebook_say_when_the_account_last_posted() -> None:
    assert {"x", "mastodon", "bluesky", "facebook"} <= where(lambda s: s.capabilities.latest_post)
    assert not where(lambda s: s.capabilities.latest_post and not s.capabilities.metrics)


def test_x_asks_for_the_five_newest_posts_and_answers_the_newest_time(mock: responses.RequestsMock) -> None:
    mock.get(f"{X_BASE}/2/users/me", json={"data": {"id": "1", "username": "CityOfExample"}})
    mock.get(f"{X_BASE}/2/users/1/tweets", json={"data": [
        {"id": "1880000000000000003", "text": "Posted in the X app", "created_at": "2026-03-02T14:05:00.000Z"},
        {"id": "1880000000000000002", "text": "Pools open", "created_at": "2026-02-27T09:00:00.000Z"}]})

    latest = XAdapter(X_CREDENTIALS, {"api_base": X_BASE}, timeout=5).latest_post_at()

    assert latest == datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
    sent = parse_qs(urlsplit(mock.calls[1].request.url).query)
    assert sent["max_results"] == ["5"] and sent["tweet.fields"] == ["created_at"]


def test_an_x_account_that_never_posted_has_no_latest_post(mock: responses.RequestsMock) -> None:
    mock.get(f"{X_BASE}/2/users/me", json={"data": {"id": "1", "username": "CityOfExample"}})
    mock.get(f"{X_BASE}/2/users/1/tweets", json={"meta": {"result_count": 0}})
    assert XAdapter(X_CREDENTIALS, {"api_base": X_BASE}, timeout=5).latest_post_at() is None


def test_mastodon_reads_the_accounts_newest_status(mock: responses.RequestsMock) -> None:
    mock.get(f"{MASTODON_BASE}/api/v1/accounts/verify_credentials", json=MASTODON_ACCOUNT)
    mock.get(f"{MASTODON_BASE}/api/v1/accounts/{MASTODON_ACCOUNT['id']}/statuses",
             json=[mastodon_status("113000000000000009", "<p>Trail closed</p>", created_at="2026-03-01T08:30:00.000Z")])

    latest = MastodonAdapter({"access_token": "tok"}, {"api_base": MASTODON_BASE}, timeout=5).latest_post_at()

    assert latest == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert parse_qs(urlsplit(mock.calls[1].request.url).query)["limit"] == ["1"]


def test_facebook_reads_the_pages_newest_post_and_a_page_without_posts_has_none() -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{GRAPH}/{PAGE_ID}/posts")
        route.side_effect = [
            respx.MockResponse(200, json={"data": [{"id": f"{PAGE_ID}_1", "created_time": "2026-02-20T17:00:00+0000"}]}),
            respx.MockResponse(200, json={"data": []}),
        ]
        adapter = FacebookAdapter(FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, timeout=5)
        assert adapter.latest_post_at() == datetime(2026, 2, 20, 17, 0, tzinfo=UTC)
        assert adapter.latest_post_at() is None
        assert route.calls[0].request.url.params["limit"] == "1"
        assert "page_access_token" not in str(route.calls[0].request.url)


@pytest.mark.parametrize("platform", sorted(where(lambda s: s.capabilities.latest_post)))
def test_the_sandbox_tells_each_platform_when_the_account_last_posted(
    sandbox: str, platform: str, request: pytest.FixtureRequest, tmp_path: Path,
) -> None:
    credentials, settings = channel_fields(platform, base=sandbox)
    adapter = build_adapter(platform, credentials, settings, timeout=5, allow_private_network=True)
    assert isinstance(adapter, LatestPost)
    media = sample_media(request.getfixturevalue("image_host"), tmp_path) if SPECS[platform].media.required else []
    before = datetime.now(UTC)
    adapter.publish(make_outgoing(key=f"latest-{platform}-0000-0000-000000000000", text="Posted by hand",
                                  media=media))

    latest = adapter.latest_post_at()

    assert latest is not None and before - timedelta(seconds=5) <= latest <= datetime.now(UTC) + timedelta(seconds=5)
