"""What the worker may rely on from every platform: the same cases, generated
from the registry, run against each platform's recorded answers and against
the sandbox that plays it, so the two fake worlds cannot drift apart.

A world registers only the answers a case uses and fails when one is not
asked for; where a platform has no such answer, the world says why and the
case is skipped with that reason.
"""

import time
from collections.abc import Iterator
from typing import Any

import pytest

from civicpost.platforms import (
    SPECS,
    CredentialsError,
    MaybePosted,
    PermanentError,
    RateLimited,
    Receipt,
    TransientError,
)

from .recorded import LATE_S, RECORDED, SHORT_TIMEOUT, TIMEOUT
from .worlds import (
    LiveSandbox,
    SandboxWorld,
    World,
    live_sandbox,
    other_for,
    outgoing_for,
    sample_media,
    thread_for,
    worlds,
)


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[LiveSandbox]:
    with live_sandbox() as live:
        yield live


@pytest.fixture
def world(request: pytest.FixtureRequest) -> Iterator[Any]:
    kind, platform = request.param
    media = []
    if SPECS[platform].media.required:
        media = sample_media(request.getfixturevalue("image_host"), request.getfixturevalue("tmp_path"))
    if kind == "sandbox":
        live: LiveSandbox = request.getfixturevalue("sandbox_server")
        live.reset()
        played = SandboxWorld(SPECS[platform], live, media=media)
        yield played
        played.settle()
        return
    recorded = RECORDED.get(platform)
    assert recorded is not None, f"tests/platforms/recorded/{platform}.py is missing (see its README.md)"
    fake = recorded(**{name: request.getfixturevalue(name) for name in recorded.fixtures})
    fake.media = media
    yield fake


def every(where: Any = lambda spec: True) -> Any:
    return pytest.mark.parametrize("world", worlds(where), indirect=True)


@every()
def test_publish_returns_a_receipt_naming_the_first_part(world: World) -> None:
    outgoing = outgoing_for(world)
    with world.answers("publish", outgoing):
        receipt = world.adapter().publish(outgoing)
    assert isinstance(receipt, Receipt)
    assert receipt.remote_id and receipt.part_ids == [receipt.remote_id]


@every()
def test_the_platform_holds_the_text_sent_under_the_id_of_the_receipt(world: World) -> None:
    outgoing = outgoing_for(world)
    with world.answers("publish", outgoing):
        receipt = world.adapter().publish(outgoing)
    assert [(post.id, post.text) for post in world.posts()] == [(receipt.remote_id, outgoing.text)]


@every(lambda spec: spec.capabilities.thread)
def test_a_thread_posts_its_parts_in_order_each_replying_to_the_last_and_the_receipt_names_them_all(
    world: World,
) -> None:
    outgoing = thread_for(world)
    with world.answers("thread", outgoing):
        receipt = world.adapter().publish(outgoing)
    posts = world.posts()
    assert [post.text for post in posts] == outgoing.parts
    assert receipt.part_ids == [post.id for post in posts]
    assert receipt.remote_id == receipt.part_ids[0]
    assert [post.reply_to for post in posts] == [None, *receipt.part_ids[:-1]]


@every(lambda spec: spec.capabilities.delete)
def test_delete_takes_down_what_publish_made(world: World) -> None:
    outgoing = outgoing_for(world)
    with world.answers("delete", outgoing):
        adapter = world.adapter()
        receipt = adapter.publish(outgoing)
        adapter.delete(receipt.remote_id)
    assert receipt.remote_id not in [post.id for post in world.posts()]


@every(lambda spec: not spec.capabilities.delete)
def test_delete_is_a_permanent_error_where_the_platform_cannot_take_a_post_down(world: World) -> None:
    outgoing = outgoing_for(world)
    with world.answers("delete", outgoing):
        adapter = world.adapter()
        receipt = adapter.publish(outgoing)
        with pytest.raises(PermanentError):
            adapter.delete(receipt.remote_id)


@every(lambda spec: spec.capabilities.find)
def test_find_after_a_restart_finds_what_publish_made(world: World) -> None:
    outgoing = outgoing_for(world)
    with world.answers("find", outgoing):
        receipt = world.adapter().publish(outgoing)
        found = world.adapter().find(outgoing)
    assert found is not None
    assert (found.remote_id, found.part_ids) == (receipt.remote_id, receipt.part_ids)


@every(lambda spec: spec.capabilities.find)
def test_find_answers_none_for_a_post_that_was_never_made(world: World) -> None:
    outgoing = outgoing_for(world)
    with world.answers("find_missing", outgoing):
        world.adapter().publish(outgoing)
        assert world.adapter().find(other_for(world)) is None


@every()
def test_every_request_carries_the_channel_timeout(world: World) -> None:
    outgoing = outgoing_for(world)
    with world.answers("timeouts", outgoing):
        world.adapter().publish(outgoing)
    assert world.timeouts()
    assert set(world.timeouts()) == {TIMEOUT}


@every()
def test_a_platform_slower_than_the_channel_timeout_is_a_transient_error_before_it_answers(world: World) -> None:
    outgoing = outgoing_for(world)
    with world.answers("late", outgoing):
        adapter = world.adapter(timeout=SHORT_TIMEOUT)
        started = time.monotonic()
        with pytest.raises(TransientError):
            adapter.publish(outgoing)
        waited = time.monotonic() - started
    assert waited < LATE_S * 0.8, f"waited {waited:.2f} s for an answer due after {LATE_S} s"


@every()
def test_refused_credentials_become_a_credentials_error(world: World) -> None:
    outgoing = outgoing_for(world)
    with world.answers("bad_credentials", outgoing), pytest.raises(CredentialsError):
        world.adapter().publish(outgoing)


@every()
def test_a_rate_limit_becomes_rate_limited_with_the_wait_the_platform_announced(world: World) -> None:
    outgoing = outgoing_for(world)
    with world.answers("rate_limited", outgoing) as announced, pytest.raises(RateLimited) as caught:
        world.adapter().publish(outgoing)
    assert caught.value.retry_after is not None
    assert announced - 5 <= caught.value.retry_after <= announced + 2


@every()
def test_a_server_error_becomes_a_transient_error_that_is_not_maybe_posted(world: World) -> None:
    outgoing = outgoing_for(world)
    with world.answers("server_error", outgoing), pytest.raises(TransientError) as caught:
        world.adapter().publish(outgoing)
    assert not isinstance(caught.value, (RateLimited, MaybePosted))


@every()
def test_a_post_refused_for_good_becomes_a_permanent_error_not_a_credentials_one(world: World) -> None:
    outgoing = outgoing_for(world)
    with world.answers("rejected", outgoing), pytest.raises(PermanentError) as caught:
        world.adapter().publish(outgoing)
    assert not isinstance(caught.value, CredentialsError)


@every()
def test_check_answers_a_dict_of_facts_when_the_credentials_work(world: World) -> None:
    with world.answers("check", outgoing_for(world)):
        facts = world.adapter().check()
    assert isinstance(facts, dict)
