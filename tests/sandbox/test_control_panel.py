"""The sandbox's own surface: the request log, reset, and the timeline page."""

import httpx
from atproto import Client

from .clients import mastodon_client, x_client


def test_recorded_requests_keep_the_body_and_auth_scheme_but_not_the_secrets(sandbox):
    Client(base_url=f"{sandbox.url}/bluesky").login("city.bsky.social", "s3cret-app-password")
    mastodon_client(sandbox.url, token="s3cret-token").status_post("Hello", idempotency_key="k-1")

    log = sandbox.requests()
    flat = str(log)

    assert "s3cret" not in flat
    session = next(r for r in log if r["path"].endswith("createSession"))
    assert session["body"] == {"identifier": "city.bsky.social", "password": "[redacted]"}
    status = next(r for r in log if r["path"] == "/mastodon/api/v1/statuses")
    assert status["headers"]["authorization"] == "Bearer [redacted]"
    assert status["headers"]["idempotency-key"] == "k-1"
    assert status["body"]["status"] == "Hello"


def test_the_log_can_be_read_per_platform_and_after_a_sequence_number(sandbox):
    client = x_client(sandbox.url)
    client.create_tweet(text="one")
    first = sandbox.requests("x")[-1]["seq"]
    client.create_tweet(text="two")

    later = sandbox.http.get("/_sandbox/requests", params={"platform": "x", "since": first}).json()["requests"]

    assert [r["body"]["text"] for r in later] == ["two"]
    assert sandbox.requests("graph") == []


def test_reset_forgets_posts_and_requests(sandbox):
    x_client(sandbox.url).create_tweet(text="before reset")

    sandbox.http.post("/_sandbox/reset")

    assert sandbox.requests() == []
    assert sandbox.state.x.tweets == {}


def test_the_page_lists_each_platforms_posts_with_alt_text_escaped(sandbox):
    client = mastodon_client(sandbox.url)
    media = client.media_post(b"\x89PNG", mime_type="image/png", description="Map <of> the route")
    client.status_post("Parade <b>route</b> & times", media_ids=[media])
    x_client(sandbox.url).create_tweet(text="Parade today")

    page = httpx.get(f"{sandbox.url}/").text

    assert '<html lang="en">' in page
    assert "Parade &lt;b&gt;route&lt;/b&gt; &amp; times" in page
    assert "Image 1 alt text: Map &lt;of&gt; the route" in page
    assert "Parade today" in page
    assert page.count("<section") == len(sandbox.state.platforms)  # one per fake platform


def test_the_page_points_out_an_image_without_alt_text(sandbox):
    client = mastodon_client(sandbox.url)
    media = client.media_post(b"\x89PNG", mime_type="image/png")
    client.status_post("No description", media_ids=[media])

    assert "missing alt text" in httpx.get(f"{sandbox.url}/").text


def test_each_post_has_a_page_of_its_own_that_is_gone_once_the_post_is_deleted(sandbox):
    from atproto import Client

    x = x_client(sandbox.url)
    tweet = x.create_tweet(text="Pool opens at nine").data["id"]
    status = mastodon_client(sandbox.url).status_post("Library closed Monday", idempotency_key="k-page")
    graph = httpx.post(f"{sandbox.url}/graph/v21.0/102030405060708/feed", data={"message": "Leaf pickup starts"},
                       headers={"Authorization": "Bearer page-token"}).json()["id"]
    permalink = httpx.get(f"{sandbox.url}/graph/v21.0/{graph}", params={"fields": "permalink_url"},
                          headers={"Authorization": "Bearer page-token"}).json()["permalink_url"]
    bluesky = Client(base_url=f"{sandbox.url}/bluesky")
    bluesky.login("parks.demo.city", "app-password")
    uri = bluesky.send_post("Trail map updated").uri

    pages = {
        f"{sandbox.url}/x/i/web/status/{tweet}": "Pool opens at nine",
        status["url"]: "Library closed Monday",
        permalink: "Leaf pickup starts",
        f"{sandbox.url}/bluesky/profile/parks.demo.city/post/{uri.rsplit('/', 1)[1]}": "Trail map updated",
    }
    for url, text in pages.items():
        assert url.startswith(sandbox.url), url
        page = httpx.get(url)
        assert page.status_code == 200 and text in page.text, url

    x.delete_tweet(tweet)
    gone = httpx.get(f"{sandbox.url}/x/i/web/status/{tweet}")
    assert gone.status_code == 404 and "deleted" in gone.text
