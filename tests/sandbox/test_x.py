"""X API v2 through tweepy's real Client, aimed at the sandbox by a transport adapter."""

import pytest
import requests
import tweepy

from .clients import x_client


def oauth1():
    return tweepy.OAuth1UserHandler("ck", "cs", "at", "ats").apply_auth()


def test_tweepy_creates_a_tweet_that_appears_in_the_users_recent_tweets(sandbox):
    client = x_client(sandbox.url)

    created = client.create_tweet(text="Leaf collection starts Monday.")
    me = client.get_me(user_auth=True).data
    recent = client.get_users_tweets(me.id, user_auth=True, max_results=5)

    assert created.data["text"] == "Leaf collection starts Monday."
    assert [t.id for t in recent.data] == [int(created.data["id"])]


def test_a_reply_carries_the_id_of_the_tweet_it_answers(sandbox):
    client = x_client(sandbox.url)
    first = client.create_tweet(text="Part one").data["id"]

    client.create_tweet(text="Part two", in_reply_to_tweet_id=first)

    assert sandbox.state.x.timeline()[-1].reply_to == first


def test_the_same_text_twice_is_refused_as_duplicate_content_like_x_does(sandbox):
    client = x_client(sandbox.url)
    client.create_tweet(text="Pool closed today.")

    with pytest.raises(tweepy.Forbidden) as refused:
        client.create_tweet(text="Pool closed today.")

    assert refused.value.response.json()["detail"] == "You are not allowed to create a Tweet with duplicate content."
    assert len(sandbox.state.x.tweets) == 1


def test_a_deleted_tweet_leaves_the_timeline_and_its_text_can_be_posted_again(sandbox):
    client = x_client(sandbox.url)
    tweet_id = client.create_tweet(text="Typo here").data["id"]

    deleted = client.delete_tweet(tweet_id)
    client.create_tweet(text="Typo here")

    assert deleted.data == {"deleted": True}
    assert [t.text for t in sandbox.state.x.timeline()] == ["Typo here"]


@pytest.mark.parametrize("field", ["consumer_key", "access_token"])
def test_a_bad_key_or_token_is_unauthorized(sandbox, field):
    client = x_client(sandbox.url, **{field: "bad"})

    with pytest.raises(tweepy.Unauthorized):
        client.create_tweet(text="never posted")

    assert sandbox.state.x.tweets == {}


def test_a_bearer_token_is_accepted_and_an_absent_one_is_not(sandbox):
    with_bearer = requests.get(f"{sandbox.url}/x/2/users/me", headers={"Authorization": "Bearer user-token"})
    without = requests.get(f"{sandbox.url}/x/2/users/me")

    assert with_bearer.status_code == 200
    assert without.status_code == 401
    assert without.json()["title"] == "Unauthorized"


def test_media_uploaded_with_alt_text_is_attached_to_the_tweet(sandbox):
    client = x_client(sandbox.url)
    # tweepy has no v2 upload, so this rides its session and auth, as the adapter will.
    upload = client.session.post(
        "https://api.twitter.com/2/media/upload",
        files={"media": ("map.png", b"\x89PNG fake image", "image/png")},
        data={"media_category": "tweet_image"},
        auth=oauth1(),
    )
    media = upload.json()["data"]
    metadata = client.session.post(
        "https://api.twitter.com/2/media/metadata",
        json={"id": media["id"], "metadata": {"alt_text": {"text": "Map of the detour"}}},
        auth=oauth1(),
    )

    client.create_tweet(text="Detour map", media_ids=[media["id"]])

    assert media["media_key"] == f"3_{media['id']}" and media["size"] == 15
    assert metadata.json()["data"]["associated_metadata"]["alt_text"]["text"] == "Map of the detour"
    assert sandbox.state.x.timeline()[0].alts == ("Map of the detour",)


def test_a_json_base64_upload_is_accepted_as_the_current_docs_describe(sandbox):
    response = requests.post(
        f"{sandbox.url}/x/2/media/upload",
        json={"media": "iVBORw0KGgo=", "media_category": "tweet_image", "media_type": "image/png"},
        headers={"Authorization": "Bearer user-token"},
    )

    assert response.status_code == 200
    assert response.json()["data"]["size"] == 8


def test_a_tweet_with_unknown_media_ids_is_a_bad_request(sandbox):
    with pytest.raises(tweepy.BadRequest):
        x_client(sandbox.url).create_tweet(text="with ghost media", media_ids=["123"])
