"""End to end: a real worker publishes an announcement with an image to a
LinkedIn Page (the sandbox's), whole despite little text's markup, and a
retract takes the post down."""

import io

import httpx
import pytest
from PIL import Image

from civicpost.sandbox.app import create_sandbox_app
from civicpost.sandbox.linkedin import ORGANIZATION
from civicpost.sandbox.testing import running_sandbox
from tests.engine.support import wait_for

BODY = "The Elm Street pool opens at 9 (weather permitting). Bring a_towel! #SummerInTheCity"


@pytest.fixture
def sandbox():
    app = create_sandbox_app()
    with running_sandbox(app=app) as base:
        yield base, app.state.sandbox


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 40), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def linkedin_requests(base: str) -> list[dict]:
    return httpx.get(f"{base}/_sandbox/requests", params={"platform": "linkedin"}).json()["requests"]


def announcement(client, city, channel: int) -> int:
    auth = city.parks_staff.auth
    image = client.post("/api/v1/media", headers=auth, files={"file": ("pool.png", png(), "image/png")}).json()["id"]
    created = client.post("/api/v1/announcements", headers=auth, json={
        "department": "parks", "title": "Pool opens Saturday", "body": BODY, "channels": [channel],
        "media": [{"id": image, "alt_text": "The Elm Street pool, empty and sunny"}]})
    assert created.status_code == 201, created.text
    announcement_id = created.json()["id"]
    client.post(f"/api/v1/announcements/{announcement_id}/submit", headers=auth).raise_for_status()
    seen = client.get(f"/api/v1/announcements/{announcement_id}", headers=city.approver.auth).json()["fingerprint"]
    approved = client.post(f"/api/v1/announcements/{announcement_id}/approve", headers=city.approver.auth,
                           json={"fingerprint": seen})
    assert approved.status_code == 200, approved.text
    return announcement_id


def delivery_of(client, city, announcement_id: int) -> dict:
    return client.get(f"/api/v1/announcements/{announcement_id}", headers=city.approver.auth).json()["deliveries"][0]


def test_a_worker_publishes_an_announcement_with_an_image_to_linkedin_and_a_retract_deletes_it(
    client, city, sandbox, worker_factory
):
    base, platforms = sandbox
    channel = client.post("/api/v1/channels", headers=city.admin.auth, json={
        "department": "parks", "platform": "linkedin", "name": "Parks on LinkedIn",
        "credentials": {"access_token": "member-token"},
        "settings": {"api_base": f"{base}/linkedin", "web_base": f"{base}/linkedin", "organization_urn": ORGANIZATION}})
    assert channel.status_code == 201, channel.text
    announcement_id = announcement(client, city, channel.json()["id"])

    worker_factory().start()
    delivery = wait_for(lambda: (d := delivery_of(client, city, announcement_id))["status"] == "published" and d)

    [post] = platforms.linkedin.timeline()
    assert post.id == delivery["remote_id"] and post.id.startswith("urn:li:share:")
    assert BODY in post.text and post.text.endswith("— Parks and Recreation")  # nothing cut at "(" or "_"
    assert post.alts == ("The Elm Street pool, empty and sunny",)
    assert delivery["remote_url"] == f"{base}/linkedin/feed/update/{post.id}"
    assert httpx.get(delivery["remote_url"]).status_code == 200
    sent = [(e["method"], e["path"].split("/")[2], e["status"]) for e in linkedin_requests(base)]
    assert sent == [("POST", "rest", 200), ("PUT", "dms-uploads", 201), ("POST", "rest", 201)]
    assert all(e["headers"]["linkedin-version"] for e in linkedin_requests(base) if "/rest/" in e["path"])

    retracted = client.post(f"/api/v1/announcements/{announcement_id}/retract", headers=city.approver.auth)
    assert retracted.status_code == 202, retracted.text

    delivery = wait_for(lambda: (d := delivery_of(client, city, announcement_id))["status"] == "retracted" and d)
    assert delivery["retracted_at"] and platforms.linkedin.timeline() == []
    deletes = [e for e in linkedin_requests(base) if e["method"] == "DELETE"]
    assert [(e["path"].rsplit("/", 1)[1], e["status"]) for e in deletes] == [(post.id, 204)]
    assert httpx.get(delivery["remote_url"]).status_code == 404
