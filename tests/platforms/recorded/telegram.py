"""The Telegram Bot API as it answers a channel's bot (trimmed from what
api.telegram.org sends): `{"ok": true, "result": ...}`, `{"ok": false,
"error_code", "description", "parameters"}`, and the front server's own HTML
page when a gateway fails. Telegram cannot look a message up: no `find`."""

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from civicpost.platforms import Outgoing

from ._base import Post, Recorded, no_such_answer

TELEGRAM_BASE = "https://telegram.sandbox.test"
TOKEN = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET_PART = TOKEN.partition(":")[2]
API = f"{TELEGRAM_BASE}/bot{TOKEN}"
CHAT_ID = -1001234567890
CHANNEL = {"id": CHAT_ID, "title": "City of Example", "username": "cityofexample", "type": "channel"}
TELEGRAM_SETTINGS = {"chat_id": "@cityofexample", "api_base": TELEGRAM_BASE}
TELEGRAM_CREDENTIALS = {"bot_token": TOKEN}
BOT = {"id": 7123456789, "is_bot": True, "first_name": "City of Example", "username": "CityOfExampleBot",
       "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
ADMINISTRATOR = {"status": "administrator", "user": BOT, "can_be_edited": False, "is_anonymous": False,
                 "can_manage_chat": True, "can_delete_messages": True, "can_post_messages": True,
                 "can_edit_messages": True, "can_invite_users": True, "can_change_info": False}
NGINX_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
             b"</center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n")
FIRST_MESSAGE = 42


def message(message_id: int, text: str | None = "Pools open", *, chat: dict[str, Any] = CHANNEL,
            **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message_id": message_id, "sender_chat": chat, "chat": chat, "date": 1746100805, **extra}
    if text is not None:
        body["text"] = text
    return body


def photo_message(message_id: int, caption: str | None = None, **extra: Any) -> dict[str, Any]:
    sizes = [{"file_id": f"AgACAgQAAxkDAAIB{message_id}s", "file_unique_id": "AQADs", "file_size": 1203,
              "width": 90, "height": 60},
             {"file_id": f"AgACAgQAAxkDAAIB{message_id}y", "file_unique_id": "AQADy", "file_size": 40211,
              "width": 1280, "height": 853}]
    body = message(message_id, None, photo=sizes, **extra)
    if caption:
        body["caption"] = caption
    return body


def sent(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def refused(code: int, description: str, **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def echo_messages() -> Callable[[httpx.Request], httpx.Response]:
    """sendMessage as Telegram answers it: the message, numbered in turn, with the one it replies to."""
    made: dict[int, dict[str, Any]] = {}
    numbers = itertools.count(FIRST_MESSAGE)

    def answer(request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        replied = made.get((payload.get("reply_parameters") or {}).get("message_id"))
        new = message(next(numbers), payload["text"], **({"reply_to_message": replied} if replied else {}))
        made[new["message_id"]] = new
        return httpx.Response(200, json=sent(new))

    return answer


def form_fields(request: httpx.Request) -> dict[str, str]:
    """A multipart request's plain fields (the files left out), as the Bot API reads them."""
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    fields: dict[str, str] = {}
    for part in request.content.split(b"--" + boundary):
        head, _, value = part.partition(b"\r\n\r\n")
        if b'name="' not in head or b"filename=" in head:
            continue
        name = head.split(b'name="')[1].split(b'"')[0].decode()
        fields[name] = value.removesuffix(b"\r\n").decode()
    return fields


def file_names(request: httpx.Request) -> list[str]:
    """The field names of a multipart request's files, in order."""
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    return [part.split(b'name="')[1].split(b'"')[0].decode()
            for part in request.content.split(b"--" + boundary) if b"filename=" in part.partition(b"\r\n\r\n")[0]]


class RecordedTelegram(Recorded):
    platform = "telegram"

    def channel(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return TELEGRAM_CREDENTIALS, TELEGRAM_SETTINGS

    @contextmanager
    def answers(self, case: str, outgoing: Outgoing) -> Iterator[float | None]:
        refusals = {
            "bad_credentials": (401, refused(401, "Unauthorized")),
            "rate_limited": (429, refused(429, "Too Many Requests: retry after 35", retry_after=35)),
            "rejected": (400, refused(400, "Bad Request: message is too long")),
        }
        if case == "late":
            no_such_answer("a recorded answer cannot come late: every request's timeout is checked instead")
        with self.httpx_answers() as router:
            send = f"{API}/sendMessage"
            if case in refusals:
                status, body = refusals[case]
                router.post(send).respond(status, json=body)
                yield 35 if case == "rate_limited" else None
                return
            if case == "server_error":
                # Telegram's front server answers a failing gateway with nginx's page, not the Bot API's JSON.
                router.post(send).respond(502, content=NGINX_502, headers={"content-type": "text/html"})
            elif case == "check":
                router.post(f"{API}/getMe").respond(json=sent(BOT))
                router.post(f"{API}/getChat").respond(
                    json=sent({**CHANNEL, "accent_color_id": 0, "max_reaction_count": 11}))
                router.post(f"{API}/getChatMember").respond(json=sent(ADMINISTRATOR))
            elif case in ("publish", "timeouts", "thread", "delete"):
                router.post(send).mock(side_effect=echo_messages())
                if case == "delete":
                    router.post(f"{API}/deleteMessage").respond(json=sent(True))
            else:
                raise self.unknown(case)  # find: the Bot API cannot look a message up
            yield None

    def posts(self) -> list[Post]:
        held: dict[str, Post] = {}
        for call in self.calls:
            if not call.ok:
                continue
            if call.path.endswith("/sendMessage"):
                result, chat = call.answer["result"], call.answer["result"]["chat"]["id"]
                reply = (call.json().get("reply_parameters") or {}).get("message_id")
                part = f"{chat}/{result['message_id']}"
                held[part] = Post(part, call.json()["text"], f"{chat}/{reply}" if reply else None)
            elif call.path.endswith("/deleteMessage"):
                held.pop(f"{call.json()['chat_id']}/{call.json()['message_id']}", None)
        return list(held.values())
