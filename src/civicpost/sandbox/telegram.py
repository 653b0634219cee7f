"""The Telegram Bot API a channel publisher calls, mounted at `/telegram`, and
the channel's public pages at `/t.me`.

`https://api.telegram.org/bot<token>/sendMessage` becomes
`{sandbox}/telegram/bot<token>/sendMessage`. Parameters come as JSON, a form,
multipart (uploads, with objects as JSON strings) or the query string, as the
Bot API takes them; every answer is `{"ok": true, "result": ...}` or `{"ok":
false, "error_code", "description", "parameters"}`, except the 502 and 504
pages of Telegram's front server, which are HTML.

A token must look like one (digits, a colon, letters: else 404 Not Found);
one whose secret part is "bad" gets 401 Unauthorized. Any @channel exists, and
the bot is its administrator, except @nosuchchannel (chat not found),
@notamember (the bot is not in it) and @notanadmin (a member, not an
administrator). Messages older than 48 hours cannot be deleted (tests age them
with `age`). The token never reaches the request log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .core import Call, Hub, PlatformFake, TimelinePost, Upload, json_response
from .faults import Kind, PlatformFaults
from .ids import now
from .telegram_chats import BOT_USERNAME, NO_SUCH_CHANNEL, Channel, Message, utf16

_TOKEN = re.compile(r"^([0-9]+):([A-Za-z0-9_-]+)$")
_TOKEN_IN_PATH = re.compile(r"/bot[^/]*")
_USERNAME = re.compile(r"^@([A-Za-z][A-Za-z0-9_]{3,31})$")
MESSAGE_LIMIT, CAPTION_LIMIT = 4096, 1024
DELETE_WINDOW = timedelta(hours=48)
_NGINX = ("<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n"
          "<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n")


class Refused(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


def telegram_error(code: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return json_response(body, code)


def ok(result: Any) -> Response:
    return json_response({"ok": True, "result": result})


class TelegramFake(PlatformFake):
    name = "telegram"
    title = "Telegram channel"
    plays = ("telegram",)
    default_quota = (30, 1)  # "no more than 30 messages per second" across chats; Telegram sends no quota headers

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        self.reset()

    def reset(self) -> None:
        self.channels: dict[int, Channel] = {}
        self._groups = 0

    def routes(self) -> list[Route]:
        methods: list[tuple[str, Callable[[Call], Response], Kind]] = [
            ("getMe", self.get_me, Kind.AUTH),
            ("getChat", self.get_chat, Kind.READ),
            ("getChatMember", self.get_chat_member, Kind.READ),
            ("sendMessage", self.send_message, Kind.CREATE),
            ("sendPhoto", self.send_photo, Kind.CREATE),
            ("sendMediaGroup", self.send_media_group, Kind.CREATE),
            ("deleteMessage", self.delete_message, Kind.WRITE),
            ("deleteMessages", self.delete_messages, Kind.WRITE),
        ]
        # Method names are case-insensitive in the Bot API: the usual spelling and all lower case are served.
        routes = [self.route(f"/bot{{token}}/{spelled}", handler, methods=["GET", "POST"], kind=kind)
                  for name, handler, kind in methods for spelled in dict.fromkeys((name, name.lower()))]
        unknown = self.route("/bot{token}/{method}", self.unknown_method, methods=["GET", "POST"], kind=Kind.READ)
        return [*routes, unknown]

    def recorded_path(self, path: str) -> str:
        return _TOKEN_IN_PATH.sub("/bot[redacted]", path)

    # --- credentials, errors, limits ---------------------------------------------------
    def authenticate(self, call: Call) -> Response | None:
        token = _TOKEN.match(call.path_params.get("token", ""))
        if token is None:
            return telegram_error(404, "Not Found")  # no such bot: Telegram's answer to a malformed token
        if token.group(2) == "bad":
            return telegram_error(401, "Unauthorized")
        return None

    def error_response(self, status: int) -> Response:
        if status in (502, 504):
            phrase = "502 Bad Gateway" if status == 502 else "504 Gateway Time-out"
            return HTMLResponse(_NGINX.format(phrase), status_code=status)
        descriptions = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden: bot was kicked from the channel chat",
                        404: "Not Found", 500: "Internal Server Error"}
        return telegram_error(status, descriptions.get(status, "Internal Server Error"))

    def rate_limited(self, reset_at: int, faults: PlatformFaults) -> Response:
        wait = max(1, reset_at - int(now().timestamp()))
        return telegram_error(faults.rate_limit_status or 429, f"Too Many Requests: retry after {wait}",
                              {"retry_after": wait})

    # --- the bot and its chats -----------------------------------------------------------
    def get_me(self, call: Call) -> Response:
        return ok(_bot(call))

    def get_chat(self, call: Call) -> Response:
        return self._answer(lambda: self._chat(call, posting=False).full_json())

    def get_chat_member(self, call: Call) -> Response:
        def member() -> dict[str, Any]:
            chat = self._chat(call, posting=False)
            if chat.bot_status == "left":
                raise Refused(403, "Forbidden: bot is not a member of the channel chat")
            bot = _bot(call)
            if str(_param(call, "user_id")) != str(bot["id"]):
                raise Refused(400, "Bad Request: user not found")
            return chat.bot_member_json(bot)

        return self._answer(member)

    def unknown_method(self, call: Call) -> Response:
        return telegram_error(404, "Not Found")

    # --- posting ----------------------------------------------------------------------
    def send_message(self, call: Call) -> Response:
        def send() -> dict[str, Any]:
            chat = self._chat(call, posting=True)
            text = str(_param(call, "text") or "").strip()
            if not text:
                raise Refused(400, "Bad Request: message text is empty")
            if utf16(text) > MESSAGE_LIMIT:
                raise Refused(400, "Bad Request: message is too long")
            _parse_mode(call)
            preview = _object(call, "link_preview_options", "link preview options")
            return self._post(chat, call, text=text, link_preview_options=preview).as_json()

        return self._answer(send)

    def send_photo(self, call: Call) -> Response:
        def send() -> dict[str, Any]:
            chat = self._chat(call, posting=True)
            photo = call.files.get("photo") or _param(call, "photo")
            if not photo:
                raise Refused(400, "Bad Request: there is no photo in the request")
            _check_image(photo)
            return self._post(chat, call, caption=_caption(call, _param(call, "caption")), photo=photo).as_json()

        return self._answer(send)

    def send_media_group(self, call: Call) -> Response:
        def send() -> list[dict[str, Any]]:
            chat = self._chat(call, posting=True)
            if _param(call, "media") is None:
                raise Refused(400, 'Bad Request: parameter "media" is required')
            items = _object(call, "media", "media", kind=list)
            if not 2 <= len(items) <= 10:
                raise Refused(400, "Bad Request: media group must include 2-10 items")
            photos = []
            for item in items:
                if not isinstance(item, dict) or item.get("type") != "photo":
                    raise Refused(400, "Bad Request: the sandbox plays albums of photos only")
                media = str(item.get("media") or "")
                photo = call.files.get(media.removeprefix("attach://")) if media.startswith("attach://") else media
                if not photo:
                    raise Refused(400, "Bad Request: can't parse InputMedia: media not found")
                _check_image(photo)
                photos.append((photo, _caption(call, item.get("caption"))))
            self._groups += 1
            group = f"1340{self._groups:014d}"
            return [self._post(chat, call, photo=photo, caption=caption, media_group_id=group).as_json()
                    for photo, caption in photos]

        return self._answer(send)

    def _post(self, chat: Channel, call: Call, **content: Any) -> Message:
        reply = _object(call, "reply_parameters", "reply parameters")
        reply_to = None
        if reply:
            reply_to = reply.get("message_id")
            if reply_to not in chat.messages and not reply.get("allow_sending_without_reply"):
                raise Refused(400, "Bad Request: message to be replied not found")
            reply_to = reply_to if reply_to in chat.messages else None
        markup = _object(call, "reply_markup", "reply markup")
        _check_buttons(markup)
        silent = str(_param(call, "disable_notification")).lower() in ("true", "1")
        message = Message(chat, int(chat.ids.next()), reply_to=reply_to, reply_markup=markup or None,
                          silent=silent, **content)
        chat.messages[message.message_id] = message
        return message

    # --- deleting ---------------------------------------------------------------------
    def delete_message(self, call: Call) -> Response:
        def delete() -> bool:
            chat = self._chat(call, posting=False)
            self._delete(chat, _int(_param(call, "message_id"), "message_id"), missing_is_error=True)
            return True

        return self._answer(delete)

    def delete_messages(self, call: Call) -> Response:
        def delete() -> bool:
            chat = self._chat(call, posting=False)
            ids = _object(call, "message_ids", "message_ids", kind=list)
            if not 1 <= len(ids) <= 100:
                raise Refused(400, "Bad Request: message_ids must contain 1-100 items")
            for message_id in ids:
                self._delete(chat, _int(message_id, "message_ids"), missing_is_error=False)  # missing ones are skipped
            return True

        return self._answer(delete)

    def _delete(self, chat: Channel, message_id: int, *, missing_is_error: bool) -> None:
        if chat.bot_status == "left":
            raise Refused(403, "Forbidden: bot is not a member of the channel chat")
        message = chat.messages.get(message_id)
        if message is None:
            if missing_is_error:
                raise Refused(400, "Bad Request: message to delete not found")
            return
        if chat.bot_status != "administrator" or now() - message.date > DELETE_WINDOW:
            raise Refused(400, "Bad Request: message can't be deleted")
        del chat.messages[message_id]

    # --- for tests and the timeline page -------------------------------------------------
    def channel(self, chat_id: str | int) -> Channel:
        """The channel a chat_id names (made on first use), as the bot sees it."""
        return self._find(chat_id)

    def age(self, hours: float) -> None:
        """Make every message `hours` older: past 48, Telegram refuses to delete it."""
        for chat in self.channels.values():
            for message in chat.messages.values():
                message.date -= timedelta(hours=hours)

    def timeline(self) -> list[TimelinePost]:
        return [m.timeline_post() for chat in self.channels.values() for m in chat.messages.values()]

    def post_pages(self) -> list[tuple[str, Callable[[Request], str]]]:
        """t.me/<username>/<id> for a public channel, t.me/c/<number>/<id> for a private one."""

        def public(request: Request) -> str:
            name, message = request.path_params["username"].lower(), request.path_params["message"]
            return next((f"{c.id}/{message}" for c in self.channels.values() if (c.username or "").lower() == name), "")

        return [
            ("/t.me/c/{number}/{message}", lambda r: f"-100{r.path_params['number']}/{r.path_params['message']}"),
            ("/t.me/{username}/{message}", public),
        ]

    # --- reading a call ---------------------------------------------------------------------
    def _answer(self, make: Callable[[], Any]) -> Response:
        try:
            return ok(make())
        except Refused as refusal:
            return telegram_error(refusal.code, refusal.description)

    def _chat(self, call: Call, *, posting: bool) -> Channel:
        given = _param(call, "chat_id")
        if given in (None, ""):
            raise Refused(400, "Bad Request: chat_id is empty")
        chat = self._find(given)
        if posting and chat.bot_status == "left":
            raise Refused(403, "Forbidden: bot is not a member of the channel chat")
        if posting and chat.bot_status != "administrator":
            raise Refused(400, "Bad Request: need administrator rights in the channel chat")
        return chat

    def _find(self, given: str | int) -> Channel:
        text = str(given).strip()
        if (name := _USERNAME.match(text)) is not None:
            if name.group(1).lower() == NO_SUCH_CHANNEL:
                raise Refused(400, "Bad Request: chat not found")
            made = Channel.named(name.group(1))
        elif text.startswith("-") and text[1:].isdigit():
            made = Channel(int(text), None, f"City of Sandbox (private channel {text})")
        else:
            raise Refused(400, "Bad Request: chat not found")  # a user id, or no chat at all
        return self.channels.setdefault(made.id, made)


def _bot(call: Call) -> dict[str, Any]:
    bot_id = int(call.path_params["token"].partition(":")[0])
    return {"id": bot_id, "is_bot": True, "first_name": "City of Sandbox", "username": BOT_USERNAME,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False}


def _param(call: Call, name: str) -> Any:
    value = call.field(name)
    return value if value is not None else call.query.get(name)


def _object(call: Call, name: str, words: str, *, kind: type = dict) -> Any:
    """An object parameter: a JSON value in a JSON body, a JSON string in a form or the query string."""
    value = _param(call, name)
    if value is None:
        return kind()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise Refused(400, f"Bad Request: can't parse {words} JSON object") from None
    if not isinstance(value, kind):
        raise Refused(400, f"Bad Request: can't parse {words} JSON object")
    return value


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Refused(400, f"Bad Request: invalid {name} specified") from None


def _caption(call: Call, caption: Any) -> str | None:
    text = str(caption or "").strip()
    _parse_mode(call)
    if utf16(text) > CAPTION_LIMIT:
        raise Refused(400, "Bad Request: message caption is too long")
    return text or None


def _parse_mode(call: Call) -> None:
    mode = _param(call, "parse_mode")
    if mode not in (None, "", "HTML", "Markdown", "MarkdownV2"):
        raise Refused(400, f"Bad Request: unsupported parse_mode {mode}")


def _check_image(photo: Upload | str) -> None:
    if isinstance(photo, Upload) and not (photo.content_type or "").startswith("image/"):
        raise Refused(400, "Bad Request: IMAGE_PROCESS_FAILED")


def _check_buttons(markup: dict[str, Any]) -> None:
    for row in markup.get("inline_keyboard", []) if markup else []:
        for button in row if isinstance(row, list) else [None]:
            if not isinstance(button, dict) or not button.get("text"):
                raise Refused(400, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed "
                                   "in the inline keyboard")
            if "url" not in button:
                continue  # callback and other buttons: the sandbox takes them as they are
            url = str(button["url"] or "")
            scheme, _, rest = url.partition("://")
            host = rest.split("/", 1)[0].split(":", 1)[0]
            if scheme not in ("http", "https") or "." not in host:
                raise Refused(400, f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
