"""Telegram channels through the Bot API over httpx (adapter.py, bot.py).

Not python-telegram-bot: it is asyncio-only and the worker sends from
threads, while the Bot API is plain HTTPS. Posts go out as plain text (no
parse mode), so nothing needs escaping and the length Telegram counts (UTF-16
code units, "after entities parsing") is the length of the text itself.
Telegram keeps no alt text and lets nobody look a message up, so an unclear
send is `unknown` for a person; a bot may delete its channel posts only within
48 hours.
"""

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator

from civicpost.media import MediaLimits
from civicpost.platforms.spec import (
    Capabilities,
    Fields,
    HttpUrl,
    LengthRule,
    Look,
    Overflow,
    PlatformSpec,
    SandboxChannel,
    Secret,
    Text,
    api_base,
    field,
    overflow,
    web_base,
)
from civicpost.text.lengths import Measure, utf16_units

API_BASE = "https://api.telegram.org"
WEB_BASE = "https://t.me"
MESSAGE_LIMIT = 4_096  # sendMessage text, after entities parsing
CAPTION_LIMIT = 1_024  # sendPhoto / sendMediaGroup caption
ALBUM_LIMIT = 10  # sendMediaGroup takes 2-10 items
PHOTO_BYTES = 10 * 1024 * 1024  # sendPhoto: "at most 10 MB"

_TOKEN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$")
# Public usernames: 5-32 letters, digits and underscores, starting with a letter.
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_LINK = re.compile(r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.me/([A-Za-z][A-Za-z0-9_]{3,31})/?$")
_NUMERIC = re.compile(r"^-?[0-9]{1,20}$")


def _bot_token(value: str) -> str:
    if not _TOKEN.match(value):
        raise ValueError("must be the token @BotFather gave, for example 123456789:AAHf... "
                         "(digits, a colon, then letters; without \"bot\" in front)")
    return value


def _chat_id(value: str) -> str:
    """@channelusername for a public channel or a numeric id; a t.me link or a bare name becomes @name."""
    if _NUMERIC.match(value):
        return value
    link = _LINK.match(value)
    name = link.group(1) if link else value.removeprefix("@")
    if not _USERNAME.match(name):
        raise ValueError("must be the channel's @username (for example @cityofexample) or, for a private "
                         "channel, its numeric id (for example -1001234567890)")
    return f"@{name}"


class TelegramCredentials(Fields):
    bot_token: Annotated[Secret, AfterValidator(_bot_token)] = field(
        "Bot token", hint="From @BotFather in Telegram (/newbot or /token): digits, a colon, then letters.")


class TelegramSettings(Fields):
    chat_id: Annotated[Text, AfterValidator(_chat_id)] = field(
        "Channel", hint="The channel's @username, or the numeric id (-100...) of a private channel. "
                        "Add the bot to the channel as an administrator allowed to post messages.")
    api_base: HttpUrl | None = api_base(API_BASE)
    web_base: HttpUrl | None = web_base(WEB_BASE)
    link_preview: bool | None = field(
        "Show a link preview", kind="yesno", default=None,
        hint="A card for the announcement's link (or its page on the city's site) under the post; "
             "on unless turned off.")
    overflow: Overflow | None = overflow()


def _measure(text: str, settings: Mapping[str, Any]) -> Measure:
    return Measure(utf16_units(text), MESSAGE_LIMIT)


def _profile(settings: Mapping[str, Any], remote_url: str | None) -> str | None:
    chat = str(settings.get("chat_id") or "")
    if not chat.startswith("@"):
        return None  # a private channel has no public page
    return f"{str(settings.get('web_base') or WEB_BASE).rstrip('/')}/{chat[1:]}"

def _look(settings: Mapping[str, Any]) -> Look:
    chat = str(settings.get("chat_id") or "")
    # A private channel's numeric id is no name a reader sees.
    return Look(handle=chat if chat.startswith("@") else None, link_card=settings.get("link_preview") is not False)


SPEC = PlatformSpec(
    name="telegram",
    label="Telegram",
    form_label="Telegram channel",
    adapter="civicpost.platforms.telegram.adapter:TelegramAdapter",
    credentials=TelegramCredentials,
    settings=TelegramSettings,
    length=LengthRule(_measure, note=" (Telegram counts in UTF-16 units: most emoji count as 2)"),
    # Photos only: Telegram keeps no alt text, so the post links to the announcement's page, where every image has one.
    media=MediaLimits(ALBUM_LIMIT, PHOTO_BYTES, None,
                      mime_types=frozenset({"image/jpeg", "image/png", "image/webp"})),
    # thread: a post too long for one message goes out as replies to the first when the channel says "thread".
    capabilities=Capabilities(thread=True, delete=True, find=False, metrics=False, alt_text=False),
    outbound_urls=("api_base",),
    profile=_profile,
    look=_look,
    sandbox=SandboxChannel(
        credentials=lambda department: {"bot_token": "123456789:sandbox-bot-token-for-the-demo"},
        settings=lambda sandbox: {"api_base": f"{sandbox}/telegram", "web_base": f"{sandbox}/t.me",
                                  "chat_id": "@citysandbox"},
    ),
    # The label of the button that opens the announcement's page on the city's site.
    extras={"button": "telegram_button.txt.j2"},
    where_to_look="the Telegram channel",
)
