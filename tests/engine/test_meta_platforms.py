"""Instagram and Threads end to end: a real worker publishes an announcement with an
image through the sandbox, which fetches the image from the city's own signed address."""

import io
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from civicpost.platforms import spec
from civicpost.sandbox import create_sandbox_app
from civicpost.sandbox.testing import running_sandbox
from tests.engine.support import wait_for

TITLE = "Elm Street pool opens Saturday"
ALT = "The Elm Street pool, empty, under a blue sky"


@pytest.fixture
def sandbox() -> Iterator[tuple[str, object]]:
    app = create_sandbox_app()
    with running_sandbox(app=app) as base:
        yield base, app.state.sandbox


@pytest.fixture
def city_site(app) -> Iterator[str]:
    """civicpost's own web app on a real port: where Meta's fakes fetch /media/signed/ from."""
    with running_sandbox(app=app) as base:
        yield base


def channel(client, city, platform: str, base: str) -> int:
    chosen = spec(platform).sandbox
    r = client.post("/api/v1/channels", headers=city.admin.auth, json={
        "department": "parks", "platform": platform, "name": f"Parks on {spec(platform).label}",
        "credentials": chosen.credentials("parks"), "settings": chosen.settings(base)})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), (40, 140, 210)).save(out, "JPEG")
    return out.getvalue()


def announcement(client, city, channels: list[int], **body) -> dict:
    r = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json={
        "department": "parks", "title": TITLE, "body": "Lifeguards on duty from 9 to 7.", "channels": channels,
        **body})
    assert r.status_code == 201, r.text
    return r.json()


def publish_with_image(client, city, channels: list[int], worker_factory, settings) -> tuple[dict, str]:
    """Draft, submit and approve an announcement with a JPEG on `channels`, then let a worker publish it."""
    image = client.post("/api/v1/media", headers=city.parks_staff.auth,
                        files={"file": ("pool.jpg", jpeg(), "image/jpeg")}).json()["id"]
    a = announcement(client, city, channels, media=[{"id": image, "alt_text": ALT}])
    assert client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth).status_code == 200
    seen = client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["fingerprint"]
    approved = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                           json={"fingerprint": seen})
    assert approved.status_code == 200, approved.text
    worker_factory(settings=settings).start()

    def settled():
        got = client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()
        return got if got["state"] in ("published", "failed") else None

    return wait_for(settled, timeout=30), image


def test_a_worker_publishes_an_announcement_with_an_image_to_instagram_and_threads_through_the_sandbox(
        client, city, sandbox, city_site, worker_factory, fast_settings):
    base, fakes = sandbox
    instagram, threads = channel(client, city, "instagram", base), channel(client, city, "threads", base)

    got, image = publish_with_image(client, city, [instagram, threads], worker_factory,
                                    fast_settings.model_copy(update={"base_url": city_site}))

    by_channel = {d["channel_id"]: d for d in got["deliveries"]}
    assert got["state"] == "published", got
    [post] = fakes.instagram.media.values()
    assert post.caption.startswith(TITLE) and post.alts == (ALT,)
    [thread] = fakes.threads.posts.values()
    assert thread.text.startswith(TITLE) and thread.alts == (ALT,)
    for delivery, remote_id in ((by_channel[instagram], post.id), (by_channel[threads], thread.id)):
        assert delivery["remote_id"] == remote_id
        page = httpx.get(delivery["remote_url"])
        assert delivery["remote_url"].startswith(base) and page.status_code == 200 and TITLE in page.text
    # Meta fetched the image by its signed address, which works without a session.
    fetched = [e for e in httpx.get(f"{base}/_sandbox/requests").json()["requests"]
               if e["method"] == "POST" and e["path"].endswith(("/media", "/threads"))]
    assert {e["body"]["image_url"].split("?")[0] for e in fetched} == {f"{city_site}/media/signed/{image}"}


def test_a_retract_deletes_the_threads_post_and_leaves_the_instagram_post_with_where_to_delete_it_by_hand(
        client, city, sandbox, city_site, worker_factory, fast_settings):
    base, fakes = sandbox
    instagram, threads = channel(client, city, "instagram", base), channel(client, city, "threads", base)
    got, _ = publish_with_image(client, city, [instagram, threads], worker_factory,
                                fast_settings.model_copy(update={"base_url": city_site}))

    client.post(f"/api/v1/announcements/{got['id']}/retract", headers=city.approver.auth)

    def taken_back():
        now = client.get(f"/api/v1/announcements/{got['id']}", headers=city.approver.auth).json()
        by_channel = {d["channel_id"]: d for d in now["deliveries"]}
        done = by_channel[threads]["status"] == "retracted" and by_channel[instagram]["last_error"]
        return by_channel if done else None

    by_channel = wait_for(taken_back, timeout=30)
    assert fakes.threads.posts == {} and len(fakes.instagram.media) == 1
    left = by_channel[instagram]
    assert left["status"] == "published"
    assert left["last_error"] == ("could not delete the post: Instagram does not let civicpost delete a post; "
                                  f"delete it by hand: {left['remote_url']}")


def test_an_instagram_channel_without_an_image_is_a_blocking_problem_at_submit(client, city):
    instagram = channel(client, city, "instagram", "http://127.0.0.1:9")
    a = announcement(client, city, [city.parks_channels[0], instagram])

    refused = client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)

    assert refused.status_code == 422
    problems = refused.json()["errors"]
    assert [(p["code"], p["field"]) for p in problems] == [("image_required", f"renditions.{instagram}")]
    assert "Instagram posts need an image" in problems[0]["message"]
    assert client.get(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth).json()["state"] == "draft"
