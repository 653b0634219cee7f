"""One set of cases, run through every adapter: what the worker may rely on."""

from collections.abc import Iterator
from typing import Any

import pytest
import responses
import respx

from civicpost.platforms import (
    DELETABLE,
    PLATFORMS,
    CredentialsError,
    MaybePosted,
    PermanentError,
    RateLimited,
    Receipt,
    TransientError,
)

from .conftest import make_outgoing
from .fakes import TIMEOUT, BlueskyFake, EmailFake, FacebookFake, FeedFake, MastodonFake, WebhookFake, XFake


@pytest.fixture(params=sorted(PLATFORMS))
def fake(request: pytest.FixtureRequest) -> Iterator[Any]:
    platform = request.param
    if platform in {"x", "mastodon"}:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            yield XFake(mock) if platform == "x" else MastodonFake(mock)
    elif platform in {"bluesky", "facebook"}:
        with respx.mock(assert_all_called=False) as router:
            yield BlueskyFake(router) if platform == "bluesky" else FacebookFake(router)
    elif platform == "email":
        yield EmailFake(request.getfixturevalue("smtp_server"))
    elif platform == "webhook":
        yield WebhookFake(request.getfixturevalue("webhook_receiver"))
    else:
        yield FeedFake()


def outgoing_for(platform: str) -> Any:
    if platform == "webhook":
        return make_outgoing(text='{"title": "Pools open", "body": "Saturday at 10am"}')
    return make_outgoing()


def test_a_publish_the_platform_accepts_returns_a_receipt_with_the_remote_id(fake: Any) -> None:
    fake.accept()
    receipt = fake.adapter().publish(outgoing_for(fake.platform))
    assert isinstance(receipt, Receipt)
    assert receipt.remote_id
    assert receipt.part_ids[0] == receipt.remote_id


def test_a_rate_limit_answer_becomes_rate_limited_with_the_wait_the_platform_announced(fake: Any) -> None:
    if not fake.refuse("rate_limited"):
        pytest.skip(f"{fake.platform} has no rate limit answer")
    with pytest.raises(RateLimited) as caught:
        fake.adapter().publish(outgoing_for(fake.platform))
    assert caught.value.retry_after is not None and caught.value.retry_after > 0


def test_a_server_error_becomes_a_transient_error_that_is_not_maybe_posted(fake: Any) -> None:
    if not fake.refuse("server_error"):
        pytest.skip(f"{fake.platform} cannot fail")
    with pytest.raises(TransientError) as caught:
        fake.adapter().publish(outgoing_for(fake.platform))
    assert not isinstance(caught.value, (RateLimited, MaybePosted))


def test_refused_credentials_become_a_credentials_error(fake: Any) -> None:
    if not fake.refuse("bad_credentials"):
        pytest.skip(f"{fake.platform} has no credentials")
    with pytest.raises(CredentialsError):
        fake.adapter().publish(outgoing_for(fake.platform))


def test_a_post_the_platform_refuses_for_good_becomes_a_permanent_error_not_a_credentials_one(fake: Any) -> None:
    if not fake.refuse("rejected"):
        pytest.skip(f"{fake.platform} cannot refuse a post")
    with pytest.raises(PermanentError) as caught:
        fake.adapter().publish(outgoing_for(fake.platform))
    assert not isinstance(caught.value, CredentialsError)


def test_delete_takes_down_what_publish_made_where_the_platform_allows_it(fake: Any) -> None:
    fake.accept()
    adapter = fake.adapter()
    receipt = adapter.publish(outgoing_for(fake.platform))
    if fake.platform in DELETABLE:
        adapter.delete(receipt.remote_id)
    else:
        with pytest.raises(PermanentError):
            adapter.delete(receipt.remote_id)


def test_every_request_carries_the_channel_timeout(fake: Any) -> None:
    fake.accept()
    fake.adapter().publish(outgoing_for(fake.platform))
    assert all(timeout == TIMEOUT for timeout in fake.timeouts())


def test_check_answers_a_dict_of_facts_when_the_credentials_work(fake: Any) -> None:
    fake.accept()
    assert isinstance(fake.adapter().check(), dict)
