"""Through the worker: what a platform answered reaches staff as a sentence,
never a body, and a channel pointing inside the city's network is refused
before anything leaves (issue 11, finding 9)."""

import re

import pytest
import responses
import respx

from tests.engine.support import wait_for

SECRET = "db_password=hunter2-internal"


def make_channel(client, city, platform: str, credentials: dict, settings: dict) -> int:
    r = client.post("/api/v1/channels", headers=city.admin.auth, json={
        "department": "parks", "platform": platform, "name": f"Parks on {platform}",
        "credentials": credentials, "settings": settings})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def approve(client, city, channel_id: int) -> int:
    a = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json={
        "department": "parks", "title": "Pool opens Saturday", "body": "The Elm Street pool opens at 9.",
        "channels": [channel_id]}).json()
    submitted = client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth).json()
    r = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                    json={"fingerprint": submitted["fingerprint"]})
    assert r.status_code == 200, r.text
    return a["id"]


def settled(client, city, announcement_id: int) -> dict:
    def done():
        got = client.get(f"/api/v1/announcements/{announcement_id}", headers=city.approver.auth).json()
        return got if got["state"] in ("failed", "published") and got["deliveries"][0]["status"] in ("failed", "unknown") else None

    return wait_for(done)


@pytest.mark.parametrize("platform", ["webhook", "mastodon"])
def test_an_internal_answer_reaches_staff_as_a_sentence_and_never_as_its_body(platform, client, city, worker_factory):
    if platform == "webhook":
        channel_id = make_channel(client, city, "webhook", {"secret": "s"}, {"url": "https://hooks.city.example/in"})
        mock = respx.mock(assert_all_called=True)
        mock.post("https://hooks.city.example/in").respond(500, text=f"{SECRET}\n{SECRET}")
    else:
        channel_id = make_channel(client, city, "mastodon", {"access_token": "t"}, {"api_base": "https://social.city.example"})
        mock = responses.RequestsMock(assert_all_requests_are_fired=True)
        # Not Mastodon: every path answers 200 with what the service holds.
        for method in (responses.GET, responses.POST):
            mock.add(method, re.compile(r"https://social\.city\.example/.*"), body=SECRET, content_type="text/plain")
    with mock:
        announcement_id = approve(client, city, channel_id)
        worker_factory().start()
        got = settled(client, city, announcement_id)

    delivery = got["deliveries"][0]
    health = client.get(f"/api/v1/channels/{channel_id}", headers=city.admin.auth).json()["health"]
    assert delivery["last_error"] and health["last_error"]
    for shown in (delivery["last_error"], health["last_error"]):
        assert "hunter2" not in shown and "db_password" not in shown, shown
        assert len(shown) < 300
    page = client.get(f"/api/v1/announcements/{announcement_id}/audit", headers=city.approver.auth).text
    assert "hunter2" not in page


def test_the_worker_refuses_a_channel_pointing_inside_and_nothing_reaches_it(client, city, receiver, worker_factory,
                                                                               fast_settings):
    # Made while the private network was allowed; the city then turned it off.
    channel_id = make_channel(client, city, "webhook", {"secret": receiver.secret}, {"url": receiver.url})
    announcement_id = approve(client, city, channel_id)
    worker_factory(settings=fast_settings.model_copy(update={"allow_private_network": False})).start()

    got = settled(client, city, announcement_id)

    assert got["deliveries"][0]["status"] == "failed"
    assert "refused to connect: 127.0.0.1 is a loopback address" in got["deliveries"][0]["last_error"]
    health = client.get(f"/api/v1/channels/{channel_id}", headers=city.admin.auth).json()["health"]
    assert health["status"] == "needs_attention" and "refused to connect" in health["last_error"]
    assert receiver.received == []
