"""The Facebook Graph API as civicpost's thin httpx client calls it."""

import httpx
import pytest

PAGE = "102030405060708"


@pytest.fixture
def graph(sandbox):
    with httpx.Client(
        base_url=f"{sandbox.url}/graph/v21.0", headers={"Authorization": "Bearer page-token"}, timeout=5
    ) as client:
        yield client


def test_a_feed_post_gets_a_page_scoped_id_and_is_listed_with_the_requested_fields(graph):
    created = graph.post(f"/{PAGE}/feed", data={"message": "Road work on Elm St.", "link": "https://city.example/elm"})
    listed = graph.get(f"/{PAGE}/posts", params={"fields": "id,message,permalink_url"})

    post_id = created.json()["id"]
    assert post_id.startswith(f"{PAGE}_")
    assert listed.json()["data"] == [
        {
            "id": post_id,
            "message": "Road work on Elm St.",
            "permalink_url": f"{graph.base_url.scheme}://{graph.base_url.netloc.decode()}/facebook/{PAGE}/posts/{post_id.split('_')[1]}",
        }
    ]


def test_me_names_the_page_the_token_belongs_to(graph):
    assert graph.get("/me").json() == {"id": PAGE, "name": "City of Sandbox"}


def test_a_token_in_the_url_is_refused_even_alongside_a_header(sandbox, graph):
    response = graph.post(f"/{PAGE}/feed", params={"access_token": "page-token"}, data={"message": "leak"})

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "OAuthException"
    assert sandbox.state.graph.posts == {}
    assert sandbox.requests("graph")[-1]["query"] == {"access_token": "[redacted]"}


def test_a_bad_token_gets_graphs_invalid_token_error_190(sandbox):
    response = httpx.get(f"{sandbox.url}/graph/v21.0/me", headers={"Authorization": "Bearer bad"})

    error = response.json()["error"]
    assert response.status_code == 400
    assert (error["code"], error["type"]) == (190, "OAuthException")
    assert {"message", "fbtrace_id", "is_transient"} <= error.keys()


def test_a_photo_keeps_its_alt_text_and_creates_a_post(sandbox, graph):
    response = graph.post(
        f"/{PAGE}/photos",
        data={"caption": "New library", "alt_text_custom": "Brick building with wide steps"},
        files={"source": ("library.jpg", b"\xff\xd8 fake jpeg", "image/jpeg")},
    )

    body = response.json()
    assert body["post_id"].startswith(f"{PAGE}_")
    assert sandbox.state.graph.timeline()[0].alts == ("Brick building with wide steps",)


def test_unpublished_photos_can_be_attached_to_one_feed_post(sandbox, graph):
    photos = [
        graph.post(f"/{PAGE}/photos", data={"url": f"https://city.example/{n}.jpg", "published": "false"}).json()["id"]
        for n in (1, 2)
    ]

    graph.post(
        f"/{PAGE}/feed",
        json={"message": "Two views", "attached_media": [{"media_fbid": p} for p in photos]},
    )

    [post] = sandbox.state.graph.timeline()
    assert (post.text, len(post.alts)) == ("Two views", 2)


def test_deleting_a_post_succeeds_once_and_then_the_object_is_gone(graph):
    post_id = graph.post(f"/{PAGE}/feed", data={"message": "Oops"}).json()["id"]

    first = graph.delete(f"/{post_id}")
    second = graph.delete(f"/{post_id}")

    assert first.json() == {"success": True}
    assert second.status_code == 400
    assert second.json()["error"]["error_subcode"] == 33


def test_a_post_without_message_or_link_is_refused(graph):
    response = graph.post(f"/{PAGE}/feed", data={})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100
