"""The LinkedIn adapter against LinkedIn's recorded answers (respx): what it
sends, how it escapes and counts, and what each answer means for the worker."""

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from civicpost import net
from civicpost.platforms import (
    AddressRefused,
    CredentialsError,
    MaybePosted,
    MediaItem,
    PermanentError,
    RateLimited,
    TransientError,
    build_adapter,
    spec,
)
from civicpost.platforms.linkedin import DEFAULT_VERSION, little
from civicpost.platforms.linkedin.adapter import LinkedInAdapter
from civicpost.sandbox import linkedin_little
from tests.factories import OUTGOING_CREATED as CREATED
from tests.factories import make_outgoing

from .recorded.linkedin import (
    DAY_LIMIT,
    ENCODED_SHARE,
    LINKEDIN_CREDENTIALS,
    LINKEDIN_SETTINGS,
    ORGANIZATION,
    ORGANIZATION_ANSWER,
    ORGANIZATION_ID,
    REST,
    SHARE,
    created,
    linkedin_error,
    post_element,
    upload_initialized,
)

UPLOAD = "https://www.linkedin.com/dms-uploads/sp/v2/D4E10AQF3qLOoZ_cl1A/uploaded-image/0?ca=vector_feedshare&cn=uploads&sync=0&v=beta"
IMAGE = "urn:li:image:D4E10AQF3qLOoZ_cl1A"
CREATED_MS = int(CREATED.timestamp() * 1000)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as mock:
        yield mock


def adapter(**settings: str) -> LinkedInAdapter:
    return LinkedInAdapter(LINKEDIN_CREDENTIALS, {**LINKEDIN_SETTINGS, **settings}, timeout=5)


def sent(route: respx.Route, n: int = 0) -> dict:
    return json.loads(route.calls[n].request.content)


def test_a_post_goes_to_rest_posts_as_the_page_with_the_version_headers_and_its_urn_from_x_restli_id(
    router: respx.MockRouter,
) -> None:
    route = router.post(f"{REST}/posts").mock(return_value=created())

    receipt = adapter().publish(make_outgoing(text="Pools open Saturday"))

    request = route.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {LINKEDIN_CREDENTIALS['access_token']}"
    assert request.headers["Linkedin-Version"] == "202607"
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert LINKEDIN_CREDENTIALS["access_token"] not in str(request.url)
    assert request.extensions["timeout"]["read"] == 5
    assert sent(route) == {
        "author": ORGANIZATION,
        "commentary": "Pools open Saturday",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert (receipt.remote_id, receipt.part_ids) == (SHARE, [SHARE])
    assert receipt.remote_url == f"https://www.linkedin.com/feed/update/{SHARE}"


def test_without_a_version_setting_the_adapter_sends_its_default(router: respx.MockRouter) -> None:
    route = router.post(f"{REST}/posts").mock(return_value=created())

    LinkedInAdapter(LINKEDIN_CREDENTIALS, {"api_base": LINKEDIN_SETTINGS["api_base"], "organization_urn": ORGANIZATION},
                    timeout=5).publish(make_outgoing())

    assert route.calls[0].request.headers["Linkedin-Version"] == DEFAULT_VERSION


def test_commentary_is_escaped_as_little_text_and_hashtags_stay_hashtags(router: respx.MockRouter) -> None:
    route = router.post(f"{REST}/posts").mock(return_value=created())

    adapter().publish(make_outgoing(text="Pools (all 3) open #SummerInTheCity! Ask @parks_dept, C# or meeting #3 ~ *5* <b> [x] {y} | \\"))

    assert sent(route)["commentary"] == (
        "Pools \\(all 3\\) open #SummerInTheCity! Ask \\@parks\\_dept, C\\# or meeting \\#3 \\~ \\*5\\* \\<b\\> \\[x\\] "
        "\\{y\\} \\| \\\\")


# Markup, letters, digits (some that only look like digits), spaces, and anything else.
TRICKY = st.one_of(st.sampled_from(list("#@[]()\\_{}|<>*~aZé1²٣ \n")), st.characters())


@given(st.text(TRICKY, max_size=60))
def test_linkedin_reads_back_every_escaped_text_whole_as_the_sandbox_reads_little_text(text: str) -> None:
    escaped = little.escape(text)

    assert little.plain(escaped) == text
    assert linkedin_little.shown(linkedin_little.read(escaped)) == text


def test_the_length_is_counted_as_linkedin_receives_the_text_escaped_in_utf16_units() -> None:
    linkedin = spec("linkedin")

    assert linkedin.measure("a" * 3000).fits
    assert linkedin.measure("a" * 2999 + "(").length == 3001
    assert not linkedin.measure("a" * 2999 + "(").fits
    assert linkedin.measure("#Parks").length == 6  # a hashtag is sent as it is
    assert linkedin.measure("🏊").length == 2


def test_one_image_goes_through_the_images_api_and_is_referenced_with_its_alt_text(
    router: respx.MockRouter, image: MediaItem
) -> None:
    initialize = router.post(f"{REST}/images", params={"action": "initializeUpload"}).respond(
        json=upload_initialized(IMAGE, UPLOAD))
    put = router.put(UPLOAD).respond(201)
    post = router.post(f"{REST}/posts").mock(return_value=created())

    adapter().publish(make_outgoing(text="Pools open", media=[image]))

    assert sent(initialize) == {"initializeUploadRequest": {"owner": ORGANIZATION}}
    upload = put.calls[0].request
    assert upload.content == image.path.read_bytes()
    assert upload.headers["Authorization"].startswith("Bearer ")  # LinkedIn's upload address wants the token
    assert "Linkedin-Version" not in upload.headers
    assert sent(post)["content"] == {"media": {"id": IMAGE, "altText": image.alt_text}}


def test_several_images_go_out_as_one_multi_image_post(router: respx.MockRouter, image: MediaItem) -> None:
    images = [f"{IMAGE}{n}" for n in range(3)]
    router.post(f"{REST}/images").mock(side_effect=[httpx.Response(200, json=upload_initialized(i, UPLOAD))
                                                    for i in images])
    router.put(UPLOAD).respond(201)
    post = router.post(f"{REST}/posts").mock(return_value=created())

    adapter().publish(make_outgoing(media=[image, image, image]))

    assert sent(post)["content"] == {"multiImage": {"images": [{"id": i, "altText": image.alt_text} for i in images]}}


def test_an_upload_address_outside_linkedin_gets_the_bytes_but_not_the_token(
    router: respx.MockRouter, image: MediaItem
) -> None:
    elsewhere = "https://uploads.elsewhere.example/put/1"
    router.post(f"{REST}/images").respond(json=upload_initialized(IMAGE, elsewhere))
    put = router.put(elsewhere).respond(201)
    router.post(f"{REST}/posts").mock(return_value=created())

    adapter().publish(make_outgoing(media=[image]))

    assert "Authorization" not in put.calls[0].request.headers


@pytest.mark.parametrize(
    ("status", "body", "expected", "words"),
    [
        (401, linkedin_error(401, "Invalid access token", code="INVALID_ACCESS_TOKEN", service_code=65600),
         CredentialsError, "60 days"),
        (403, linkedin_error(403, "Not enough permissions to access: partnerApiPostsExternal.CREATE.20260701",
                             code="ACCESS_DENIED", service_code=100), CredentialsError, "w_organization_social"),
        (426, linkedin_error(426, "Requested version 202301 is not active", code="NONEXISTENT_VERSION"),
         CredentialsError, "linkedin_version"),
        (403, linkedin_error(403, "Posting is restricted for this organization"), PermanentError, "restricted"),
        (422, linkedin_error(422, "ERROR :: /commentary :: length 3012 exceeds the maximum of 3000"),
         PermanentError, "/commentary"),
        (400, linkedin_error(400, "Invalid URN syntax: urn:li:organization:abc"), PermanentError, "Invalid URN"),
        (500, linkedin_error(500, "Internal Server Error"), TransientError, "500"),
        (503, linkedin_error(503, "Service Unavailable"), TransientError, "503"),
    ],
)
def test_linkedin_errors_map_to_what_the_worker_should_do_in_linkedins_own_words(
    router: respx.MockRouter, status: int, body: dict, expected: type[Exception], words: str
) -> None:
    router.post(f"{REST}/posts").respond(status, json=body)

    with pytest.raises(expected) as caught:
        adapter().publish(make_outgoing())

    message = str(caught.value)
    assert message.startswith(f"LinkedIn answered {status}") and words in message
    assert body["message"] in message and "serviceErrorCode" not in message and "{" not in message
    if expected is PermanentError:
        assert not isinstance(caught.value, CredentialsError)
    if expected is TransientError:
        assert not isinstance(caught.value, (MaybePosted, RateLimited))


def test_a_duplicate_refusal_and_a_gateway_timeout_on_a_post_may_have_posted(router: respx.MockRouter) -> None:
    route = router.post(f"{REST}/posts")
    route.respond(422, json=linkedin_error(422, f"Content is a duplicate of {SHARE}", code="DUPLICATE_POST"))
    with pytest.raises(MaybePosted):
        adapter().publish(make_outgoing())

    route.respond(504, json=linkedin_error(504, "Request timed out"))
    with pytest.raises(MaybePosted):
        adapter().publish(make_outgoing())


def test_a_daily_limit_waits_until_midnight_utc_and_a_retry_after_is_taken_as_given(router: respx.MockRouter) -> None:
    route = router.post(f"{REST}/posts")
    route.respond(429, json=linkedin_error(429, DAY_LIMIT, code="TOO_MANY_REQUESTS", service_code=101))
    with pytest.raises(RateLimited) as caught:
        adapter().publish(make_outgoing())
    now = datetime.now(UTC)
    until_midnight = 86_400 - (now.hour * 3600 + now.minute * 60 + now.second)
    assert caught.value.retry_after == pytest.approx(until_midnight, abs=5)

    route.respond(429, json=linkedin_error(429, "Too many requests"), headers={"Retry-After": "30"})
    with pytest.raises(RateLimited) as caught:
        adapter().publish(make_outgoing())
    assert caught.value.retry_after == 30


def test_an_answer_without_the_post_urn_may_have_posted(router: respx.MockRouter) -> None:
    router.post(f"{REST}/posts").respond(201)

    with pytest.raises(MaybePosted):
        adapter().publish(make_outgoing())


def test_a_timeout_sending_the_post_may_have_posted_but_one_during_an_upload_has_not(
    router: respx.MockRouter, image: MediaItem
) -> None:
    post = router.post(f"{REST}/posts").mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(MaybePosted):
        adapter().publish(make_outgoing())

    router.post(f"{REST}/images").mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(TransientError) as caught:
        adapter().publish(make_outgoing(media=[image]))
    assert not isinstance(caught.value, MaybePosted)
    assert post.call_count == 1


def test_an_address_that_is_not_linkedin_is_named_and_its_404_never_counts_as_deleted(router: respx.MockRouter) -> None:
    router.delete(f"{REST}/posts/{ENCODED_SHARE}").respond(404, text="<html>Not Found</html>")

    with pytest.raises(PermanentError) as caught:
        adapter().delete(SHARE)
    assert "api_base" in str(caught.value) and "<html>" not in str(caught.value)


def test_delete_names_the_post_by_its_encoded_urn_and_a_post_already_gone_counts_as_deleted(
    router: respx.MockRouter,
) -> None:
    route = router.delete(f"{REST}/posts/{ENCODED_SHARE}").respond(204)
    adapter().delete(SHARE)
    request = route.calls[0].request
    assert request.url.raw_path == f"/rest/posts/{ENCODED_SHARE}".encode()
    assert request.headers["X-RestLi-Method"] == "DELETE"

    route.respond(404, json=linkedin_error(404, f"Post {SHARE} not found", code="NOT_FOUND"))
    adapter().delete(SHARE)


def test_find_lists_the_pages_recent_posts_and_matches_the_text_as_linkedin_writes_it_back(
    router: respx.MockRouter,
) -> None:
    written_back = ("Pools open Saturday at 10am. Details: https://city.example/pools {hashtag|\\#|SummerInTheCity}")
    route = router.get(f"{REST}/posts").respond(json={
        "paging": {"start": 0, "count": 20, "links": [], "total": 3},
        "elements": [
            post_element("urn:li:share:7266081562093039999", "Library closed Monday", CREATED_MS + 60_000),
            post_element(SHARE, written_back, CREATED_MS + 5_000),
            post_element("urn:li:share:7000000000000000001", written_back, CREATED_MS - 365 * 86_400_000),
        ],
    })

    receipt = adapter().find(make_outgoing())

    assert receipt is not None and (receipt.remote_id, receipt.part_ids) == (SHARE, [SHARE])
    assert receipt.remote_url == f"https://www.linkedin.com/feed/update/{SHARE}"
    url = route.calls[0].request.url
    assert (url.params["q"], url.params["author"], url.params["sortBy"]) == ("author", ORGANIZATION, "CREATED")
    assert f"author={ORGANIZATION.replace(':', '%3A')}" in str(url)  # Rest.li 2.0: URNs encoded in queries


def test_find_answers_none_when_only_last_years_post_has_the_same_text(router: respx.MockRouter) -> None:
    router.get(f"{REST}/posts").respond(json={"paging": {"start": 0, "count": 20, "links": []}, "elements": [
        post_element(SHARE, make_outgoing().text, CREATED_MS - 365 * 86_400_000)]})

    assert adapter().find(make_outgoing()) is None


def test_check_names_the_page_and_learns_its_address_name_for_the_directory(router: respx.MockRouter) -> None:
    router.get(f"{REST}/organizations/{ORGANIZATION_ID}").respond(json=ORGANIZATION_ANSWER)

    facts = adapter().check()

    assert facts == {"account": "City of Example", "vanity_name": "city-of-example"}
    learned = spec("linkedin").settings.model_validate({**LINKEDIN_SETTINGS, "vanity_name": facts["vanity_name"]})
    assert spec("linkedin").profile(learned.model_dump(), None) == "https://www.linkedin.com/company/city-of-example"


def test_the_directory_links_to_the_page_by_its_number_until_its_address_name_is_known() -> None:
    assert spec("linkedin").profile({"organization_urn": ORGANIZATION}, None) == \
        f"https://www.linkedin.com/company/{ORGANIZATION_ID}"


def test_an_upload_address_inside_the_citys_network_is_refused_before_the_image_leaves(
    monkeypatch: pytest.MonkeyPatch, image: MediaItem
) -> None:
    addresses = {"api.linkedin.sandbox.test": "93.184.216.34", "uploads.sandbox.test": "10.0.0.5"}

    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (addresses[host], port or 0))]

    monkeypatch.setattr(net, "resolver", resolve)
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{REST}/images").respond(json=upload_initialized(IMAGE, "https://uploads.sandbox.test/put/1"))
        put = router.put("https://uploads.sandbox.test/put/1").respond(201)
        post = router.post(f"{REST}/posts").mock(return_value=created())
        strict = build_adapter("linkedin", LINKEDIN_CREDENTIALS, LINKEDIN_SETTINGS, timeout=5,
                               allow_private_network=False)

        with pytest.raises(AddressRefused):
            strict.publish(make_outgoing(media=[image]))

    assert (put.call_count, post.call_count) == (0, 0)
