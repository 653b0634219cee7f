"""A Mastodon instance as Mastodon.py 2.x, configured as civicpost configures it, sees it."""

import pytest
import requests
from mastodon import MastodonAPIError, MastodonNotFoundError, MastodonUnauthorizedError

from .clients import mastodon_client


def test_the_same_idempotency_key_twice_returns_one_status(sandbox):
    client = mastodon_client(sandbox.url)

    first = client.status_post("Snow emergency declared.", idempotency_key="delivery-41")
    second = client.status_post("Snow emergency declared.", idempotency_key="delivery-41")

    assert first.id == second.id
    assert len(sandbox.state.mastodon.statuses) == 1


def test_different_idempotency_keys_make_different_statuses(sandbox):
    client = mastodon_client(sandbox.url)

    client.status_post("Same words", idempotency_key="a")
    client.status_post("Same words", idempotency_key="b")

    assert len(sandbox.state.mastodon.statuses) == 2


def test_statuses_parse_into_mastodon_py_entities_with_real_datetimes(sandbox):
    client = mastodon_client(sandbox.url)
    me = client.account_verify_credentials()

    posted = client.status_post("Council meeting at 7 pm.")
    listed = client.account_statuses(me.id)

    assert posted.created_at.tzinfo is not None
    assert posted.account.acct == "cityofsandbox"
    assert [s.id for s in listed] == [posted.id]
    assert "<p>Council meeting at 7 pm.</p>" == listed[0].content


def test_the_instance_reports_a_500_character_limit(sandbox):
    client = mastodon_client(sandbox.url)

    assert client.instance_v2().configuration.statuses.max_characters == 500
    assert client.instance_v1().configuration.statuses.max_characters == 500


def test_a_status_over_the_limit_is_refused_but_urls_count_as_23(sandbox):
    client = mastodon_client(sandbox.url)
    long_url = "https://city.example/" + "a" * 600

    client.status_post("x" * 470 + " " + long_url)
    with pytest.raises(MastodonAPIError) as refused:
        client.status_post("x" * 501)

    assert refused.value.args[1] == 422


def test_media_keeps_its_description_and_attaches_to_the_status(sandbox):
    client = mastodon_client(sandbox.url)
    media = client.media_post(b"\x89PNG fake", mime_type="image/png", description="Flooded underpass")

    status = client.status_post("Avoid the underpass.", media_ids=[media])

    assert client.media(media.id).description == "Flooded underpass"
    assert status.media_attachments[0].description == "Flooded underpass"
    assert sandbox.state.mastodon.timeline()[0].alts == ("Flooded underpass",)


def test_a_deleted_status_is_gone_and_deleting_again_is_not_found(sandbox):
    client = mastodon_client(sandbox.url)
    status = client.status_post("Wrong date")

    deleted = client.status_delete(status.id)
    with pytest.raises(MastodonNotFoundError):
        client.status_delete(status.id)

    assert deleted.text == "Wrong date"
    assert sandbox.state.mastodon.statuses == {}


def test_a_bad_token_is_unauthorized(sandbox):
    with pytest.raises(MastodonUnauthorizedError):
        mastodon_client(sandbox.url, token="bad").status_post("never posted")


def test_every_response_carries_mastodons_rate_limit_headers_with_an_iso_reset(sandbox):
    response = requests.get(
        f"{sandbox.url}/mastodon/api/v1/accounts/verify_credentials", headers={"Authorization": "Bearer t"}
    )

    assert response.headers["X-RateLimit-Limit"] == "300"
    assert int(response.headers["X-RateLimit-Remaining"]) < 300
    assert response.headers["X-RateLimit-Reset"].endswith("Z")
    assert "T" in response.headers["X-RateLimit-Reset"]
