"""Reading and moderating residents' replies, against each platform's recorded answers:
a reply comes back with its author, time, text and link; a post gone is PostGone; a 429 is a wait;
X's access level that may not search is NotReadable; hiding and deleting go where the platform allows."""

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import respx

from civicpost.platforms import (
    SPECS,
    NotReadable,
    PermanentError,
    PostGone,
    RateLimited,
    Replies,
    ReplyModeration,
    where,
)
from civicpost.platforms.bluesky.adapter import BlueskyAdapter
from civicpost.platforms.facebook.adapter import FacebookAdapter
from civicpost.platforms.mastodon.adapter import MastodonAdapter
from civicpost.platforms.x.adapter import XAdapter

from .recorded.bluesky import BLUESKY_BASE, BLUESKY_CREDENTIALS, BLUESKY_DID, CID, XRPC, bluesky_session
from .recorded.facebook import FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, GRAPH, POST_ID, graph_error
from .recorded.mastodon import MASTODON_BASE, mastodon_rate_limit_headers, mastodon_status
from .recorded.x import X_BASE, X_CREDENTIALS, x_problem, x_rate_limit_headers

POST = "1880000000000000001"


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as mocked:
        yield mocked


def test_the_four_platforms_that_read_replies_say_so_and_their_adapters_speak_it() -> None:
    assert where(lambda s: s.capabilities.replies) == {"x", "mastodon", "bluesky", "facebook"}
    assert where(lambda s: s.capabilities.hide_replies) == {"x", "facebook"}
    assert where(lambda s: s.capabilities.remove_replies) == {"facebook"}
    for name in ("mastodon", "bluesky"):
        assert "not" in SPECS[name].capabilities.moderation_note  # says why staff cannot hide there
    for name in where(lambda s: s.capabilities.replies):
        module, _, cls = SPECS[name].adapter.partition(":")
        adapter_class = getattr(__import__(module, fromlist=[cls]), cls)
        assert callable(getattr(adapter_class, "read_replies", None)), name
        if SPECS[name].capabilities.hide_replies:
            assert callable(getattr(adapter_class, "hide_reply", None)), name
    assert isinstance(FacebookAdapter(FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, timeout=5), ReplyModeration)


def test_mastodon_replies_are_the_status_context_descendants(mock: responses.RequestsMock) -> None:
    reply = {**mastodon_status("113000000000000009", "<p>Will the <b>pool</b> &amp; the city&#39;s gym be heated?</p>"),
             "in_reply_to_id": "113000000000000001",
             "url": "https://town.example/@dana/113000000000000009",
             "account": {"id": "7", "username": "dana", "acct": "dana@town.example", "display_name": "Dana W"}}
    mock.get(f"{MASTODON_BASE}/api/v1/statuses/113000000000000001/context",
             json={"ancestors": [], "descendants": [reply]})
    adapter = MastodonAdapter({"access_token": "tok"}, {"api_base": MASTODON_BASE}, timeout=5)
    assert isinstance(adapter, Replies)

    [found] = adapter.read_replies("113000000000000001")

    assert (found.remote_id, found.author_handle, found.author_name) == \
        ("113000000000000009", "@dana@town.example", "Dana W")
    assert found.text == "Will the pool & the city's gym be heated?" and found.url == "https://town.example/@dana/113000000000000009"
    assert found.created_at is not None and found.created_at.tzinfo is not None


def test_mastodon_answering_404_for_the_post_means_it_is_gone(mock: responses.RequestsMock) -> None:
    mock.get(f"{MASTODON_BASE}/api/v1/statuses/1/context", status=404, json={"error": "Record not found"})
    with pytest.raises(PostGone):
        MastodonAdapter({"access_token": "tok"}, {"api_base": MASTODON_BASE}, timeout=5).read_replies("1")


def test_mastodon_answering_429_to_a_replies_reading_is_a_wait(mock: responses.RequestsMock) -> None:
    mock.get(f"{MASTODON_BASE}/api/v1/statuses/1/context", status=429, json={"error": "Too many requests"},
             headers=mastodon_rate_limit_headers(300))
    with pytest.raises(RateLimited) as caught:
        MastodonAdapter({"access_token": "tok"}, {"api_base": MASTODON_BASE}, timeout=5).read_replies("1")
    assert caught.value.retry_after is not None and 250 < caught.value.retry_after <= 300


def test_x_replies_come_from_a_conversation_search_with_their_authors(mock: responses.RequestsMock) -> None:
    mock.get(f"{X_BASE}/2/tweets/search/recent", json={
        "data": [{"id": "1880000000000000050", "text": "@CityOfExample when does it open &amp; close?",
                  "author_id": "42", "conversation_id": POST, "created_at": "2026-12-04T10:15:00.000Z",
                  "edit_history_tweet_ids": ["1880000000000000050"]}],
        "includes": {"users": [{"id": "42", "username": "lin_chen", "name": "Lin Chen"}]},
        "meta": {"result_count": 1}})
    adapter = XAdapter(X_CREDENTIALS, {"api_base": X_BASE}, timeout=5)

    [found] = adapter.read_replies(POST)

    assert (found.author_handle, found.author_name, found.text) == \
        ("@lin_chen", "Lin Chen", "@CityOfExample when does it open & close?")
    assert found.created_at == datetime(2026, 12, 4, 10, 15, tzinfo=UTC)
    assert found.url == "https://x.com/lin_chen/status/1880000000000000050"
    sent = parse_qs(urlsplit(mock.calls[0].request.url).query)
    assert sent["query"] == [f"conversation_id:{POST}"] and sent["expansions"] == ["author_id"]


def test_x_with_no_replies_looks_the_post_up_and_a_post_not_found_is_gone(mock: responses.RequestsMock) -> None:
    mock.get(f"{X_BASE}/2/tweets/search/recent", json={"meta": {"result_count": 0}})
    mock.get(f"{X_BASE}/2/tweets/{POST}", json={"errors": [{
        "value": POST, "detail": f"Could not find tweet with id: [{POST}].", "title": "Not Found Error",
        "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    with pytest.raises(PostGone):
        XAdapter(X_CREDENTIALS, {"api_base": X_BASE}, timeout=5).read_replies(POST)


def test_x_refusing_a_search_for_the_access_level_is_not_readable_not_broken(mock: responses.RequestsMock) -> None:
    body = x_problem(403, "Client Forbidden", "When authenticating requests to the Twitter API v2 endpoints, you "
                     "must use keys and tokens from a Twitter developer App that is attached to a Project.",
                     "https://api.twitter.com/2/problems/client-forbidden")
    mock.get(f"{X_BASE}/2/tweets/search/recent", status=403, json={**body, "reason": "client-not-enrolled"})
    with pytest.raises(NotReadable):
        XAdapter(X_CREDENTIALS, {"api_base": X_BASE}, timeout=5).read_replies(POST)


def test_x_answering_429_to_a_replies_reading_is_a_wait(mock: responses.RequestsMock) -> None:
    mock.get(f"{X_BASE}/2/tweets/search/recent", status=429,
             json=x_problem(429, "Too Many Requests", "Too Many Requests"), headers=x_rate_limit_headers(120))
    with pytest.raises(RateLimited):
        XAdapter(X_CREDENTIALS, {"api_base": X_BASE}, timeout=5).read_replies(POST)


def test_x_hides_a_reply_with_an_oauth_2_token_and_says_what_to_do_with_oauth_1(mock: responses.RequestsMock) -> None:
    hide = mock.put(f"{X_BASE}/2/tweets/1880000000000000050/hidden", json={"data": {"hidden": True}})
    XAdapter({"oauth2_access_token": "user-token"}, {"api_base": X_BASE}, timeout=5).hide_reply("1880000000000000050")
    assert hide.call_count == 1
    assert mock.calls[0].request.headers["Authorization"] == "Bearer user-token"
    with pytest.raises(PermanentError, match="OAuth 2.0"):
        XAdapter(X_CREDENTIALS, {"api_base": X_BASE}, timeout=5).hide_reply("1880000000000000050")
    with pytest.raises(PermanentError, match="hide it instead"):
        XAdapter(X_CREDENTIALS, {"api_base": X_BASE}, timeout=5).remove_reply("1880000000000000050")


def test_facebook_replies_are_the_post_s_comments_hidden_ones_too(router: respx.MockRouter) -> None:
    comments = router.get(f"{GRAPH}/{POST_ID}/comments").respond(json={"data": [
        {"id": "122101234567890123_901", "message": "Thanks!", "created_time": "2026-12-04T10:15:00+0000",
         "from": {"id": "5551", "name": "Marco Rossi"}, "is_hidden": True,
         "permalink_url": "https://www.facebook.com/104958162837/posts/122101234567890123?comment_id=901"},
        {"id": "122101234567890123_902", "message": "When?", "created_time": "2026-12-04T10:20:00+0000"}]})

    first, second = FacebookAdapter(FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, timeout=5).read_replies(POST_ID)

    assert (first.author_name, first.author_handle, first.text) == ("Marco Rossi", "5551", "Thanks!")
    assert first.created_at == datetime(2026, 12, 4, 10, 15, tzinfo=UTC) and first.url and "comment_id" in first.url
    assert second.author_name == "A Facebook user"  # Graph leaves `from` out for some people
    sent = comments.calls[0].request
    assert sent.url.params["filter"] == "stream" and "is_hidden" in sent.url.params["fields"]
    assert "access_token" not in str(sent.url)


def test_facebook_answering_that_the_post_does_not_exist_means_it_is_gone(router: respx.MockRouter) -> None:
    router.get(f"{GRAPH}/{POST_ID}/comments").respond(400, json=graph_error(
        100, "Unsupported get request. Object with ID does not exist", subcode=33))
    with pytest.raises(PostGone):
        FacebookAdapter(FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, timeout=5).read_replies(POST_ID)


def test_facebook_hides_a_comment_and_deletes_one_and_a_comment_already_gone_is_done(router: respx.MockRouter) -> None:
    hide = router.post(f"{GRAPH}/122101234567890123_901").respond(json={"success": True})
    remove = router.delete(f"{GRAPH}/122101234567890123_902").respond(400, json=graph_error(
        100, "Unsupported delete request.", subcode=33))
    adapter = FacebookAdapter(FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, timeout=5)
    adapter.hide_reply("122101234567890123_901")
    adapter.remove_reply("122101234567890123_902")
    assert hide.calls[0].request.content == b"is_hidden=true" and remove.call_count == 1



BLUESKY_POST = f"at://{BLUESKY_DID}/app.bsky.feed.post/3lbq2xyzabc22"


def bluesky_reply(rkey: str, handle: str, name: str, text: str, *, replies: list | None = None) -> dict:
    did = f"did:plc:{rkey:0<24}"[:32]
    root = {"uri": BLUESKY_POST, "cid": CID}
    record = {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-12-04T10:15:00.000Z",
              "reply": {"root": root, "parent": root}}
    return {"$type": "app.bsky.feed.defs#threadViewPost",
            "post": {"uri": f"at://{did}/app.bsky.feed.post/{rkey}", "cid": CID,
                     "author": {"did": did, "handle": handle, "displayName": name}, "record": record,
                     "indexedAt": "2026-12-04T10:15:01.000Z"},
            "replies": replies or []}


def test_bluesky_replies_are_the_thread_s_replies_and_replies_to_them() -> None:
    nested = bluesky_reply("3lbq2reply0002", "lin.example", "Lin Chen", "It is free.")
    thread = {"$type": "app.bsky.feed.defs#threadViewPost",
              "post": bluesky_reply("3lbq2xyzabc22", "parks.city.example", "Parks", "Pool opens")["post"],
              "replies": [bluesky_reply("3lbq2reply0001", "dana.example", "Dana W", "Is it free?",
                                        replies=[nested]),
                          {"$type": "app.bsky.feed.defs#blockedPost", "uri": "at://x/app.bsky.feed.post/1",
                           "blocked": True, "author": {"did": "did:plc:blocked"}}]}
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{XRPC}/com.atproto.server.createSession").respond(json=bluesky_session())
        asked = router.get(f"{XRPC}/app.bsky.feed.getPostThread").respond(json={"thread": thread})
        found = BlueskyAdapter(BLUESKY_CREDENTIALS, {"api_base": BLUESKY_BASE}, timeout=5).read_replies(BLUESKY_POST)
    assert [(r.author_handle, r.author_name, r.text) for r in found] == [
        ("@dana.example", "Dana W", "Is it free?"), ("@lin.example", "Lin Chen", "It is free.")]
    assert found[0].url == "https://bsky.app/profile/dana.example/post/3lbq2reply0001"
    assert found[0].created_at == datetime(2026, 12, 4, 10, 15, tzinfo=UTC)
    assert asked.calls[0].request.url.params["uri"] == BLUESKY_POST


def test_bluesky_answering_that_the_post_is_not_found_means_it_is_gone() -> None:
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{XRPC}/com.atproto.server.createSession").respond(json=bluesky_session())
        router.get(f"{XRPC}/app.bsky.feed.getPostThread").respond(
            400, json={"error": "NotFound", "message": f"Post not found: {BLUESKY_POST}"})
        with pytest.raises(PostGone):
            BlueskyAdapter(BLUESKY_CREDENTIALS, {"api_base": BLUESKY_BASE}, timeout=5).read_replies(BLUESKY_POST)
