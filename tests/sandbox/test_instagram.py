"""Instagram's content publishing API as the sandbox plays it, and civicpost's adapter against it."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from civicpost.platforms import MediaItem, Outgoing, PermanentError, TransientError, build_adapter, spec

from .image_server import Images, image_server, picture

ACCOUNT = "17841400000000001"


@pytest.fixture(scope="module")
def images() -> Iterator[Images]:
    with image_server() as served:
        yield served


@pytest.fixture
def graph(sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sandbox.url}/instagram/v25.0",
                      headers={"Authorization": "Bearer sandbox-instagram-token"}, timeout=10) as client:
        yield client


def adapter(sandbox):
    chosen = spec("instagram").sandbox
    return build_adapter("instagram", chosen.credentials("parks"), chosen.settings(sandbox.url), timeout=10,
                         allow_private_network=True)


def image(url: str, alt: str = "The pool from the deep end") -> MediaItem:
    return MediaItem(path=Path("/unused"), mime_type="image/jpeg", alt_text=alt, url=url)


def test_a_container_fetches_its_image_from_127_0_0_1_and_publishing_it_makes_a_post(sandbox, graph, images):
    url = images.add("pool.jpg", picture())

    container = graph.post(f"/{ACCOUNT}/media", data={"image_url": url, "caption": "Pools open", "alt_text": "Pool"})
    status = graph.get(f"/{container.json()['id']}", params={"fields": "status_code"})
    published = graph.post(f"/{ACCOUNT}/media_publish", data={"creation_id": container.json()["id"]})
    listed = graph.get(f"/{ACCOUNT}/media", params={"fields": "id,caption,permalink,timestamp"})

    assert "/media/signed/pool.jpg" in images.fetched
    assert status.json() == {"id": container.json()["id"], "status_code": "FINISHED"}
    post = listed.json()["data"][0]
    assert post["id"] == published.json()["id"] and post["caption"] == "Pools open"
    assert post["timestamp"].endswith("+0000")
    page = httpx.get(post["permalink"])
    assert page.status_code == 200 and "Pools open" in page.text and "Image 1 alt text: Pool" in page.text


@pytest.mark.parametrize("where", ["https://city.example/media/signed/x.jpg", "http://localhost:9/x.jpg", "missing"])
def test_an_image_the_sandbox_cannot_fetch_is_refused_as_meta_refuses_a_failed_download(sandbox, graph, images, where):
    url = f"{images.base}/media/signed/nothing-here.jpg" if where == "missing" else where

    answer = graph.post(f"/{ACCOUNT}/media", data={"image_url": url, "caption": "x"})

    error = answer.json()["error"]
    assert answer.status_code == 400
    assert (error["code"], error["error_subcode"]) == (9004, 2207052)
    assert error["error_user_title"] == "Media download has failed."
    assert sandbox.state.instagram.containers == {}


def test_an_image_that_is_not_a_jpeg_is_refused(sandbox, graph, images):
    answer = graph.post(f"/{ACCOUNT}/media", data={"image_url": images.add("map.png", picture("PNG"), "image/png")})

    assert answer.status_code == 400 and answer.json()["error"]["code"] == 36001


def test_several_item_containers_make_one_carousel_post_with_each_alt_text(sandbox, graph, images):
    items = [graph.post(f"/{ACCOUNT}/media", data={"image_url": images.add(f"{n}.jpg", picture()),
                                                   "is_carousel_item": "true", "alt_text": f"Pool {n}"}).json()["id"]
             for n in (1, 2)]
    carousel = graph.post(f"/{ACCOUNT}/media", data={"media_type": "CAROUSEL", "children": ",".join(items),
                                                     "caption": "Two pools"})
    post = graph.post(f"/{ACCOUNT}/media_publish", data={"creation_id": carousel.json()["id"]}).json()["id"]

    media = sandbox.state.instagram.media[post]
    assert (media.media_type, media.caption, media.alts) == ("CAROUSEL_ALBUM", "Two pools", ("Pool 1", "Pool 2"))


def test_a_container_still_processing_cannot_be_published_yet(sandbox, graph, images):
    sandbox.state.instagram.processing_s = 60
    container = graph.post(f"/{ACCOUNT}/media", data={"image_url": images.add("slow.jpg", picture())}).json()["id"]

    status = graph.get(f"/{container}", params={"fields": "status_code"}).json()["status_code"]
    answer = graph.post(f"/{ACCOUNT}/media_publish", data={"creation_id": container})

    assert status == "IN_PROGRESS"
    assert (answer.json()["error"]["code"], answer.json()["error"]["error_subcode"]) == (9007, 2207027)


def test_published_media_cannot_be_deleted_and_the_daily_limit_is_reported(sandbox, graph, images):
    container = graph.post(f"/{ACCOUNT}/media", data={"image_url": images.add("a.jpg", picture())}).json()["id"]
    post = graph.post(f"/{ACCOUNT}/media_publish", data={"creation_id": container}).json()["id"]

    deleted = graph.delete(f"/{post}")
    limit = graph.get(f"/{ACCOUNT}/content_publishing_limit", params={"fields": "quota_usage,config"})

    assert deleted.status_code == 400 and post in sandbox.state.instagram.media
    assert limit.json() == {"data": [{"quota_usage": 1, "config": {"quota_total": 50, "quota_duration": 86400}}]}


def test_the_fifty_first_post_in_a_day_is_refused_with_the_publishing_limit_error(sandbox, graph, images):
    url = images.add("many.jpg", picture())
    for _ in range(50):
        container = graph.post(f"/{ACCOUNT}/media", data={"image_url": url}).json()["id"]
        assert graph.post(f"/{ACCOUNT}/media_publish", data={"creation_id": container}).status_code == 200
    container = graph.post(f"/{ACCOUNT}/media", data={"image_url": url}).json()["id"]

    refused = graph.post(f"/{ACCOUNT}/media_publish", data={"creation_id": container}).json()["error"]

    assert (refused["code"], refused["error_subcode"]) == (9, 2207042)


def test_a_token_in_the_url_and_a_bad_token_are_refused_as_meta_refuses_them(sandbox, images):
    leaked = httpx.get(f"{sandbox.url}/instagram/v25.0/{ACCOUNT}", params={"access_token": "t"})
    bad = httpx.get(f"{sandbox.url}/instagram/v25.0/{ACCOUNT}", headers={"Authorization": "Bearer bad"})

    assert leaked.status_code == 400 and leaked.json()["error"]["code"] == 100
    assert bad.json()["error"]["code"] == 190 and bad.json()["error"]["type"] == "OAuthException"


def test_a_rate_limit_fault_answers_with_metas_throttle_code_and_usage_header(sandbox, graph, images):
    sandbox.faults(instagram={"rate_limit_next": 1, "rate_limit_reset_s": 120})

    answer = graph.post(f"/{ACCOUNT}/media", data={"image_url": images.add("r.jpg", picture())})

    assert answer.json()["error"]["code"] == 32
    assert '"estimated_time_to_regain_access": 2' in answer.headers["x-business-use-case-usage"]


def test_the_adapter_publishes_finds_and_checks_through_the_sandbox(sandbox, images):
    instagram = adapter(sandbox)
    outgoing = Outgoing(key="5b0e8c1e-1a43-4d1f-9a8a-2f1f3e4d5c6b", text="Pools open Saturday",
                        media=[image(images.add("adapter.jpg", picture()))])

    receipt = instagram.publish(outgoing)

    assert receipt.remote_url and httpx.get(receipt.remote_url).status_code == 200
    assert instagram.find(outgoing) == receipt
    assert instagram.check()["username"] == "cityofsandbox"
    with pytest.raises(PermanentError):
        instagram.delete(receipt.remote_id)


def test_the_adapter_comes_back_for_a_container_the_sandbox_is_still_preparing(sandbox, images):
    sandbox.state.instagram.processing_s = 0.3
    instagram = adapter(sandbox)
    outgoing = Outgoing(key="9d7c0a66-3b1e-4f6e-8d33-0f4c1a2b3c4d", text="Slow pool",
                        media=[image(images.add("slow2.jpg", picture()))])

    with pytest.raises(TransientError):
        instagram.publish(outgoing)
    sandbox.state.instagram.processing_s = 0
    instagram.publish(outgoing)

    assert len(sandbox.state.instagram.containers) == 1 and len(sandbox.state.instagram.media) == 1


def test_the_account_page_lists_its_posts(sandbox, graph, images):
    container = graph.post(f"/{ACCOUNT}/media", data={"image_url": images.add("p.jpg", picture()),
                                                      "caption": "On the grid"}).json()["id"]
    graph.post(f"/{ACCOUNT}/media_publish", data={"creation_id": container})

    page = httpx.get(f"{sandbox.url}/instagram/cityofsandbox/")

    assert page.status_code == 200 and "On the grid" in page.text
    assert httpx.get(f"{sandbox.url}/instagram/someoneelse/").status_code == 404
