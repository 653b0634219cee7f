"""A Twilio-compatible Messages API: `POST /sms/2010-04-01/Accounts/{sid}/Messages.json` (form:
To, From or MessagingServiceSid, Body, StatusCallback), basic auth with the account id and its
auth token, 201 with the message's `sid`, and Twilio's error bodies (`code`, `message`, `status`).

Like Twilio, it then calls the message's StatusCallback (`MessageStatus` `sent`, then `delivered`;
`undelivered` with error 30003 for a number ending in 0003), signed with `X-Twilio-Signature`
under the auth token the request carried, so `/hooks/sms/status` can be played end to end. A
`To` that is not a phone number gets Twilio's 400 with code 21211. Point a city at it with
`CIVICPOST_SMS_API_BASE={sandbox}/sms`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import secrets
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.responses import Response
from starlette.routing import Route

from civicpost.sms.signature import sign

from .core import Call, Hub, PlatformFake, TimelinePost, json_response
from .faults import Kind, PlatformFaults

_NUMBER = re.compile(r"\+[1-9][0-9]{6,14}")
_CALLBACK_DELAY_S = 0.05


def twilio_error(status: int, code: int, message: str) -> Response:
    return json_response({"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                          "status": status}, status)


class SmsFake(PlatformFake):
    name = "sms"
    title = "Texts (Twilio Messages API)"
    plays = ("subscribers",)
    default_quota = (100, 1)

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        self.reset()
        self._tasks: set[asyncio.Task] = set()

    def reset(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def routes(self) -> list[Route]:
        return [self.route("/2010-04-01/Accounts/{sid}/Messages.json", self.create_message, methods=["POST"],
                           kind=Kind.CREATE)]

    def authenticate(self, call: Call) -> Response | None:
        sid, token = _basic(call.header("authorization") or "")
        if not token or token == "bad" or sid != call.path_params.get("sid"):
            return twilio_error(401, 20003, "Authenticate")
        return None

    def error_response(self, status: int) -> Response:
        return twilio_error(status, 20500 if status >= 500 else 21610, "Internal Server Error" if status >= 500
                            else "Attempt to send to unsubscribed recipient")

    def rate_limited(self, reset_at: int, faults: PlatformFaults) -> Response:
        return twilio_error(faults.rate_limit_status or 429, 20429, "Too Many Requests")

    def timeline(self) -> list[TimelinePost]:
        return [TimelinePost("sms", m["sid"], f"to …{m['To'][-3:]}: {m['Body']}", m["at"]) for m in self.messages]

    def create_message(self, call: Call) -> Response:
        to, body = call.field("To") or "", call.field("Body") or ""
        if not _NUMBER.fullmatch(to):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not body:
            return twilio_error(400, 21602, "Message body is required.")
        if not (call.field("From") or call.field("MessagingServiceSid")):
            return twilio_error(400, 21603, "The source 'from' phone number is required to send an SMS")
        sid = "SM" + secrets.token_hex(16)
        self.messages.append({"sid": sid, "To": to, "Body": body, "at": datetime.now(UTC)})
        callback = call.field("StatusCallback")
        if callback:
            token = _basic(call.header("authorization") or "")[1]
            statuses = ["sent", "undelivered" if to.endswith("0003") else "delivered"]
            task = asyncio.get_running_loop().create_task(_call_back(callback, token, sid, statuses))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return json_response({"sid": sid, "status": "queued", "to": to, "body": body,
                              "num_segments": "1", "account_sid": call.path_params["sid"]}, 201)


def _basic(header: str) -> tuple[str, str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        sid, _, token = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return sid, token


async def _call_back(url: str, token: str, sid: str, statuses: list[str]) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        for status in statuses:
            await asyncio.sleep(_CALLBACK_DELAY_S)
            fields = {"MessageSid": sid, "MessageStatus": status}
            if status == "undelivered":
                fields["ErrorCode"] = "30003"
            try:
                await client.post(url, data=fields, headers={"X-Twilio-Signature": sign(token, url, fields.items())})
            except httpx.HTTPError:
                return  # as Twilio: a callback that fails is not tried again
