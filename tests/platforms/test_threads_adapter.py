"""Threads through the Threads API: containers, threads_publish, and replies that chain a thread."""

from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from civicpost.platforms import CredentialsError, MaybePosted, PermanentError, RateLimited, TransientError, spec
from civicpost.platforms.threads.adapter import ThreadsAdapter
from tests.factories import make_outgoing

from .recorded.instagram import jpeg, meta_error
from .recorded.threads import API, CONTAINER, PERMALINK, POST, THREADS_CREDENTIALS, THREADS_SETTINGS, USER, usage

THREADS = f"{API}/{USER}/threads"
PUBLISH = f"{API}/{USER}/threads_publish"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as mock:
        yield mock


def adapter() -> ThreadsAdapter:
    return ThreadsAdapter(THREADS_CREDENTIALS, THREADS_SETTINGS, timeout=5)


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def numbered(router: respx.MockRouter, count: int) -> tuple[respx.Route, respx.Route]:
    """Containers c0.. and posts p0.., each container ready at once."""
    made = router.post(THREADS).mock(side_effect=[httpx.Response(200, json={"id": f"c{n}"}) for n in range(count)])
    for n in range(count):
        router.get(f"{API}/c{n}").respond(json={"status": "FINISHED", "id": f"c{n}"})
    published = router.post(PUBLISH).mock(side_effect=[httpx.Response(200, json={"id": f"p{n}"}) for n in range(count)])
    return made, published


def test_a_text_post_is_a_text_container_then_published_with_the_token_only_in_the_header(
        router: respx.MockRouter) -> None:
    made = router.post(THREADS).respond(json={"id": CONTAINER})
    router.get(f"{API}/{CONTAINER}", params={"fields": "status,error_message"}).respond(
        json={"status": "FINISHED", "id": CONTAINER})
    published = router.post(PUBLISH).respond(json={"id": POST})
    router.get(f"{API}/{POST}").respond(json={"permalink": PERMALINK, "id": POST})

    receipt = adapter().publish(make_outgoing(text="Pools open Saturday"))

    request = made.calls[0].request
    assert request.headers["Authorization"] == "Bearer THAA-long-lived-token" and "THAA" not in str(request.url)
    assert request.extensions["timeout"]["read"] == 5
    assert form(request) == {"text": ["Pools open Saturday"], "media_type": ["TEXT"]}
    assert form(published.calls[0].request) == {"creation_id": [CONTAINER]}
    assert (receipt.remote_id, receipt.remote_url, receipt.part_ids) == (POST, PERMALINK, [POST])


def test_an_image_post_sends_the_signed_address_and_alt_text_in_an_image_container(router: respx.MockRouter) -> None:
    made, _ = numbered(router, 1)
    router.get(f"{API}/p0").respond(json={"permalink": PERMALINK, "id": "p0"})

    adapter().publish(make_outgoing(text="Pools open", media=[jpeg()]))

    assert form(made.calls[0].request) == {"text": ["Pools open"], "media_type": ["IMAGE"],
                                           "image_url": [jpeg().url], "alt_text": [jpeg().alt_text]}


def test_several_images_make_a_carousel_of_image_items(router: respx.MockRouter) -> None:
    made = router.post(THREADS).mock(side_effect=[httpx.Response(200, json={"id": f"c{n}"}) for n in range(3)])
    router.get(f"{API}/c2").respond(json={"status": "FINISHED", "id": "c2"})  # the carousel's own state
    router.post(PUBLISH).respond(json={"id": "p0"})
    router.get(f"{API}/p0").respond(json={"permalink": PERMALINK, "id": "p0"})

    adapter().publish(make_outgoing(text="Two pools", media=[jpeg("a1"), jpeg("b2")]))

    first, second, carousel = (form(c.request) for c in made.calls)
    assert first == {"media_type": ["IMAGE"], "is_carousel_item": ["true"], "image_url": [jpeg("a1").url],
                     "alt_text": [jpeg("a1").alt_text]}
    assert second["image_url"] == [jpeg("b2").url]
    assert carousel == {"text": ["Two pools"], "media_type": ["CAROUSEL"], "children": ["c0,c1"]}


def test_a_thread_posts_each_part_as_a_reply_to_the_part_before(router: respx.MockRouter) -> None:
    made, _ = numbered(router, 3)
    router.get(f"{API}/p0").respond(json={"permalink": PERMALINK, "id": "p0"})

    receipt = adapter().publish(make_outgoing(text="one two three", parts=["one", "two", "three"], media=[jpeg()]))

    sent = [form(c.request) for c in made.calls]
    assert [s.get("reply_to_id") for s in sent] == [None, ["p0"], ["p1"]]
    assert [s["media_type"] for s in sent] == [["IMAGE"], ["TEXT"], ["TEXT"]]
    assert (receipt.remote_id, receipt.part_ids) == ("p0", ["p0", "p1", "p2"])


def test_a_thread_that_fails_midway_says_which_parts_are_out_and_the_next_attempt_continues_after_them(
        router: respx.MockRouter) -> None:
    router.post(THREADS).mock(side_effect=[
        httpx.Response(200, json={"id": "c0"}),
        httpx.Response(500, json=meta_error(2, "Service unavailable", transient=True))])
    router.get(f"{API}/c0").respond(json={"status": "FINISHED", "id": "c0"})
    router.post(PUBLISH).respond(json={"id": "p0"})
    outgoing = make_outgoing(text="one two", parts=["one", "two"])

    with pytest.raises(TransientError) as caught:
        adapter().publish(outgoing)

    assert caught.value.partial is not None and caught.value.partial.part_ids == ["p0"]


def test_an_attempt_after_a_partial_thread_replies_to_the_last_part_already_out(router: respx.MockRouter) -> None:
    made = router.post(THREADS).respond(json={"id": "c1"})
    router.get(f"{API}/c1").respond(json={"status": "FINISHED", "id": "c1"})
    router.post(PUBLISH).respond(json={"id": "p1"})
    router.get(f"{API}/p0").respond(json={"permalink": PERMALINK, "id": "p0"})

    receipt = adapter().publish(make_outgoing(text="one two", parts=["one", "two"], already_posted=["p0"]))

    assert form(made.calls[0].request) == {"text": ["two"], "reply_to_id": ["p0"], "media_type": ["TEXT"]}
    assert receipt.part_ids == ["p0", "p1"]


def test_a_container_in_progress_is_published_on_a_later_attempt_and_not_made_again(router: respx.MockRouter) -> None:
    made = router.post(THREADS).respond(json={"id": CONTAINER})
    router.get(f"{API}/{CONTAINER}").mock(side_effect=[
        httpx.Response(200, json={"status": "IN_PROGRESS", "id": CONTAINER}),
        httpx.Response(200, json={"status": "FINISHED", "id": CONTAINER})])
    router.post(PUBLISH).respond(json={"id": POST})
    router.get(f"{API}/{POST}").respond(json={"permalink": PERMALINK, "id": POST})
    threads = adapter()

    with pytest.raises(TransientError) as caught:
        threads.publish(make_outgoing())
    assert caught.value.retry_after == 30

    assert threads.publish(make_outgoing()).remote_id == POST
    assert made.call_count == 1


def test_a_container_that_failed_says_what_threads_said(router: respx.MockRouter) -> None:
    router.post(THREADS).respond(json={"id": CONTAINER})
    router.get(f"{API}/{CONTAINER}").respond(json={"status": "ERROR", "id": CONTAINER, "error_message": "UNKNOWN"})

    with pytest.raises(PermanentError, match=r"could not prepare the post \(UNKNOWN\)"):
        adapter().publish(make_outgoing())


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (400, meta_error(190, "Error validating access token: Session has expired.", subcode=463), {},
         CredentialsError),
        (400, meta_error(4, "(#4) Application request limit reached", transient=True), usage(9), RateLimited),
        (400, meta_error(100, "(#100) Param text must be at most 500 characters long."), {}, PermanentError),
        (500, meta_error(2, "Service temporarily unavailable", transient=True), {}, TransientError),
    ],
)
def test_graph_errors_map_by_code(router: respx.MockRouter, status: int, body: dict, headers: dict,
                                  expected: type[Exception]) -> None:
    router.post(THREADS).respond(status, json=body, headers=headers)

    with pytest.raises(expected) as caught:
        adapter().publish(make_outgoing())
    if expected is RateLimited:
        assert caught.value.retry_after == 9 * 60
    if expected is PermanentError:
        assert not isinstance(caught.value, CredentialsError)


def test_publishing_a_container_threads_has_not_found_yet_is_tried_again_later(router: respx.MockRouter) -> None:
    router.post(THREADS).respond(json={"id": CONTAINER})
    router.get(f"{API}/{CONTAINER}").respond(json={"status": "FINISHED", "id": CONTAINER})
    router.post(PUBLISH).respond(400, json=meta_error(24, "The requested resource does not exist", subcode=4279009,
                                                      user_title="Media Not Found"))

    with pytest.raises(TransientError) as caught:
        adapter().publish(make_outgoing())
    assert caught.value.retry_after == 30 and not isinstance(caught.value, MaybePosted)


def test_a_timeout_on_threads_publish_may_have_posted(router: respx.MockRouter) -> None:
    router.post(THREADS).respond(json={"id": CONTAINER})
    router.get(f"{API}/{CONTAINER}").respond(json={"status": "FINISHED", "id": CONTAINER})
    router.post(PUBLISH).mock(side_effect=httpx.ReadTimeout("timed out"))

    with pytest.raises(MaybePosted):
        adapter().publish(make_outgoing())


def test_delete_removes_the_post_and_one_already_gone_counts_as_deleted(router: respx.MockRouter) -> None:
    assert spec("threads").capabilities.delete
    router.delete(f"{API}/{POST}").respond(json={"success": True, "deleted_id": POST})
    router.delete(f"{API}/p-gone").respond(400, json={"error": {
        "message": "Unsupported delete request. Object with ID 'p-gone' does not exist", "type": "GraphMethodException",
        "code": 100, "error_subcode": 33, "fbtrace_id": "A1"}})

    adapter().delete(POST)
    adapter().delete("p-gone")


def test_a_delete_threads_refuses_for_want_of_permission_is_a_credentials_error(router: respx.MockRouter) -> None:
    router.delete(f"{API}/{POST}").respond(
        403, json=meta_error(10, "(#10) Application does not have permission for this action"))

    with pytest.raises(CredentialsError):
        adapter().delete(POST)


def test_find_matches_the_first_part_then_follows_the_accounts_own_replies_in_order(router: respx.MockRouter) -> None:
    listed = router.get(THREADS).respond(json={"data": [
        {"id": "p9", "text": "Library closed Monday", "timestamp": "2025-05-01T12:30:00+0000"},
        {"id": "p0", "text": "one", "timestamp": "2025-05-01T12:00:05+0000", "permalink": PERMALINK},
    ]})
    router.get(f"{API}/p0/conversation").respond(json={"data": [
        {"id": "r9", "text": "two", "replied_to": {"id": "p0"}, "is_reply_owned_by_me": False},
        {"id": "p1", "text": "two", "replied_to": {"id": "p0"}, "is_reply_owned_by_me": True},
    ]})

    receipt = adapter().find(make_outgoing(text="one two three", parts=["one", "two", "three"]))

    assert receipt is not None and receipt.part_ids == ["p0", "p1"] and receipt.remote_url == PERMALINK
    assert listed.calls[0].request.url.params["since"] == str(int(make_outgoing().created_at.timestamp()) - 300)


def test_find_answers_none_when_no_recent_post_has_the_text(router: respx.MockRouter) -> None:
    router.get(THREADS).respond(json={"data": [
        {"id": "p0", "text": "Pools open Saturday at 10am. Details: https://city.example/pools #SummerInTheCity",
         "timestamp": "2024-05-01T12:00:05+0000"}]})

    assert adapter().find(make_outgoing()) is None


def test_check_names_the_account_and_reads_its_publishing_limit(router: respx.MockRouter) -> None:
    router.get(f"{API}/me").respond(json={"id": USER, "username": "cityparks"})
    router.get(f"{API}/{USER}/threads_publishing_limit").respond(
        json={"data": [{"quota_usage": 4, "config": {"quota_total": 250, "quota_duration": 86400}}]})

    assert adapter().check() == {"threads_user_id": USER, "account": "@cityparks", "username": "cityparks",
                                 "posts_in_24_hours": 4, "daily_limit": 250}


def test_check_refuses_a_token_of_another_threads_user(router: respx.MockRouter) -> None:
    router.get(f"{API}/me").respond(json={"id": "25133940182914999", "username": "someoneelse"})

    with pytest.raises(CredentialsError):
        adapter().check()
