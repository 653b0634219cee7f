"""A real worker publishes to a Telegram channel through the sandbox, leaves an
unclear send to a person (Telegram cannot look a message up), and a retract
deletes the message, or says who must when Telegram's 48 hours are over."""

import httpx
import pytest

from civicpost.sandbox.app import create_sandbox_app
from civicpost.sandbox.testing import running_sandbox
from tests.engine.support import wait_for

TOKEN = "123456789:sandbox-bot-token-for-the-engine"
SITE = "https://news.city.example"


@pytest.fixture
def sandbox():
    app = create_sandbox_app()
    with running_sandbox(app=app) as base:
        yield base, app.state.sandbox.telegram


def telegram_channel(client, city, base: str) -> int:
    r = client.post("/api/v1/channels", headers=city.admin.auth, json={
        "department": "parks", "platform": "telegram", "name": "Parks on Telegram",
        "credentials": {"bot_token": TOKEN},
        "settings": {"chat_id": "@cityparks", "api_base": f"{base}/telegram", "web_base": f"{base}/t.me"},
    })
    assert r.status_code == 201, r.text
    return r.json()["id"]


def approved(client, city, channel: int) -> dict:
    a = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json={
        "department": "parks", "title": "Pool opens Saturday", "body": "The Elm Street pool opens at 9.",
        "link": "https://city.example/pools", "channels": [channel]}).json()
    client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    seen = client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["fingerprint"]
    r = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth, json={"fingerprint": seen})
    assert r.status_code == 200, r.text
    return r.json()


def delivery(client, city, announcement_id: int) -> dict:
    return client.get(f"/api/v1/announcements/{announcement_id}", headers=city.approver.auth).json()["deliveries"][0]


def bot_calls(base: str, method: str) -> list[dict]:
    entries = httpx.get(f"{base}/_sandbox/requests", params={"platform": "telegram"}).json()["requests"]
    return [e for e in entries if e["path"].endswith(f"/{method}")]


def published(client, city, a: dict) -> dict:
    return wait_for(lambda: (d := delivery(client, city, a["id"]))["status"] == "published" and d)


def test_a_worker_publishes_an_announcement_to_a_telegram_channel_with_a_button_to_its_page(
    client, city, sandbox, worker_factory, fast_settings
):
    base, telegram = sandbox
    a = approved(client, city, telegram_channel(client, city, base))
    worker_factory(settings=fast_settings.model_copy(update={"base_url": SITE})).start()

    got = published(client, city, a)

    [post] = telegram.timeline()
    assert post.text.startswith("Pool opens Saturday\n\nThe Elm Street pool opens at 9.")
    assert post.link == f"{SITE}/announcements/{a['id']}"  # the button under the post
    chat_id = telegram.channel("@cityparks").id
    assert got["remote_id"] == f"{chat_id}/{post.id.split('/')[1]}"
    assert got["remote_url"] == f"{base}/t.me/{post.id}"
    assert "Pool opens Saturday" in httpx.get(got["remote_url"]).text
    [call] = bot_calls(base, "sendMessage")
    assert call["body"]["link_preview_options"] == {"url": "https://city.example/pools"}
    assert "[redacted]" in call["path"] and TOKEN.partition(":")[2] not in str(call)


def test_a_send_that_hangs_after_telegram_took_it_is_left_for_a_person_saying_where_to_look(
    client, city, sandbox, worker_factory, fast_settings
):
    base, telegram = sandbox
    a = approved(client, city, telegram_channel(client, city, base))
    # Telegram stores the message and never answers: the worker gives up after 1 s, not knowing.
    httpx.post(f"{base}/_sandbox/faults", json={"telegram": {"hang_next": 1, "hang_max_s": 30}}).raise_for_status()
    worker_factory(settings=fast_settings.model_copy(update={"publish_timeout_seconds": 1})).start()

    got = wait_for(lambda: (d := delivery(client, city, a["id"]))["status"] == "unknown" and d, timeout=20)

    assert "cannot be looked up" in got["last_error"] and "the Telegram channel" in got["last_error"]
    assert len(telegram.timeline()) == 1  # it did go out, once
    assert len(bot_calls(base, "sendMessage")) == 1  # and was never sent again
    assert TOKEN.partition(":")[2] not in got["last_error"]


def test_a_retract_deletes_the_telegram_message(client, city, sandbox, worker_factory):
    base, telegram = sandbox
    a = approved(client, city, telegram_channel(client, city, base))
    worker_factory().start()
    got = published(client, city, a)

    r = client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth)
    assert r.status_code == 202

    gone = wait_for(lambda: (d := delivery(client, city, a["id"]))["status"] == "retracted" and d)
    assert gone["retracted_at"] is not None and telegram.timeline() == []
    [call] = bot_calls(base, "deleteMessage")
    chat, message = got["remote_id"].split("/")
    assert call["body"] == {"chat_id": int(chat), "message_id": int(message)} and call["status"] == 200


def test_a_retract_after_telegrams_48_hours_is_left_for_a_person_with_what_to_do(client, city, sandbox, worker_factory):
    base, telegram = sandbox
    a = approved(client, city, telegram_channel(client, city, base))
    worker_factory().start()
    published(client, city, a)
    telegram.age(hours=49)

    client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth)

    got = wait_for(lambda: (d := delivery(client, city, a["id"]))["last_error"]
                   and "could not delete" in d["last_error"] and d)
    assert "48 hours" in got["last_error"] and "by hand in the Telegram channel" in got["last_error"]
    assert len(telegram.timeline()) == 1  # still up: a person takes it down
