"""/media/{id} is public only while an announcement that shows the image is live (finding 11)."""

import io

from PIL import Image

from tests.engine.support import wait_for


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 40), (200, 120, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_an_image_is_public_once_published_and_private_again_once_retracted(client, city, worker_factory):
    image = client.post("/api/v1/media", headers=city.parks_staff.auth,
                        files={"file": ("pool.png", png(), "image/png")}).json()["id"]
    a = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json={
        "department": "parks", "title": "Pool opens Saturday", "body": "The Elm Street pool opens at 9.",
        "channels": [city.parks_channels[0]], "media": [{"id": image, "alt_text": "The pool, empty and sunny"}],
    }).json()
    client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    assert client.get(f"/media/{image}").status_code == 404
    seen = client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()
    approved = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                           json={"fingerprint": seen["fingerprint"]})
    assert approved.status_code == 200, approved.text
    assert client.get(f"/media/{image}").status_code == 404  # approved is not yet published
    worker_factory().start()
    wait_for(lambda: client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["state"] == "published")

    public = client.get(f"/media/{image}")
    assert public.status_code == 200 and public.content.startswith(b"\x89PNG")
    assert public.headers["cache-control"] == "public, max-age=300"
    assert f'src="/media/{image}"' in client.get(f"/announcements/{a['id']}").text

    client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth)
    gone = client.get(f"/media/{image}")
    assert gone.status_code == 404 and gone.content == client.get(f"/media/{'0' * 64}").content
