from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
import requests
import responses

from civicpost.platforms import CredentialsError, MaybePosted, MediaItem, PermanentError, RateLimited, TransientError
from civicpost.platforms.mastodon.adapter import MastodonAdapter
from tests.factories import OUTGOING_KEY as KEY
from tests.factories import make_outgoing

from .recorded.mastodon import MASTODON_ACCOUNT, MASTODON_BASE, mastodon_rate_limit_headers, mastodon_status

STATUSES = f"{MASTODON_BASE}/api/v1/statuses"


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    # assert_all_requests_are_fired: also proves Mastodon.py made no version probe.
    with responses.RequestsMock() as rsps:
        yield rsps


def adapter() -> MastodonAdapter:
    return MastodonAdapter({"access_token": "tok"}, {"api_base": MASTODON_BASE}, timeout=5)


def form(call: responses.Call) -> dict[str, list[str]]:
    body = call.request.body
    return parse_qs(body if isinstance(body, str) else body.decode())


def test_a_status_carries_the_delivery_key_as_idempotency_key(mock: responses.RequestsMock) -> None:
    mock.post(STATUSES, json=mastodon_status("113000000000000001", "<p>Pools open</p>"))

    receipt = adapter().publish(make_outgoing(text="Pools open"))

    call = mock.calls[0]
    assert call.request.headers["Idempotency-Key"] == KEY
    assert call.request.headers["Authorization"] == "Bearer tok"
    assert call.request.req_kwargs["timeout"] == 5
    assert form(call)["status"] == ["Pools open"]
    assert receipt.remote_url == "https://social.sandbox.test/@parks/113000000000000001"


def test_a_thread_replies_part_by_part_with_one_idempotency_key_per_part(mock: responses.RequestsMock) -> None:
    mock.post(STATUSES, json=mastodon_status("1", "<p>one</p>"))
    mock.post(STATUSES, json=mastodon_status("2", "<p>two</p>"))

    receipt = adapter().publish(make_outgoing(parts=["one", "two"]))

    first, second = mock.calls
    assert first.request.headers["Idempotency-Key"] == KEY
    assert second.request.headers["Idempotency-Key"] == f"{KEY}-1"
    assert form(second)["in_reply_to_id"] == ["1"]
    assert receipt.part_ids == ["1", "2"]


def test_a_resumed_thread_does_not_resend_parts_an_earlier_attempt_posted(mock: responses.RequestsMock) -> None:
    mock.post(STATUSES, json=mastodon_status("3", "<p>three</p>"))

    receipt = adapter().publish(make_outgoing(parts=["one", "two", "three"], already_posted=["1", "2"]))

    (call,) = mock.calls
    assert form(call)["in_reply_to_id"] == ["2"]
    assert call.request.headers["Idempotency-Key"] == f"{KEY}-2"
    assert receipt.part_ids == ["1", "2", "3"]


def test_an_image_is_uploaded_with_its_alt_text_as_description(mock: responses.RequestsMock, image: MediaItem) -> None:
    mock.post(f"{MASTODON_BASE}/api/v2/media", json={"id": "22348641", "type": "image", "url": "https://files.sandbox.test/pool.png", "preview_url": "https://files.sandbox.test/small/pool.png", "description": image.alt_text, "blurhash": "UFBWY:8_0Jxv"})
    mock.post(STATUSES, json=mastodon_status("1", "<p>Pools open</p>"))

    adapter().publish(make_outgoing(text="Pools open", media=[image]))

    upload, status = mock.calls
    assert b'name="description"' in upload.request.body and image.alt_text.encode() in upload.request.body
    assert form(status)["media_ids[]"] == ["22348641"]


def test_a_rate_limit_waits_until_the_reset_the_instance_announced(mock: responses.RequestsMock) -> None:
    mock.post(STATUSES, status=429, json={"error": "Too many requests"}, headers=mastodon_rate_limit_headers(300))

    with pytest.raises(RateLimited) as caught:
        adapter().publish(make_outgoing())
    assert 290 < caught.value.retry_after <= 300


def test_media_still_processing_is_transient_but_other_validation_errors_are_permanent(mock: responses.RequestsMock) -> None:
    mock.post(STATUSES, status=422, json={"error": "Cannot attach files that have not finished processing. Try again in a moment!"})
    with pytest.raises(TransientError):
        adapter().publish(make_outgoing())

    mock.post(STATUSES, status=422, json={"error": "Validation failed: Text character limit of 500 exceeded"})
    with pytest.raises(PermanentError):
        adapter().publish(make_outgoing())


def test_a_token_without_write_scope_is_a_credentials_problem(mock: responses.RequestsMock) -> None:
    mock.post(STATUSES, status=403, json={"error": "This action is outside the authorized scopes"})

    with pytest.raises(CredentialsError):
        adapter().publish(make_outgoing())


def test_a_read_timeout_after_posting_is_maybe_posted_but_on_reading_only_transient(mock: responses.RequestsMock) -> None:
    mock.post(STATUSES, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(MaybePosted):
        adapter().publish(make_outgoing())

    mock.get(f"{MASTODON_BASE}/api/v1/accounts/verify_credentials", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(TransientError) as caught:
        adapter().check()
    assert not isinstance(caught.value, MaybePosted)


def test_find_matches_the_status_html_against_the_text_and_skips_older_posts(mock: responses.RequestsMock) -> None:
    mock.get(f"{MASTODON_BASE}/api/v1/accounts/verify_credentials", json=MASTODON_ACCOUNT)
    same_text = (
        '<p>Pools open Saturday at 10am. Details: <a href="https://city.example/pools" rel="nofollow noopener" target="_blank">'
        '<span class="invisible">https://</span><span class="">city.example/pools</span><span class="invisible"></span></a> '
        '<a href="https://social.sandbox.test/tags/SummerInTheCity" class="mention hashtag" rel="tag">#<span>SummerInTheCity</span></a></p>'
    )
    mock.get(
        f"{MASTODON_BASE}/api/v1/accounts/{MASTODON_ACCOUNT['id']}/statuses",
        json=[
            mastodon_status("113000000000000002", same_text, created_at="2025-05-01T12:00:05.000Z"),
            mastodon_status("100000000000000001", same_text, created_at="2024-05-01T12:00:05.000Z"),
        ],
    )

    receipt = adapter().find(make_outgoing())

    assert receipt is not None and receipt.remote_id == "113000000000000002"


def test_find_answers_none_when_the_account_has_no_such_status(mock: responses.RequestsMock) -> None:
    mock.get(f"{MASTODON_BASE}/api/v1/accounts/verify_credentials", json=MASTODON_ACCOUNT)
    mock.get(f"{MASTODON_BASE}/api/v1/accounts/{MASTODON_ACCOUNT['id']}/statuses", json=[mastodon_status("1", "<p>Library closed</p>")])

    assert adapter().find(make_outgoing()) is None


def test_check_reports_the_instance_character_limit(mock: responses.RequestsMock) -> None:
    mock.get(f"{MASTODON_BASE}/api/v1/accounts/verify_credentials", json=MASTODON_ACCOUNT)
    mock.get(f"{MASTODON_BASE}/api/v2/instance/", json={"domain": "social.sandbox.test", "version": "4.3.2", "configuration": {"statuses": {"max_characters": 1000, "max_media_attachments": 4, "characters_reserved_per_url": 23}}})

    assert adapter().check() == {"account": "parks", "username": "parks", "max_characters": 1000}


def test_a_revoked_token_is_a_credentials_error(mock: responses.RequestsMock) -> None:
    mock.get(f"{MASTODON_BASE}/api/v1/accounts/verify_credentials", status=401, json={"error": "The access token was revoked"})

    with pytest.raises(CredentialsError):
        adapter().check()


def test_deleting_a_status_that_is_already_gone_succeeds(mock: responses.RequestsMock) -> None:
    mock.delete(f"{STATUSES}/113000000000000001", status=404, json={"error": "Record not found"})

    adapter().delete("113000000000000001")


def test_only_the_fields_read_of_a_new_status_reach_mastodon_py_and_other_answers_are_untouched(
    mock: responses.RequestsMock,
) -> None:
    # The adapter keeps id/url/uri/created_at... of a new status so that Mastodon.py
    # does not type the whole answer (account, emojis, card) into its entities.
    mock.post(STATUSES, json=mastodon_status("113000000000000009", "<p>Pools open</p>"))
    mastodon = adapter()

    receipt = mastodon.publish(make_outgoing(text="Pools open"))

    assert receipt.remote_id == "113000000000000009" and receipt.remote_url
    answer = mock.calls[0].response.json()
    assert "account" not in answer and answer["id"] == "113000000000000009"
    # A read (the account, for reconciling) keeps its whole answer.
    mock.get(f"{MASTODON_BASE}/api/v1/accounts/verify_credentials", json=MASTODON_ACCOUNT)
    mock.get(f"{MASTODON_BASE}/api/v2/instance/", json={"configuration": {"statuses": {"max_characters": 1000}}})
    assert mastodon.check()["account"] == MASTODON_ACCOUNT["acct"]
    assert mock.calls[1].response.json() == MASTODON_ACCOUNT
