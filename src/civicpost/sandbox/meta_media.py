"""What the Instagram and Threads fakes share: Meta's error object, its
authentication and usage headers, containers that take a while to prepare,
the 24-hour publishing limit, the account's page, and fetching a post's image
from `image_url` the way Meta's crawler does.

The sandbox never reaches out: it fetches an image only from 127.0.0.1 (the
city's own civicpost on this machine) and answers any other address, or a
fetch that fails, with the error Meta gives when it cannot download the
media. The fetch is synchronous, bounded by a short timeout, as Meta fetches
an image before it answers the container request.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .core import Call, Hub, PlatformFake, json_response
from .faults import PlatformFaults
from .ids import Counter, now
from .page import render_timelines

LOOPBACK = "127.0.0.1"
MAX_IMAGE_BYTES = 8 * 1024 * 1024  # "less than 8 MiB"
FETCH_TIMEOUT_S = 5.0
_MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
_SHORTCODE = string.ascii_letters + string.digits + "_-"
THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80002: "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again.",
}


def meta_error(status: int, message: str, *, code: int, subcode: int | None = None, type_: str = "OAuthException",
               transient: bool = False, user_title: str | None = None, user_msg: str | None = None) -> Response:
    """Graph's error object, as Instagram's and Threads' APIs send it."""
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["is_transient"] = transient
    if user_title:
        error["error_user_title"] = user_title
    if user_msg:
        error["error_user_msg"] = user_msg
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(15)
    headers = {"www-authenticate": f'OAuth "Facebook Platform" "invalid_token" "{message}"'} if code == 190 else {}
    return json_response({"error": error}, status, headers)


def authenticate(call: Call) -> Response | None:
    """The token in the Authorization header (one in the URL is refused, so a
    client that would leak it into logs fails here); "bad" is refused as Meta
    refuses an expired token."""
    if "access_token" in call.request.query_params:
        return meta_error(400, "(#100) civicpost sandbox refuses access_token in the URL: send it in the "
                               "Authorization header.", code=100)
    scheme, _, token = (call.header("authorization") or "").partition(" ")
    token = token.strip() if scheme.lower() in ("bearer", "oauth") else ""
    if not token:
        return meta_error(400, "An access token is required to request this resource.", code=104)
    if token == "bad":
        return meta_error(400, "Error validating access token: Session has expired.", code=190, subcode=463)
    return None


def error_response(status: int) -> Response:
    """An injected fault's answer, as Graph gives it for that status."""
    if status < 500:
        # A refusal for good: Graph's invalid-parameter error, which is not transient.
        return meta_error(status, "(#100) Invalid parameter", code=100)
    if status == 504:
        return meta_error(504, "Request timed out. Please retry.", code=2, transient=True)
    return meta_error(status, "An unexpected error has occurred. Please retry your request later.", code=2,
                      transient=True)


def throttled(faults: PlatformFaults, *, usage_type: str, account: str) -> Response:
    code = faults.graph_throttle_code
    message = THROTTLE_MESSAGES.get(code, f"(#{code}) Request limit reached")
    response = meta_error(faults.rate_limit_status or 400, message, code=code, transient=True)
    minutes = max(1, -(-faults.rate_limit_reset_s // 60))
    if code == 4:
        response.headers["x-app-usage"] = json.dumps({"call_count": 100, "total_cputime": 25, "total_time": 25})
    else:
        usage = {"type": usage_type, "call_count": 100, "total_cputime": 30, "total_time": 30,
                 "estimated_time_to_regain_access": minutes}
        response.headers["x-business-use-case-usage"] = json.dumps({account: [usage]})
    return response


def usage_headers(limit: int, remaining: int, *, usage_type: str, account: str) -> dict[str, str]:
    percent = round(100 * (limit - remaining) / limit) if limit else 0
    usage = {"type": usage_type, "call_count": percent, "total_cputime": 0, "total_time": percent,
             "estimated_time_to_regain_access": 0}
    return {"x-business-use-case-usage": json.dumps({account: [usage]})}


def missing(node_id: str, verb: str) -> Response:
    return meta_error(400, f"Unsupported {verb} request. Object with ID '{node_id}' does not exist, cannot be "
                           "loaded due to missing permissions, or does not support this operation.",
                      code=100, subcode=33, type_="GraphMethodException")


def shortcode() -> str:
    return "".join(secrets.choice(_SHORTCODE) for _ in range(11))


def wanted_fields(call: Call, default: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f for f in call.query.get("fields", "").split(",") if f) or default


def limit_of(call: Call, default: int = 25) -> int | Response:
    try:
        return min(100, max(1, int(call.query.get("limit", str(default)))))
    except ValueError:
        return meta_error(400, "(#100) The parameter limit must be an integer", code=100)


@dataclass(frozen=True)
class Image:
    url: str
    mime_type: str
    size: int
    sha256: str


def fetch_image(url: str, *, accepted: frozenset[str]) -> Image | Response:
    """The image at `url`, or the error Meta answers when it cannot use it."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or parts.hostname != LOOPBACK:
        return _download_failed()
    data = b""
    try:
        with (httpx.Client(timeout=FETCH_TIMEOUT_S, trust_env=False, follow_redirects=False) as client,
              client.stream("GET", url) as response):
            if response.status_code != 200:
                return _download_failed()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_IMAGE_BYTES:
                    return meta_error(400, "The image size is too large.", code=36000, subcode=2207004,
                                      user_title="Image size too large",
                                      user_msg="The image is too large to download. It should be less than 8 MiB.")
    except httpx.TimeoutException:
        return meta_error(400, "It takes too long to download the media.", code=-2, subcode=2207003, transient=True)
    except httpx.HTTPError:
        return _download_failed()
    kind = next((mime for magic, mime in _MAGIC.items() if data.startswith(magic)), None)
    if kind is None:
        return _download_failed()
    if kind not in accepted:
        formats = " and ".join(sorted(m.split("/")[1].upper() for m in accepted))
        return meta_error(400, "The image format is not supported.", code=36001, subcode=2207005,
                          user_title="Unsupported image format",
                          user_msg=f"The image format is not supported. Supported formats: {formats}.")
    return Image(url, kind, len(data), hashlib.sha256(data).hexdigest())


def _download_failed() -> Response:
    return meta_error(400, "Only photo or video can be accepted as media type.", code=9004, subcode=2207052,
                      user_title="Media download has failed.",
                      user_msg="The media could not be fetched from the uri. Please check the uri and try again.")


class Prepared(Protocol):
    """A container as MetaFake sees it: made at a moment, published or not."""

    made: float  # time.monotonic()
    published: bool


class MetaFake(PlatformFake):
    """An account on a Meta API that publishes through containers (Instagram, Threads)."""

    account: ClassVar[dict[str, str]]  # id, username, name
    aliases: ClassVar[tuple[str, ...]] = ()  # other names for the account in a path ("me")
    daily_limit: ClassVar[int]
    first_id: ClassVar[int]

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        # Numbered from the clock: a restarted sandbox never repeats an id.
        self._ids = Counter(self.first_id + int(time.time() * 1000) * 100)
        self.processing_s = 0.0  # how long a container stays IN_PROGRESS (0 unless a test sets it)
        self.reset()

    def published_at(self) -> list[datetime]:
        """When each post that counts against the daily limit went out."""
        raise NotImplementedError

    def not_the_account(self, user: str, verb: str) -> Response | None:
        return None if user in (self.account["id"], *self.aliases) else missing(user, verb)

    def state(self, container: Prepared) -> str:
        if container.published:
            return "PUBLISHED"
        return "IN_PROGRESS" if time.monotonic() - container.made < self.processing_s else "FINISHED"

    def over_daily_limit(self) -> bool:
        return self.published_today() >= self.daily_limit

    def published_today(self) -> int:
        return sum(1 for at in self.published_at() if (now() - at).total_seconds() < 86400)

    def web_base(self, call: Call) -> str:
        """Where this sandbox shows the platform's posts (its own site, played locally)."""
        url = call.request.url
        return f"{url.scheme}://{url.netloc}/{self.name}"

    # --- credentials, errors, quota ----------------------------------------------
    def authenticate(self, call: Call) -> Response | None:
        return authenticate(call)

    def error_response(self, status: int) -> Response:
        return error_response(status)

    def rate_limited(self, reset_at: int, faults: PlatformFaults) -> Response:
        return throttled(faults, usage_type=self.name, account=self.account["id"])

    def quota_headers(self, limit: int, remaining: int, reset_at: int) -> dict[str, str]:
        return usage_headers(limit, remaining, usage_type=self.name, account=self.account["id"])

    # --- reading -------------------------------------------------------------------
    def publishing_limit(self, call: Call) -> Response:
        if (refused := self.not_the_account(call.path_params["user"], "get")) is not None:
            return refused
        entry: dict[str, object] = {"quota_usage": self.published_today()}
        if "config" in wanted_fields(call, ("quota_usage",)):
            entry["config"] = {"quota_total": self.daily_limit, "quota_duration": 86400}
        return json_response({"data": [entry]})

    def account_json(self, call: Call) -> Response:
        wanted = wanted_fields(call, ("id",))
        return json_response({k: v for k, v in self.account.items() if k in wanted or k == "id"})

    def container_json(self, call: Call, container: Prepared, *names: str) -> Response:
        """A container's state under each of `names` (Instagram: status_code and status; Threads: status)."""
        values = {"id": call.path_params["node_id"], **dict.fromkeys(names, self.state(container))}
        wanted = wanted_fields(call, ("id",))
        return json_response({k: v for k, v in values.items() if k in wanted or k == "id"})

    async def profile_page(self, request: Request) -> Response:
        if request.path_params["username"] != self.account["username"]:
            return HTMLResponse("<!doctype html><title>Not found</title><p>No such account.</p>", status_code=404)
        return HTMLResponse(render_timelines([self], recorded=len(self.hub.recorder.entries(platform=self.name))))
