"""The Threads API as the sandbox plays it, and civicpost's adapter against it."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from civicpost.platforms import MediaItem, Outgoing, build_adapter, spec

from .image_server import Images, image_server, picture

USER = "25000000000000001"


@pytest.fixture(scope="module")
def images() -> Iterator[Images]:
    with image_server() as served:
        yield served


@pytest.fixture
def api(sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sandbox.url}/threads/v1.0",
                      headers={"Authorization": "Bearer sandbox-threads-token"}, timeout=10) as client:
        yield client


def post(api: httpx.Client, **fields: str) -> str:
    container = api.post(f"/{USER}/threads", data=fields)
    assert container.status_code == 200, container.text
    published = api.post(f"/{USER}/threads_publish", data={"creation_id": container.json()["id"]})
    assert published.status_code == 200, published.text
    return published.json()["id"]


def adapter(sandbox):
    chosen = spec("threads").sandbox
    return build_adapter("threads", chosen.credentials("parks"), chosen.settings(sandbox.url), timeout=10,
                         allow_private_network=True)


def test_replies_chain_a_thread_that_the_conversation_lists_in_order_and_the_profile_does_not(sandbox, api):
    first = post(api, media_type="TEXT", text="Road work on Elm St.")
    second = post(api, media_type="TEXT", text="Detour via Oak Ave.", reply_to_id=first)
    third = post(api, media_type="TEXT", text="Until Friday.", reply_to_id=second)

    listed = api.get(f"/{USER}/threads", params={"fields": "id,text,permalink"}).json()["data"]
    chain = api.get(f"/{first}/conversation", params={"fields": "id,text,replied_to,is_reply_owned_by_me",
                                                      "reverse": "false"}).json()["data"]

    assert [p["id"] for p in listed] == [first]
    assert [(r["id"], r["replied_to"]["id"], r["is_reply_owned_by_me"]) for r in chain] == [
        (second, first, True), (third, second, True)]
    page = httpx.get(listed[0]["permalink"])
    assert page.status_code == 200 and "Road work on Elm St." in page.text


def test_an_image_post_fetches_its_image_from_127_0_0_1_and_keeps_its_alt_text(sandbox, api, images):
    url = images.add("pool.png", picture("PNG"), "image/png")

    post_id = post(api, media_type="IMAGE", image_url=url, text="Pools open", alt_text="The pool, empty")

    assert "/media/signed/pool.png" in images.fetched
    assert sandbox.state.threads.posts[post_id].alts == ("The pool, empty",)


def test_an_image_elsewhere_is_refused_as_meta_refuses_a_failed_download(sandbox, api):
    answer = api.post(f"/{USER}/threads", data={"media_type": "IMAGE", "image_url": "https://city.example/a.jpg"})

    assert answer.status_code == 400 and answer.json()["error"]["error_subcode"] == 2207052


@pytest.mark.parametrize(("text", "why"), [
    ("a" * 497 + "👋", "at most 500 characters"),  # the emoji counts its 4 UTF-8 bytes
    (" ".join(f"https://city.example/{n}" for n in range(6)), "LINK_LIMIT_EXCEEDED"),
])
def test_text_over_threads_limits_is_refused_at_the_container(sandbox, api, text, why):
    answer = api.post(f"/{USER}/threads", data={"media_type": "TEXT", "text": text})

    assert answer.status_code == 400 and why in answer.json()["error"]["message"]


def test_a_container_in_progress_answers_in_progress_and_cannot_be_published_yet(sandbox, api):
    sandbox.state.threads.processing_s = 60
    container = api.post(f"/{USER}/threads", data={"media_type": "TEXT", "text": "Soon"}).json()["id"]

    status = api.get(f"/{container}", params={"fields": "status,error_message"}).json()
    refused = api.post(f"/{USER}/threads_publish", data={"creation_id": container}).json()["error"]

    assert status == {"id": container, "status": "IN_PROGRESS"}
    assert refused["error_subcode"] == 4279009


def test_delete_answers_success_with_the_deleted_id_and_a_second_delete_finds_nothing(sandbox, api):
    post_id = post(api, media_type="TEXT", text="Gone soon")

    deleted = api.delete(f"/{post_id}")
    again = api.delete(f"/{post_id}")

    assert deleted.json() == {"success": True, "deleted_id": post_id}
    assert (again.json()["error"]["code"], again.json()["error"]["error_subcode"]) == (100, 33)


def test_me_and_the_publishing_limit_describe_the_account(sandbox, api):
    post(api, media_type="TEXT", text="One")

    me = api.get("/me", params={"fields": "id,username"}).json()
    limit = api.get(f"/{USER}/threads_publishing_limit", params={"fields": "quota_usage,config"}).json()

    assert me == {"id": USER, "username": "cityofsandbox"}
    assert limit == {"data": [{"quota_usage": 1, "config": {"quota_total": 250, "quota_duration": 86400}}]}


def test_the_adapter_publishes_a_thread_with_an_image_finds_it_and_deletes_it(sandbox, images):
    threads = adapter(sandbox)
    outgoing = Outgoing(
        key="0b7e9a52-6c1d-4f8e-9b2a-3c4d5e6f7a8b", text="Road work. Detour via Oak.",
        parts=["Road work.", "Detour via Oak."],
        media=[MediaItem(path=Path("/unused"), mime_type="image/jpeg", alt_text="Orange cones on Elm St.",
                         url=images.add("cones.jpg", picture()))],
    )

    receipt = threads.publish(outgoing)
    found = threads.find(outgoing)
    page = httpx.get(receipt.remote_url)
    for part in reversed(receipt.part_ids):
        threads.delete(part)

    assert len(receipt.part_ids) == 2 and page.status_code == 200 and "Orange cones on Elm St." in page.text
    assert found is not None and found.part_ids == receipt.part_ids
    assert sandbox.state.threads.posts == {}
    assert threads.check()["account"] == "@cityofsandbox"
