import pytest

from civicpost.platforms import DELETABLE, PLATFORMS, RECONCILABLE, build_adapter
from civicpost.platforms.feed import FeedAdapter

from .conftest import KEY, make_outgoing

SAMPLE = {
    "x": ({"oauth2_access_token": "t"}, {}),
    "facebook": ({"page_access_token": "t"}, {"page_id": "1"}),
    "mastodon": ({"access_token": "t"}, {"api_base": "https://social.example"}),
    "bluesky": ({"handle": "a.example", "app_password": "p"}, {}),
    "email": ({}, {"smtp_host": "127.0.0.1", "from": "a@city.example", "to": ["b@city.example"]}),
    "webhook": ({"secret": "s"}, {"url": "https://hooks.example/in"}),
    "feed": ({}, {}),
}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_build_adapter_makes_each_platform_adapter_without_touching_the_network(platform: str) -> None:
    credentials, settings = SAMPLE[platform]
    adapter = build_adapter(platform, credentials, settings, timeout=3, allow_private_network=True)
    assert type(adapter).__module__ == f"civicpost.platforms.{platform}"


def test_an_unknown_platform_is_refused() -> None:
    with pytest.raises(KeyError):
        build_adapter("myspace", {}, {}, timeout=3, allow_private_network=True)


def test_email_is_the_one_platform_that_cannot_delete_and_webhooks_cannot_be_searched() -> None:
    assert PLATFORMS - DELETABLE == {"email"}
    assert PLATFORMS - RECONCILABLE == {"email", "webhook"}


def test_the_feed_publishes_the_delivery_itself_and_always_finds_it() -> None:
    feed = FeedAdapter({}, {"url": "https://city.example/announcements"}, timeout=3)

    receipt = feed.publish(make_outgoing())

    assert (receipt.remote_id, receipt.remote_url) == (KEY, "https://city.example/announcements")
    assert feed.find(make_outgoing()) == receipt
    feed.delete(KEY)
