import json
import socket
import time
from collections.abc import Iterator

import pytest
import requests
import responses
from responses import matchers

from civicpost.platforms import CredentialsError, MaybePosted, MediaItem, PermanentError, RateLimited, TransientError
from civicpost.platforms.x.adapter import XAdapter
from tests.factories import OUTGOING_CREATED as CREATED
from tests.factories import make_outgoing

from .recorded.x import X_BASE, X_CREDENTIALS, X_ME, x_problem, x_rate_limit_headers, x_tweet

TWEETS = f"{X_BASE}/2/tweets"


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


def adapter(**settings: str) -> XAdapter:
    return XAdapter(X_CREDENTIALS, {"api_base": X_BASE, **settings}, timeout=5)


def sent_json(call: responses.Call) -> dict:
    return json.loads(call.request.body)


def test_a_tweet_goes_to_the_configured_api_base_signed_with_oauth1_and_with_a_timeout(mock: responses.RequestsMock) -> None:
    mock.post(TWEETS, json=x_tweet("1880000000000000001", "Pools open"), status=201)

    receipt = adapter().publish(make_outgoing(text="Pools open"))

    call = mock.calls[0]
    assert sent_json(call) == {"text": "Pools open"}
    assert call.request.headers["Authorization"].startswith("OAuth ")
    assert call.request.req_kwargs["timeout"] == 5
    assert receipt.remote_id == "1880000000000000001"
    assert receipt.remote_url == "https://x.com/i/web/status/1880000000000000001"


def test_an_oauth2_user_token_is_sent_as_a_bearer_token(mock: responses.RequestsMock) -> None:
    mock.post(TWEETS, json=x_tweet("1", "hi"), status=201, match=[matchers.header_matcher({"Authorization": "Bearer user-token"})])

    XAdapter({"oauth2_access_token": "user-token"}, {"api_base": X_BASE}, timeout=5).publish(make_outgoing(text="hi"))


def test_each_part_of_a_thread_replies_to_the_part_before(mock: responses.RequestsMock) -> None:
    for n in (1, 2, 3):
        mock.post(TWEETS, json=x_tweet(f"188000000000000000{n}", f"part {n}"), status=201)

    receipt = adapter().publish(make_outgoing(parts=["part 1", "part 2", "part 3"]))

    bodies = [sent_json(call) for call in mock.calls]
    assert "reply" not in bodies[0]
    assert bodies[1]["reply"] == {"in_reply_to_tweet_id": "1880000000000000001"}
    assert bodies[2]["reply"] == {"in_reply_to_tweet_id": "1880000000000000002"}
    assert receipt.part_ids == ["1880000000000000001", "1880000000000000002", "1880000000000000003"]


def test_a_resumed_thread_posts_only_the_missing_parts_replying_to_the_last_posted(
    mock: responses.RequestsMock, image: MediaItem
) -> None:
    mock.post(TWEETS, json=x_tweet("1880000000000000003", "part 3"), status=201)

    receipt = adapter().publish(
        make_outgoing(parts=["part 1", "part 2", "part 3"], media=[image],
                      already_posted=["1880000000000000001", "1880000000000000002"])
    )

    (call,) = mock.calls  # no second copy of parts 1 and 2, no image upload again
    assert sent_json(call)["text"] == "part 3"
    assert sent_json(call)["reply"] == {"in_reply_to_tweet_id": "1880000000000000002"}
    assert receipt.part_ids == ["1880000000000000001", "1880000000000000002", "1880000000000000003"]


def test_an_image_is_uploaded_with_v2_media_upload_and_given_its_alt_text_before_the_tweet(
    mock: responses.RequestsMock, image: MediaItem
) -> None:
    mock.post(f"{X_BASE}/2/media/upload", json={"data": {"id": "1880028106020515840", "media_key": "3_1880028106020515840", "size": 200, "expires_after_secs": 86400, "image": {"image_type": "image/png", "w": 40, "h": 30}}})
    mock.post(f"{X_BASE}/2/media/metadata", json={"data": {"associated_metadata": True, "id": "1880028106020515840"}})
    mock.post(TWEETS, json=x_tweet("1880000000000000001", "Pools open"), status=201)

    adapter().publish(make_outgoing(text="Pools open", media=[image]))

    upload, metadata, tweet = mock.calls
    assert b'name="media_category"' in upload.request.body and b"tweet_image" in upload.request.body
    assert upload.request.headers["Authorization"].startswith("OAuth ")
    assert sent_json(metadata) == {"id": "1880028106020515840", "metadata": {"alt_text": {"text": image.alt_text}}}
    assert sent_json(tweet)["media"] == {"media_ids": ["1880028106020515840"]}


def test_x_refusing_duplicate_content_is_maybe_posted_never_success_nor_failure(mock: responses.RequestsMock) -> None:
    mock.post(TWEETS, status=403, json=x_problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."))

    with pytest.raises(MaybePosted):
        adapter().publish(make_outgoing())


def test_a_403_about_the_app_itself_is_a_credentials_problem(mock: responses.RequestsMock) -> None:
    mock.post(TWEETS, status=403, json={"title": "Client Forbidden", "detail": "This request must be made using an approved developer account.", "reason": "client-not-enrolled", "type": "https://api.twitter.com/2/problems/client-forbidden"})

    with pytest.raises(CredentialsError):
        adapter().publish(make_outgoing())


def test_rate_limited_waits_until_the_later_of_the_window_and_the_daily_cap(mock: responses.RequestsMock) -> None:
    headers = x_rate_limit_headers(60) | {"x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": str(int(time.time()) + 3600)}
    mock.post(TWEETS, status=429, json=x_problem(429, "Too Many Requests", "Too Many Requests"), headers=headers)

    with pytest.raises(RateLimited) as caught:
        adapter().publish(make_outgoing())
    assert 3500 < caught.value.retry_after <= 3600


def test_a_read_timeout_after_sending_a_tweet_is_maybe_posted(mock: responses.RequestsMock) -> None:
    mock.post(TWEETS, body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(MaybePosted):
        adapter().publish(make_outgoing())


def test_a_refused_connection_is_transient_because_nothing_was_sent() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(TransientError) as caught:
        adapter(api_base=f"http://127.0.0.1:{port}").publish(make_outgoing())
    assert not isinstance(caught.value, MaybePosted)


def test_a_failure_mid_thread_reports_the_parts_already_posted(mock: responses.RequestsMock) -> None:
    mock.post(TWEETS, json=x_tweet("1880000000000000001", "part 1"), status=201)
    mock.post(TWEETS, status=503, json=x_problem(503, "Service Unavailable", "Service Unavailable"))

    with pytest.raises(TransientError) as caught:
        adapter().publish(make_outgoing(parts=["part 1", "part 2"]))
    assert caught.value.partial is not None and caught.value.partial.part_ids == ["1880000000000000001"]


def test_find_recognises_the_tweet_although_x_shortened_its_link(mock: responses.RequestsMock) -> None:
    mock.get(f"{X_BASE}/2/users/me", json=X_ME)
    mock.get(
        f"{X_BASE}/2/users/1580661436132757506/tweets",
        json={
            "data": [
                {"id": "1880000000000000009", "text": "Library closed Monday", "created_at": "2025-05-01T13:00:00.000Z", "edit_history_tweet_ids": ["1880000000000000009"]},
                {"id": "1880000000000000001", "text": "Pools open Saturday at 10am. Details: https://t.co/AbC123xyz #SummerInTheCity", "created_at": "2025-05-01T12:00:04.000Z", "edit_history_tweet_ids": ["1880000000000000001"]},
            ],
            "meta": {"result_count": 2, "newest_id": "1880000000000000009", "oldest_id": "1880000000000000001"},
        },
    )

    receipt = adapter().find(make_outgoing())

    assert receipt is not None and receipt.remote_id == "1880000000000000001"
    assert "start_time=2025-05-01T11%3A55%3A00Z" in mock.calls[1].request.url


def test_find_answers_none_when_no_recent_tweet_has_the_text(mock: responses.RequestsMock) -> None:
    mock.get(f"{X_BASE}/2/users/me", json=X_ME)
    mock.get(f"{X_BASE}/2/users/1580661436132757506/tweets", json={"data": [{"id": "9", "text": "Library closed Monday", "created_at": "2025-05-01T13:00:00.000Z"}], "meta": {"result_count": 1}})

    assert adapter().find(make_outgoing(created_at=CREATED)) is None


def test_deleting_a_tweet_that_is_already_gone_succeeds(mock: responses.RequestsMock) -> None:
    mock.delete(f"{TWEETS}/1880000000000000001", status=404, json=x_problem(404, "Not Found Error", "Could not find tweet with id: [1880000000000000001]."))

    adapter().delete("1880000000000000001")


def test_check_reads_the_account_and_maps_a_revoked_token(mock: responses.RequestsMock) -> None:
    mock.get(f"{X_BASE}/2/users/me", json=X_ME)
    assert adapter().check() == {"user_id": "1580661436132757506", "username": "CityOfExample"}

    mock.get(f"{X_BASE}/2/users/me", status=401, json=x_problem(401, "Unauthorized", "Unauthorized"))
    with pytest.raises(CredentialsError):
        adapter().check()


def test_a_video_is_refused_before_anything_is_sent(mock: responses.RequestsMock, image: MediaItem) -> None:
    video = MediaItem(path=image.path, mime_type="video/mp4", alt_text="a clip")
    with pytest.raises(PermanentError):
        adapter().publish(make_outgoing(media=[video]))
    assert len(mock.calls) == 0
