import json
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from civicpost.platforms import CredentialsError, MaybePosted, MediaItem, PermanentError, RateLimited, TransientError
from civicpost.platforms.facebook.adapter import FacebookAdapter
from tests.factories import make_outgoing

from .recorded.facebook import FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, GRAPH, PAGE_ID, buc_usage, graph_error

FEED = f"{GRAPH}/{PAGE_ID}/feed"
POST_ID = f"{PAGE_ID}_122101234567890123"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as mock:
        yield mock


def adapter() -> FacebookAdapter:
    return FacebookAdapter(FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, timeout=5)


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def test_a_post_sends_message_and_link_with_the_page_token_in_the_header_never_the_url(router: respx.MockRouter) -> None:
    route = router.post(FEED).respond(json={"id": POST_ID})

    receipt = adapter().publish(make_outgoing(text="Pools open", link="https://city.example/pools"))

    request = route.calls[0].request
    assert request.headers["Authorization"] == "Bearer EAAB-page-token"
    assert "EAAB" not in str(request.url)
    assert form(request) == {"message": ["Pools open"], "link": ["https://city.example/pools"]}
    assert request.extensions["timeout"]["read"] == 5
    assert receipt.remote_id == POST_ID
    assert receipt.remote_url == f"https://www.facebook.com/{PAGE_ID}/posts/122101234567890123"


def test_images_are_uploaded_unpublished_with_alt_text_then_attached_to_one_post(router: respx.MockRouter, image: MediaItem) -> None:
    photos = router.post(f"{GRAPH}/{PAGE_ID}/photos").respond(json={"id": "122101234567890999"})
    feed = router.post(FEED).respond(json={"id": POST_ID})

    adapter().publish(make_outgoing(text="Pools open", media=[image]))

    upload = photos.calls[0].request.content
    assert b'name="published"\r\n\r\nfalse' in upload
    assert b'name="alt_text_custom"\r\n\r\n' + image.alt_text.encode() in upload
    sent = form(feed.calls[0].request)
    assert json.loads(sent["attached_media[0]"][0]) == {"media_fbid": "122101234567890999"}
    assert sent["message"] == ["Pools open"]


def test_facebook_refusing_a_duplicate_status_is_maybe_posted(router: respx.MockRouter) -> None:
    router.post(FEED).respond(400, json=graph_error(506, "Duplicate status message", subcode=1455006))

    with pytest.raises(MaybePosted):
        adapter().publish(make_outgoing())


def test_a_page_rate_limit_waits_as_long_as_the_usage_header_says(router: respx.MockRouter) -> None:
    router.post(FEED).respond(400, json=graph_error(32, "Page request limit reached"), headers=buc_usage(12))

    with pytest.raises(RateLimited) as caught:
        adapter().publish(make_outgoing())
    assert caught.value.retry_after == 12 * 60


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, graph_error(190, "Error validating access token: The user has not authorized application.", subcode=458), CredentialsError),
        (403, graph_error(200, "(#200) The user hasn't authorized the application to perform this action"), CredentialsError),
        (500, graph_error(1, "An unknown error has occurred.", transient=True), TransientError),
        (400, graph_error(368, "The action attempted has been deemed abusive or is otherwise disallowed", subcode=1390008), PermanentError),
        (400, graph_error(100, "(#100) Invalid parameter"), PermanentError),
        (503, {}, TransientError),
    ],
)
def test_graph_errors_map_by_code_and_status(router: respx.MockRouter, status: int, body: dict, expected: type[Exception]) -> None:
    router.post(FEED).respond(status, json=body)

    with pytest.raises(expected) as caught:
        adapter().publish(make_outgoing())
    if expected is PermanentError:
        assert not isinstance(caught.value, CredentialsError)
    if expected is TransientError:
        assert not isinstance(caught.value, MaybePosted)


def test_a_read_timeout_after_posting_is_maybe_posted_and_a_connect_error_transient(router: respx.MockRouter) -> None:
    router.post(FEED).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(MaybePosted):
        adapter().publish(make_outgoing())

    router.post(FEED).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransientError) as caught:
        adapter().publish(make_outgoing())
    assert not isinstance(caught.value, MaybePosted)


def test_find_matches_a_recent_page_post_by_its_message(router: respx.MockRouter) -> None:
    route = router.get(f"{GRAPH}/{PAGE_ID}/posts").respond(
        json={
            "data": [
                {"id": f"{PAGE_ID}_2", "message": "Library closed Monday", "created_time": "2025-05-01T13:00:00+0000", "permalink_url": "https://www.facebook.com/cityparks/posts/pfbid02"},
                {"id": POST_ID, "message": "Pools open Saturday at 10am. Details: https://city.example/pools #SummerInTheCity", "created_time": "2025-05-01T12:00:05+0000", "permalink_url": "https://www.facebook.com/cityparks/posts/pfbid01"},
            ],
            "paging": {"cursors": {"before": "QVFIU", "after": "QVFIU2"}},
        }
    )

    receipt = adapter().find(make_outgoing())

    assert receipt is not None and receipt.remote_id == POST_ID
    assert receipt.remote_url == "https://www.facebook.com/cityparks/posts/pfbid01"
    assert route.calls[0].request.url.params["since"] == str(1746100800 - 300)


def test_find_answers_none_when_no_post_matches(router: respx.MockRouter) -> None:
    router.get(f"{GRAPH}/{PAGE_ID}/posts").respond(json={"data": [{"id": f"{PAGE_ID}_2", "message": "Library closed", "created_time": "2025-05-01T13:00:00+0000"}]})

    assert adapter().find(make_outgoing()) is None


def test_check_accepts_a_page_token_and_refuses_a_user_token(router: respx.MockRouter) -> None:
    me = router.get(f"{GRAPH}/me").respond(json={"id": PAGE_ID, "name": "City Parks"})
    assert adapter().check() == {"page_id": PAGE_ID, "name": "City Parks", "page_name": "City Parks"}

    me.respond(json={"id": "10223456789012345", "name": "Pat Staffer"})
    with pytest.raises(CredentialsError):
        adapter().check()


def test_deleting_a_post_that_no_longer_exists_succeeds(router: respx.MockRouter) -> None:
    router.delete(f"{GRAPH}/{POST_ID}").respond(
        400, json=graph_error(100, "Unsupported delete request. Object with ID does not exist, cannot be loaded due to missing permissions, or does not support this operation.", subcode=33)
    )

    adapter().delete(POST_ID)
