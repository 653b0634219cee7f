"""A Bluesky PDS as the atproto Client sees it: sessions, records, blobs, feed."""

import time

import httpx
import pytest
from atproto import Client, Session, models
from atproto_client.exceptions import BadRequestError, RequestException, UnauthorizedError

HANDLE = "city.bsky.social"


def bluesky_client(url: str) -> Client:
    client = Client(base_url=f"{url}/bluesky")
    client.login(HANDLE, "app-password")
    return client


def test_login_stays_on_the_sandbox_and_send_post_lands_in_the_author_feed(sandbox):
    client = bluesky_client(sandbox.url)

    post = client.send_post("Farmers market opens Saturday.")
    feed = client.get_author_feed(client.me.did).feed

    assert client._base_url.startswith(sandbox.url)
    assert [item.post.uri for item in feed] == [post.uri]
    assert feed[0].post.record.text == "Farmers market opens Saturday."


def test_a_record_created_with_an_rkey_can_be_read_back(sandbox):
    client = bluesky_client(sandbox.url)
    record = models.AppBskyFeedPost.Record(text="Keyed post", created_at=client.get_current_time_iso())

    created = client.com.atproto.repo.create_record(
        models.ComAtprotoRepoCreateRecord.Data(
            repo=client.me.did, collection="app.bsky.feed.post", rkey="3kdelivery41", record=record
        )
    )
    fetched = client.com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(repo=client.me.did, collection="app.bsky.feed.post", rkey="3kdelivery41")
    )

    assert created.uri.endswith("/app.bsky.feed.post/3kdelivery41")
    assert fetched.value.text == "Keyed post"
    assert fetched.cid == created.cid


def test_creating_an_existing_rkey_fails_with_a_500_as_todays_pds_does(sandbox):
    client = bluesky_client(sandbox.url)
    data = models.ComAtprotoRepoCreateRecord.Data(
        repo=client.me.did,
        collection="app.bsky.feed.post",
        rkey="3kdelivery42",
        record=models.AppBskyFeedPost.Record(text="Once", created_at=client.get_current_time_iso()),
    )
    client.com.atproto.repo.create_record(data)

    with pytest.raises(RequestException) as failed:
        client.com.atproto.repo.create_record(data)

    assert failed.value.response.status_code == 500
    assert len(sandbox.state.bluesky.timeline()) == 1


def test_a_missing_record_is_record_not_found(sandbox):
    client = bluesky_client(sandbox.url)

    with pytest.raises(BadRequestError) as missing:
        client.com.atproto.repo.get_record(
            models.ComAtprotoRepoGetRecord.Params(repo=client.me.did, collection="app.bsky.feed.post", rkey="3knone")
        )

    assert missing.value.response.content.error == "RecordNotFound"


def test_put_record_replaces_and_delete_removes(sandbox):
    client = bluesky_client(sandbox.url)
    now = client.get_current_time_iso()
    for text in ("First", "Second"):
        client.com.atproto.repo.put_record(
            models.ComAtprotoRepoPutRecord.Data(
                repo=client.me.did,
                collection="app.bsky.feed.post",
                rkey="3kput",
                record=models.AppBskyFeedPost.Record(text=text, created_at=now),
            )
        )
    assert [p.text for p in sandbox.state.bluesky.timeline()] == ["Second"]

    client.delete_post(f"at://{client.me.did}/app.bsky.feed.post/3kput")

    assert sandbox.state.bluesky.timeline() == []


def test_images_keep_their_alt_text(sandbox):
    client = bluesky_client(sandbox.url)

    client.send_image("Storm damage", image=b"\x89PNG fake", image_alt="Fallen oak across Main St.")

    assert sandbox.state.bluesky.timeline()[0].alts == ("Fallen oak across Main St.",)
    upload = [r for r in sandbox.requests("bluesky") if r["path"].endswith("uploadBlob")][0]
    assert upload["body"]["bytes"] == len(b"\x89PNG fake")


def test_a_post_over_300_graphemes_is_an_invalid_request(sandbox):
    client = bluesky_client(sandbox.url)

    with pytest.raises(BadRequestError) as refused:
        client.send_post("é" * 301)

    assert "300 graphemes" in refused.value.response.content.message


def test_a_wrong_password_is_refused(sandbox):
    with pytest.raises(UnauthorizedError):
        Client(base_url=f"{sandbox.url}/bluesky").login(HANDLE, "bad")


def test_a_token_close_to_expiry_is_refreshed_by_the_client_before_the_next_call(sandbox):
    sandbox.state.bluesky.access_ttl_s = 600  # atproto refreshes within 15 minutes of exp
    try:
        client = bluesky_client(sandbox.url)
        client.send_post("After refresh")
    finally:
        sandbox.state.bluesky.access_ttl_s = 7200

    paths = [r["path"].rsplit("/", 1)[1] for r in sandbox.requests("bluesky")]
    assert "com.atproto.server.refreshSession" in paths
    assert Session.decode(client.export_session_string()).access_jwt_payload.exp > time.time()


def test_an_expired_token_is_answered_with_expired_token(sandbox):
    sandbox.state.bluesky.access_ttl_s = -1
    try:
        session = httpx.post(
            f"{sandbox.url}/bluesky/xrpc/com.atproto.server.createSession",
            json={"identifier": HANDLE, "password": "app-password"},
        ).json()
    finally:
        sandbox.state.bluesky.access_ttl_s = 7200

    response = httpx.get(
        f"{sandbox.url}/bluesky/xrpc/com.atproto.server.getSession",
        headers={"Authorization": f"Bearer {session['accessJwt']}"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "ExpiredToken"
