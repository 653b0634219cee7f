"""Recorded-style Bot API answers (trimmed from what api.telegram.org sends), and
the Telegram fake for the contract tests, shaped like those in fakes.py."""

from typing import Any

import httpx
import respx

from civicpost.platforms import Adapter, build_adapter

TIMEOUT = 7.5
TOKEN = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET_PART = TOKEN.partition(":")[2]
API = f"https://api.telegram.org/bot{TOKEN}"
CHAT_ID = -1001234567890
CHANNEL = {"id": CHAT_ID, "title": "City of Example", "username": "cityofexample", "type": "channel"}
SETTINGS = {"chat_id": "@cityofexample"}
CREDENTIALS = {"bot_token": TOKEN}
BOT = {"id": 7123456789, "is_bot": True, "first_name": "City of Example", "username": "CityOfExampleBot",
       "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
NGINX_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
             b"</center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n")


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


ADMINISTRATOR = {"status": "administrator", "user": BOT, "can_be_edited": False, "is_anonymous": False,
                 "can_manage_chat": True, "can_delete_messages": True, "can_post_messages": True,
                 "can_edit_messages": True, "can_invite_users": True, "can_change_info": False}


class TelegramFake:
    """Sets up Telegram's answer to the next publish: `accept()` or `refuse(kind)`."""

    platform = "telegram"

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router

    def adapter(self) -> Adapter:
        return build_adapter("telegram", CREDENTIALS, SETTINGS, timeout=TIMEOUT, allow_private_network=True)

    def accept(self) -> None:
        self.router.post(f"{API}/sendMessage").respond(json=sent(message(42)))
        self.router.post(f"{API}/deleteMessage").respond(json=sent(True))
        self.router.post(f"{API}/getMe").respond(json=sent(BOT))
        self.router.post(f"{API}/getChat").respond(
            json=sent({**CHANNEL, "accent_color_id": 0, "max_reaction_count": 11}))
        self.router.post(f"{API}/getChatMember").respond(json=sent(ADMINISTRATOR))

    def refuse(self, kind: str) -> bool:
        if kind == "server_error":
            # Telegram's front server answers a failing gateway with nginx's page, not the Bot API's JSON.
            self.router.post(f"{API}/sendMessage").respond(502, content=NGINX_502,
                                                           headers={"content-type": "text/html"})
            return True
        status, body = {
            "rate_limited": (429, refused(429, "Too Many Requests: retry after 35", retry_after=35)),
            "bad_credentials": (401, refused(401, "Unauthorized")),
            "rejected": (400, refused(400, "Bad Request: message is too long")),
        }[kind]
        self.router.post(f"{API}/sendMessage").respond(status, json=body)
        return True

    def timeouts(self) -> list[float]:
        return [call.request.extensions["timeout"]["read"] for call in self.router.calls]


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
