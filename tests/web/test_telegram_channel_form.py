"""An admin sets up a Telegram channel through the staff pages, and Test
connection says whether the bot may post there, never showing its token."""

import re

import pytest
from sqlalchemy import select

from civicpost.models import Channel
from civicpost.sandbox.testing import running_sandbox
from tests.pages import csrf_of

HTML = {"accept": "text/html,application/xhtml+xml"}
TOKEN = "123456789:sandbox-bot-token-never-shown-42"


@pytest.fixture
def admin(sign_in, city):
    browser = sign_in(city.admin)
    browser.headers.update(HTML)
    return browser


def add_channel(admin, base: str, chat: str, **settings: str) -> int:
    page = admin.get("/staff/channels?platform=telegram")
    data = {"csrf_token": csrf_of(page.text), "platform": "telegram", "department": "parks",
            "name": f"Parks on Telegram {chat}", "language": "en", "credentials.bot_token": TOKEN,
            "settings.chat_id": chat, "settings.api_base": f"{base}/telegram", **settings}
    r = admin.post("/staff/channels", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def test_the_form_asks_for_the_bot_token_as_a_secret_and_the_channel_with_how_to_find_it(admin) -> None:
    page = admin.get("/staff/channels?platform=telegram").text

    token = re.search(r'<input[^>]*name="credentials\.bot_token"[^>]*>', page).group(0)
    assert 'type="password"' in token and "value=" not in token
    assert "@BotFather" in page and "administrator allowed to post messages" in page
    assert 'name="settings.chat_id"' in page and 'name="settings.link_preview"' in page


def test_an_admin_adds_a_channel_from_its_t_me_link_and_test_connection_finds_the_bot_may_post(admin, sessions) -> None:
    with running_sandbox() as base:
        channel_id = add_channel(admin, base, "https://t.me/cityparks", **{"settings.link_preview": "no"})
        page = admin.get(f"/staff/channels/{channel_id}").text
        r = admin.post(f"/staff/channels/{channel_id}/test", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
        assert r.status_code == 303
        shown = admin.get(f"/staff/channels/{channel_id}").text

    assert "The connection works. Signed in as @CitySandboxBot, posting to" in shown
    assert TOKEN not in shown and TOKEN.partition(":")[2] not in shown
    with sessions() as session:
        channel = session.get(Channel, channel_id)
        assert channel.settings["chat_id"] == "@cityparks" and channel.settings["link_preview"] is False
        assert channel.last_success_at is not None and not channel.needs_attention


def test_test_connection_says_the_bot_must_be_an_administrator_allowed_to_post(admin, sessions) -> None:
    with running_sandbox() as base:
        channel_id = add_channel(admin, base, "@notanadmin")
        page = admin.get(f"/staff/channels/{channel_id}").text
        admin.post(f"/staff/channels/{channel_id}/test", data={"csrf_token": csrf_of(page)})
        shown = admin.get(f"/staff/channels/{channel_id}").text

    assert "not an administrator allowed to post" in shown and "Administrators" in shown
    assert TOKEN.partition(":")[2] not in shown
    with sessions() as session:
        assert session.scalar(select(Channel.needs_attention).where(Channel.id == channel_id)) is True
