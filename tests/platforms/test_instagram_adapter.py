"""Instagram through the Graph API: containers from signed image addresses, then media_publish."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from civicpost.platforms import (
    CredentialsError,
    MaybePosted,
    Outgoing,
    PermanentError,
    RateLimited,
    TransientError,
    spec,
)
from civicpost.platforms.instagram.adapter import InstagramAdapter
from tests.factories import make_outgoing

from .recorded.instagram import (
    CONTAINER,
    GRAPH,
    IG_USER,
    INSTAGRAM_CREDENTIALS,
    INSTAGRAM_SETTINGS,
    MEDIA_ID,
    PERMALINK,
    buc_usage,
    jpeg,
    meta_error,
)

MEDIA = f"{GRAPH}/{IG_USER}/media"
PUBLISH = f"{GRAPH}/{IG_USER}/media_publish"
STATUS = f"{GRAPH}/{CONTAINER}"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as mock:
        yield mock


def adapter() -> InstagramAdapter:
    return InstagramAdapter(INSTAGRAM_CREDENTIALS, INSTAGRAM_SETTINGS, timeout=5)


def outgoing(**changes: Any) -> Outgoing:
    """Instagram takes no post without an image."""
    return make_outgoing(media=[jpeg()], **changes)


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def ready(router: respx.MockRouter) -> None:
    router.get(STATUS).respond(json={"status_code": "FINISHED", "id": CONTAINER})


def test_an_image_post_is_a_container_from_the_signed_address_with_caption_and_alt_text_then_published(
        router: respx.MockRouter) -> None:
    made = router.post(MEDIA).respond(json={"id": CONTAINER})
    ready(router)
    published = router.post(PUBLISH).respond(json={"id": MEDIA_ID})
    router.get(f"{GRAPH}/{MEDIA_ID}", params={"fields": "permalink"}).respond(
        json={"permalink": PERMALINK, "id": MEDIA_ID})

    receipt = adapter().publish(outgoing(text="Pools open Saturday"))

    request = made.calls[0].request
    assert request.headers["Authorization"] == "Bearer IGAA-long-lived-token"
    assert "IGAA" not in str(request.url)
    assert request.extensions["timeout"]["read"] == 5
    assert form(request) == {"image_url": [jpeg().url], "caption": ["Pools open Saturday"],
                             "alt_text": [jpeg().alt_text]}
    assert form(published.calls[0].request) == {"creation_id": [CONTAINER]}
    assert (receipt.remote_id, receipt.remote_url, receipt.part_ids) == (MEDIA_ID, PERMALINK, [MEDIA_ID])


def test_several_images_are_carousel_items_each_with_its_alt_text_under_one_captioned_carousel(
        router: respx.MockRouter) -> None:
    made = router.post(MEDIA).mock(side_effect=[httpx.Response(200, json={"id": i}) for i in ("c1", "c2", CONTAINER)])
    ready(router)
    router.post(PUBLISH).respond(json={"id": MEDIA_ID})
    router.get(f"{GRAPH}/{MEDIA_ID}").respond(json={"permalink": PERMALINK, "id": MEDIA_ID})

    adapter().publish(make_outgoing(text="Two pools", media=[jpeg("a1"), jpeg("b2")]))

    items, carousel = [form(c.request) for c in made.calls[:2]], form(made.calls[2].request)
    assert items == [{"image_url": [jpeg(n).url], "is_carousel_item": ["true"], "alt_text": [jpeg(n).alt_text]}
                     for n in ("a1", "b2")]
    assert carousel == {"media_type": ["CAROUSEL"], "children": ["c1,c2"], "caption": ["Two pools"]}


def test_a_post_without_an_image_is_refused_before_asking_instagram() -> None:
    with respx.mock(assert_all_called=False) as quiet, pytest.raises(PermanentError, match="need an image"):
        adapter().publish(make_outgoing())
    assert not quiet.calls


def test_a_container_still_being_prepared_is_kept_and_published_on_the_next_attempt_without_a_second_fetch(
        router: respx.MockRouter) -> None:
    made = router.post(MEDIA).respond(json={"id": CONTAINER})
    router.get(STATUS).mock(side_effect=[httpx.Response(200, json={"status_code": "IN_PROGRESS", "id": CONTAINER}),
                                         httpx.Response(200, json={"status_code": "FINISHED", "id": CONTAINER})])
    published = router.post(PUBLISH).respond(json={"id": MEDIA_ID})
    router.get(f"{GRAPH}/{MEDIA_ID}").respond(json={"permalink": PERMALINK, "id": MEDIA_ID})
    instagram = adapter()

    with pytest.raises(TransientError) as caught:
        instagram.publish(outgoing())
    assert not isinstance(caught.value, MaybePosted) and caught.value.retry_after == 30
    assert not published.calls

    assert instagram.publish(outgoing()).remote_id == MEDIA_ID
    assert made.call_count == 1


def test_a_container_that_failed_is_a_permanent_error_with_metas_reason_and_the_next_attempt_makes_a_new_one(
        router: respx.MockRouter) -> None:
    made = router.post(MEDIA).mock(side_effect=[httpx.Response(200, json={"id": CONTAINER}),
                                                httpx.Response(200, json={"id": "17889455560059999"})])
    router.get(STATUS).respond(
        json={"status_code": "ERROR", "status": "Error: Media upload has failed.", "id": CONTAINER})
    router.get(f"{GRAPH}/17889455560059999").respond(json={"status_code": "FINISHED", "id": "17889455560059999"})
    router.post(PUBLISH).respond(json={"id": MEDIA_ID})
    router.get(f"{GRAPH}/{MEDIA_ID}").respond(json={"permalink": PERMALINK, "id": MEDIA_ID})
    instagram = adapter()

    with pytest.raises(PermanentError, match=r"could not prepare the post.*Media upload has failed"):
        instagram.publish(outgoing())
    instagram.publish(outgoing())
    assert made.call_count == 2


def test_a_container_already_published_means_an_earlier_answer_was_lost_so_it_is_maybe_posted(
        router: respx.MockRouter) -> None:
    router.post(MEDIA).respond(json={"id": CONTAINER})
    router.get(STATUS).respond(json={"status_code": "PUBLISHED", "id": CONTAINER})

    with pytest.raises(MaybePosted):
        adapter().publish(outgoing())


def test_when_meta_cannot_fetch_the_image_staff_read_that_the_citys_media_addresses_must_be_reachable(
        router: respx.MockRouter) -> None:
    router.post(MEDIA).respond(400, json=meta_error(
        9004, "Only photo or video can be accepted as media type.", subcode=2207052,
        user_title="Media download has failed.", user_msg="The media could not be fetched from this uri."))

    with pytest.raises(PermanentError) as caught:
        adapter().publish(outgoing())
    assert "CIVICPOST_BASE_URL" in str(caught.value) and "/media/signed/" in str(caught.value)
    assert not isinstance(caught.value, CredentialsError)


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected", "wait"),
    [
        (400, meta_error(190, "Error validating access token: Session has expired.", subcode=463), {},
         CredentialsError, None),
        (403, meta_error(10, "(#10) Application does not have permission for this action"), {}, CredentialsError, None),
        (400, meta_error(32, "(#32) Page request limit reached", transient=True), buc_usage(12), RateLimited, 12 * 60),
        (400, meta_error(4, "(#4) Application request limit reached", transient=True),
         {"x-app-usage": '{"call_count":100,"total_cputime":25,"total_time":25}'}, RateLimited, 300),
        (400, meta_error(9, "Application request limit reached", subcode=2207042), {}, RateLimited, 3600),
        (400, meta_error(4, "We restrict certain activity to protect our community.", subcode=2207051), {},
         PermanentError, None),
        (400, meta_error(-2, "It takes too long to download the media.", subcode=2207003), {}, TransientError, None),
        (500, meta_error(1, "An unknown error has occurred.", transient=True), {}, TransientError, None),
        (503, {}, {}, TransientError, None),
        (400, meta_error(36003, "The aspect ratio is not supported.", subcode=2207009), {}, PermanentError, None),
    ],
)
def test_graph_errors_on_the_container_map_by_code_subcode_and_headers(
        router: respx.MockRouter, status: int, body: dict, headers: dict, expected: type[Exception],
        wait: float | None) -> None:
    router.post(MEDIA).respond(status, json=body, headers=headers)

    with pytest.raises(expected) as caught:
        adapter().publish(outgoing())
    assert not isinstance(caught.value, MaybePosted)
    if expected is PermanentError:
        assert not isinstance(caught.value, CredentialsError)
    if expected is TransientError:
        assert not isinstance(caught.value, RateLimited)
    if wait is not None:
        assert caught.value.retry_after == wait
    assert "{" not in str(caught.value)  # Meta's words, never its raw body


def test_publishing_too_soon_comes_back_later_for_the_same_container(router: respx.MockRouter) -> None:
    router.post(MEDIA).respond(json={"id": CONTAINER})
    ready(router)
    router.post(PUBLISH).respond(400, json=meta_error(
        9007, "Media ID is not available", subcode=2207027,
        user_msg="The media is not ready for publishing, please wait for a moment"))

    with pytest.raises(TransientError) as caught:
        adapter().publish(outgoing())
    assert caught.value.retry_after == 30 and not isinstance(caught.value, MaybePosted)


def test_a_timeout_while_publishing_may_have_posted_but_while_making_the_container_posted_nothing(
        router: respx.MockRouter) -> None:
    router.post(MEDIA).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(TransientError) as caught:
        adapter().publish(outgoing())
    assert not isinstance(caught.value, MaybePosted)

    router.post(MEDIA).respond(json={"id": CONTAINER})
    ready(router)
    router.post(PUBLISH).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(MaybePosted):
        adapter().publish(outgoing())


def test_a_permalink_that_cannot_be_read_after_publishing_still_returns_the_receipt(router: respx.MockRouter) -> None:
    router.post(MEDIA).respond(json={"id": CONTAINER})
    ready(router)
    router.post(PUBLISH).respond(json={"id": MEDIA_ID})
    router.get(f"{GRAPH}/{MEDIA_ID}").respond(
        500, json=meta_error(2, "Service temporarily unavailable", transient=True))

    receipt = adapter().publish(outgoing())

    assert (receipt.remote_id, receipt.remote_url) == (MEDIA_ID, None)


def test_find_matches_the_accounts_recent_post_by_caption_and_time(router: respx.MockRouter) -> None:
    text = "Pools open Saturday at 10am. Details: https://city.example/pools #SummerInTheCity"
    router.get(MEDIA).respond(json={
        "data": [
            {"id": "17920238422030999", "caption": "Library closed Monday", "timestamp": "2025-05-01T13:00:00+0000",
             "permalink": "https://www.instagram.com/p/Other/"},
            {"id": MEDIA_ID, "caption": text, "timestamp": "2025-05-01T12:00:05+0000", "permalink": PERMALINK},
        ],
        "paging": {"cursors": {"before": "QVFIU", "after": "QVFIU2"}},
    })

    receipt = adapter().find(outgoing())

    assert receipt is not None and (receipt.remote_id, receipt.remote_url) == (MEDIA_ID, PERMALINK)


def test_find_ignores_last_years_post_with_the_same_caption(router: respx.MockRouter) -> None:
    router.get(MEDIA).respond(json={"data": [
        {"id": MEDIA_ID, "caption": outgoing().text, "timestamp": "2024-05-01T12:00:05+0000", "permalink": PERMALINK}]})

    assert adapter().find(outgoing()) is None  # this delivery was made in 2025 (CREATED)


def test_delete_is_refused_with_a_sentence_saying_to_delete_the_post_in_the_app() -> None:
    assert not spec("instagram").capabilities.delete
    with respx.mock(assert_all_called=False) as quiet, pytest.raises(PermanentError, match="in the Instagram app"):
        adapter().delete(MEDIA_ID)
    assert not quiet.calls


def test_check_names_the_account_and_reads_how_much_of_the_daily_limit_is_used(router: respx.MockRouter) -> None:
    router.get(f"{GRAPH}/{IG_USER}").respond(json={"id": IG_USER, "username": "cityparks"})
    router.get(f"{GRAPH}/{IG_USER}/content_publishing_limit", params={"fields": "quota_usage,config"}).respond(
        json={"data": [{"quota_usage": 7, "config": {"quota_total": 50, "quota_duration": 86400}}]})

    facts = adapter().check()

    assert facts == {"ig_user_id": IG_USER, "account": "@cityparks", "username": "cityparks",
                     "posts_in_24_hours": 7, "daily_limit": 50}


def test_check_refuses_a_token_that_reads_another_account(router: respx.MockRouter) -> None:
    router.get(f"{GRAPH}/{IG_USER}").respond(json={"id": "17841400000000999", "username": "someoneelse"})

    with pytest.raises(CredentialsError, match="not 17841405822304914"):
        adapter().check()
