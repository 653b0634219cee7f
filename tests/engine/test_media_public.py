"""/media/{id} is public only while an announcement that shows the image is live (finding 11)."""

from tests.engine.observing import wait_for
from tests.factories import create_media, create_submitted, make_png


def test_an_image_is_public_once_published_and_private_again_once_retracted(client, city, worker_factory):
    picture = make_png((200, 120, 30), size=(64, 40))
    image = create_media(client, city.parks_staff, picture, filename="pool.png").json()["id"]
    a = create_submitted(client, city, body="The Elm Street pool opens at 9.", channels=[city.parks_channels[0]],
                         media=[{"id": image, "alt_text": "The pool, empty and sunny"}])
    assert client.get(f"/media/{image}").status_code == 404
    approved = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                           json={"fingerprint": a["fingerprint"]})
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
