"""The sandbox Telegram's channels and messages, and the JSON shapes the Bot API gives them.

Kept apart from the routes (telegram.py). Shapes follow core.telegram.org/bots/api:
a channel post has `chat` and `sender_chat` (the channel) and no `from`;
entity offsets and lengths count UTF-16 code units, as Telegram counts.
"""

from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .core import TimelinePost, Upload
from .ids import Counter, now

BOT_USERNAME = "CitySandboxBot"
# Chats that behave as a city's mistakes do: a name with no channel, a channel
# the bot is not in, one where it is a member but no administrator.
NO_SUCH_CHANNEL = "nosuchchannel"
NOT_A_MEMBER = "notamember"
NOT_AN_ADMIN = "notanadmin"
_URL = re.compile(r"https?://[^\s<>\"]+")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Channel:
    id: int
    username: str | None
    title: str
    # The bot's place here: "administrator" (may post and delete), "member" or "left".
    bot_status: str = "administrator"
    messages: dict[int, Message] = field(default_factory=dict)
    # Message ids grow from the clock, so a restarted sandbox never reuses an address it gave out.
    ids: Counter = field(default_factory=lambda: Counter(int(time.time()) - 1_600_000_000))

    @classmethod
    def named(cls, username: str) -> Channel:
        # The same name always gets the same id: -100 and ten digits, as Telegram's channel ids look.
        number = zlib.crc32(username.lower().encode()) % 10**10
        status = {NOT_A_MEMBER: "left", NOT_AN_ADMIN: "member"}.get(username.lower(), "administrator")
        return cls(int(f"-100{number:010d}"), username, f"City of Sandbox ({username})", status)

    def as_json(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "title": self.title, "type": "channel"}
        if self.username:
            chat["username"] = self.username
        return chat

    def full_json(self) -> dict[str, Any]:
        """ChatFullInfo, as getChat answers (trimmed to what a channel always has)."""
        return {**self.as_json(), "accent_color_id": 0, "max_reaction_count": 11,
                "description": "Announcements from the City of Sandbox (civicpost sandbox)"}

    def bot_member_json(self, bot: dict[str, Any]) -> dict[str, Any]:
        if self.bot_status != "administrator":
            return {"status": self.bot_status, "user": bot}
        return {
            "status": "administrator", "user": bot, "can_be_edited": False, "is_anonymous": False,
            "can_manage_chat": True, "can_delete_messages": True, "can_manage_video_chats": False,
            "can_restrict_members": True, "can_promote_members": False, "can_change_info": False,
            "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False,
            "can_delete_stories": False, "can_post_messages": True, "can_edit_messages": True,
        }


@dataclass
class Message:
    chat: Channel
    message_id: int
    date: datetime = field(default_factory=now)
    text: str | None = None
    caption: str | None = None
    photo: Upload | str | None = None  # an upload, or the file_id or URL it was sent by
    reply_to: int | None = None
    media_group_id: str | None = None
    reply_markup: dict[str, Any] | None = None
    link_preview_options: dict[str, Any] | None = None
    silent: bool = False

    def as_json(self) -> dict[str, Any]:
        chat = self.chat.as_json()
        message: dict[str, Any] = {"message_id": self.message_id, "sender_chat": chat, "chat": chat,
                                   "date": int(self.date.timestamp())}
        if self.reply_to is not None and self.reply_to in self.chat.messages:
            message["reply_to_message"] = self.chat.messages[self.reply_to].as_json()
        if self.media_group_id:
            message["media_group_id"] = self.media_group_id
        if self.text is not None:
            message["text"] = self.text
            if entities := _url_entities(self.text):
                message["entities"] = entities
            if self.link_preview_options:
                message["link_preview_options"] = self.link_preview_options
        if self.photo is not None:
            message["photo"] = _photo_sizes(self.photo)
        if self.caption:
            message["caption"] = self.caption
            if entities := _url_entities(self.caption):
                message["caption_entities"] = entities
        if self.reply_markup:
            message["reply_markup"] = self.reply_markup
        return message

    def timeline_post(self) -> TimelinePost:
        # A message is named by its chat's id and its own, as the Bot API names it (and civicpost's receipts).
        chat = self.chat.id
        button = _first_button_url(self.reply_markup)
        return TimelinePost(
            platform="telegram",
            id=f"{chat}/{self.message_id}",
            text=self.text if self.text is not None else (self.caption or ""),
            created_at=self.date,
            alts=("",) if self.photo is not None else (),  # Telegram keeps no alt text: the page says so
            reply_to=f"{chat}/{self.reply_to}" if self.reply_to is not None else None,
            link=button,
        )


def _url_entities(text: str) -> list[dict[str, Any]]:
    return [{"type": "url", "offset": utf16(text[: m.start()]), "length": utf16(m.group())}
            for m in _URL.finditer(text)]


def _photo_sizes(photo: Upload | str) -> list[dict[str, Any]]:
    key = photo.sha256 if isinstance(photo, Upload) else format(zlib.crc32(photo.encode()), "08x") * 5
    size = photo.size if isinstance(photo, Upload) else 0
    # Telegram answers several sizes of each photo; the sandbox does not decode images, so the sizes are nominal.
    return [
        {"file_id": f"AgACAgQAAxkDAAI{key[:24]}", "file_unique_id": f"AQAD{key[:12]}s", "file_size": min(size, 1_200),
         "width": 90, "height": 60},
        {"file_id": f"AgACAgQAAxkDAAI{key[:24]}y", "file_unique_id": f"AQAD{key[:12]}y", "file_size": size,
         "width": 1280, "height": 853},
    ]


def _first_button_url(markup: dict[str, Any] | None) -> str | None:
    rows = (markup or {}).get("inline_keyboard") or []
    return next((b.get("url") for row in rows for b in row if isinstance(b, dict) and b.get("url")), None)
