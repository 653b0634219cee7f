import json
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import respx
from atproto_client.models.string_formats import TID_RE

from civicpost.platforms import CredentialsError, MaybePosted, MediaItem, PermanentError, RateLimited, TransientError
from civicpost.platforms.bluesky.adapter import BlueskyAdapter, deterministic_tid
from tests.factories import OUTGOING_CREATED as CREATED
from tests.factories import OUTGOING_KEY as KEY
from tests.factories import make_outgoing

from .recorded.bluesky import (
    BLUESKY_BASE,
    BLUESKY_CREDENTIALS,
    BLUESKY_DID,
    CID,
    bluesky_session,
    echo_created,
    xrpc_error,
)

XRPC = f"{BLUESKY_BASE}/xrpc"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{XRPC}/com.atproto.server.createSession").respond(json=bluesky_session())
        yield mock


def adapter() -> BlueskyAdapter:
    return BlueskyAdapter(BLUESKY_CREDENTIALS, {"api_base": BLUESKY_BASE}, timeout=5)


def created_records(router: respx.MockRouter) -> list[dict]:
    return [json.loads(call.request.content) for call in router.calls if call.request.url.path.endswith("createRecord")]


def test_the_record_key_is_a_valid_tid_that_is_the_same_on_every_retry() -> None:
    tid = deterministic_tid(KEY, CREATED)
    assert TID_RE.match(tid)
    assert tid == deterministic_tid(KEY, CREATED)
    assert tid != deterministic_tid("another-delivery", CREATED)
    # A thread's parts sort in order, as TIDs of posts made one after another would.
    assert deterministic_tid(KEY, CREATED, 0) < deterministic_tid(KEY, CREATED, 1) < deterministic_tid(KEY, CREATED + timedelta(seconds=1))


def test_a_post_is_created_under_the_deterministic_record_key(router: respx.MockRouter) -> None:
    router.post(f"{XRPC}/com.atproto.repo.createRecord").mock(side_effect=echo_created)

    receipt = adapter().publish(make_outgoing(text="Pools open"))

    (record,) = created_records(router)
    rkey = deterministic_tid(KEY, CREATED)
    assert record["rkey"] == rkey and record["repo"] == BLUESKY_DID
    assert record["record"]["text"] == "Pools open"
    assert receipt.remote_id == f"at://{BLUESKY_DID}/app.bsky.feed.post/{rkey}"
    assert receipt.remote_url == f"https://bsky.app/profile/parks.city.example/post/{rkey}"


def test_link_and_hashtag_facets_point_at_the_right_utf8_bytes_even_after_an_emoji(router: respx.MockRouter) -> None:
    router.post(f"{XRPC}/com.atproto.repo.createRecord").mock(side_effect=echo_created)
    text = "🏊‍♀️ Pools open! https://city.example/pools #SummerInTheCity"

    adapter().publish(make_outgoing(text=text))

    facets = created_records(router)[0]["record"]["facets"]
    encoded = text.encode()
    spans = {facet["features"][0]["$type"]: encoded[facet["index"]["byteStart"]:facet["index"]["byteEnd"]].decode() for facet in facets}
    assert spans == {"app.bsky.richtext.facet#link": "https://city.example/pools", "app.bsky.richtext.facet#tag": "#SummerInTheCity"}
    link = next(f for f in facets if f["features"][0]["$type"].endswith("#link"))
    assert link["features"][0]["uri"] == "https://city.example/pools"


def test_a_retry_whose_record_key_is_taken_answers_with_the_post_already_there(router: respx.MockRouter) -> None:
    rkey = deterministic_tid(KEY, CREATED)
    # The reference PDS answers a taken rkey with 500 today; 409 and 400 are handled alike.
    router.post(f"{XRPC}/com.atproto.repo.createRecord").respond(500, json=xrpc_error("InternalServerError", "Internal Server Error"))
    router.get(f"{XRPC}/com.atproto.repo.getRecord", params={"rkey": rkey}).respond(
        json={"uri": f"at://{BLUESKY_DID}/app.bsky.feed.post/{rkey}", "cid": CID, "value": {"$type": "app.bsky.feed.post", "text": "Pools open", "createdAt": "2025-05-01T12:00:01.000Z"}}
    )

    receipt = adapter().publish(make_outgoing(text="Pools open"))

    assert receipt.remote_id.endswith(rkey)
    assert len(created_records(router)) == 1


def test_a_server_error_with_nothing_under_the_record_key_stays_transient(router: respx.MockRouter) -> None:
    router.post(f"{XRPC}/com.atproto.repo.createRecord").respond(500, json=xrpc_error("InternalServerError", "Internal Server Error"))
    router.get(f"{XRPC}/com.atproto.repo.getRecord").respond(400, json=xrpc_error("RecordNotFound", "Could not locate record"))

    with pytest.raises(TransientError):
        adapter().publish(make_outgoing())


def test_images_are_uploaded_as_blobs_and_embedded_with_alt_text_and_aspect_ratio(router: respx.MockRouter, image: MediaItem) -> None:
    router.post(f"{XRPC}/com.atproto.repo.uploadBlob").respond(
        json={"blob": {"$type": "blob", "ref": {"$link": "bafkreibabalobzn6cd366ukcsjycp4yymjymgfxcv6xczmlgpemzkz3cfa"}, "mimeType": "image/png", "size": 200}}
    )
    router.post(f"{XRPC}/com.atproto.repo.createRecord").mock(side_effect=echo_created)

    adapter().publish(make_outgoing(text="Pools open", media=[image]))

    embed = created_records(router)[0]["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    (embedded,) = embed["images"]
    assert embedded["alt"] == image.alt_text
    assert (embedded["aspectRatio"]["width"], embedded["aspectRatio"]["height"]) == (40, 30)
    assert embedded["image"]["ref"]["$link"].startswith("bafkrei")


def test_each_part_of_a_thread_replies_with_the_first_as_root_and_the_previous_as_parent(router: respx.MockRouter) -> None:
    router.post(f"{XRPC}/com.atproto.repo.createRecord").mock(side_effect=echo_created)

    receipt = adapter().publish(make_outgoing(parts=["one", "two", "three"]))

    records = created_records(router)
    uris = receipt.part_ids
    assert "reply" not in records[0]["record"]
    assert records[1]["record"]["reply"]["root"]["uri"] == uris[0] == records[1]["record"]["reply"]["parent"]["uri"]
    assert records[2]["record"]["reply"]["root"]["uri"] == uris[0]
    assert records[2]["record"]["reply"]["parent"]["uri"] == uris[1]
    assert [r["rkey"] for r in records] == [deterministic_tid(KEY, CREATED, n) for n in range(3)]


def test_one_adapter_logs_in_once_for_many_calls(router: respx.MockRouter) -> None:
    router.post(f"{XRPC}/com.atproto.repo.createRecord").mock(side_effect=echo_created)
    bluesky = adapter()

    bluesky.publish(make_outgoing(text="one"))
    bluesky.publish(make_outgoing(text="two", key="another-delivery"))

    assert sum(call.request.url.path.endswith("createSession") for call in router.calls) == 1


def test_find_looks_up_the_record_key_and_answers_none_when_it_is_empty(router: respx.MockRouter) -> None:
    rkey = deterministic_tid(KEY, CREATED)
    route = router.get(f"{XRPC}/com.atproto.repo.getRecord", params={"repo": BLUESKY_DID, "collection": "app.bsky.feed.post", "rkey": rkey})
    route.respond(json={"uri": f"at://{BLUESKY_DID}/app.bsky.feed.post/{rkey}", "cid": CID, "value": {"$type": "app.bsky.feed.post", "text": "Pools open", "createdAt": "2025-05-01T12:00:01.000Z"}})
    assert adapter().find(make_outgoing()).remote_id.endswith(rkey)

    route.respond(400, json=xrpc_error("RecordNotFound", f"Could not locate record: at://{BLUESKY_DID}/app.bsky.feed.post/{rkey}"))
    assert adapter().find(make_outgoing()) is None


def test_a_rate_limit_waits_until_ratelimit_reset(router: respx.MockRouter) -> None:
    router.post(f"{XRPC}/com.atproto.repo.createRecord").respond(
        429, json=xrpc_error("RateLimitExceeded", "Rate Limit Exceeded"), headers={"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-reset": str(int(time.time()) + 600)}
    )

    with pytest.raises(RateLimited) as caught:
        adapter().publish(make_outgoing())
    assert 590 < caught.value.retry_after <= 600


def test_a_wrong_app_password_is_a_credentials_error(router: respx.MockRouter) -> None:
    router.post(f"{XRPC}/com.atproto.server.createSession").respond(401, json=xrpc_error("AuthenticationRequired", "Invalid identifier or password"))

    with pytest.raises(CredentialsError):
        adapter().check()


def test_an_expired_token_answer_is_a_credentials_error_not_a_bad_post(router: respx.MockRouter) -> None:
    router.post(f"{XRPC}/com.atproto.repo.createRecord").respond(400, json=xrpc_error("ExpiredToken", "Token has expired"))

    with pytest.raises(CredentialsError):
        adapter().publish(make_outgoing())


def test_an_invalid_record_is_permanent(router: respx.MockRouter) -> None:
    router.post(f"{XRPC}/com.atproto.repo.createRecord").respond(400, json=xrpc_error("InvalidRequest", "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes"))
    router.get(f"{XRPC}/com.atproto.repo.getRecord").respond(400, json=xrpc_error("RecordNotFound", "Could not locate record"))

    with pytest.raises(PermanentError) as caught:
        adapter().publish(make_outgoing())
    assert not isinstance(caught.value, CredentialsError)


def test_a_timeout_while_creating_is_maybe_posted_and_a_refused_login_is_transient(router: respx.MockRouter) -> None:
    router.post(f"{XRPC}/com.atproto.repo.createRecord").mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(MaybePosted):
        adapter().publish(make_outgoing())

    router.post(f"{XRPC}/com.atproto.server.createSession").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransientError) as caught:
        adapter().publish(make_outgoing())
    assert not isinstance(caught.value, MaybePosted)


def test_delete_removes_the_record_by_its_key(router: respx.MockRouter) -> None:
    route = router.post(f"{XRPC}/com.atproto.repo.deleteRecord").respond(json={"commit": {"cid": CID, "rev": "3lo4b4yu622fj"}})

    adapter().delete(f"at://{BLUESKY_DID}/app.bsky.feed.post/3lo4b4yu622fi")

    assert json.loads(route.calls[0].request.content) == {"collection": "app.bsky.feed.post", "repo": BLUESKY_DID, "rkey": "3lo4b4yu622fi"}


def test_publishing_without_a_creation_time_is_refused_rather_than_risking_a_double_post(router: respx.MockRouter) -> None:
    with pytest.raises(ValueError):
        adapter().publish(make_outgoing(created_at=None))
    assert not router.calls


def test_an_image_over_bluesky_1_mb_limit_is_sent_re_encoded_under_it_not_refused(router: respx.MockRouter, tmp_path) -> None:
    import io
    import os

    from PIL import Image

    path = tmp_path / ("cd" * 32)
    Image.frombytes("RGB", (1400, 1000), os.urandom(1400 * 1000 * 3)).save(path, "PNG")
    assert path.stat().st_size > 1_000_000
    router.post(f"{XRPC}/com.atproto.repo.uploadBlob").respond(
        json={"blob": {"$type": "blob", "ref": {"$link": "bafkreibabalobzn6cd366ukcsjycp4yymjymgfxcv6xczmlgpemzkz3cfa"}, "mimeType": "image/jpeg", "size": 900000}}
    )
    router.post(f"{XRPC}/com.atproto.repo.createRecord").mock(side_effect=echo_created)

    adapter().publish(make_outgoing(text="Noise", media=[MediaItem(path=path, mime_type="image/png", alt_text="Static")]))

    (upload,) = [c.request for c in router.calls if c.request.url.path.endswith("uploadBlob")]
    assert len(upload.content) <= 1_000_000
    assert Image.open(io.BytesIO(upload.content)).size[0] > 0
