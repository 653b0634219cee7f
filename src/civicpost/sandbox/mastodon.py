"""A Mastodon 4.3 instance as Mastodon.py 2.x uses it, mounted at `/mastodon`.

Use `api_base_url="{sandbox}/mastodon"`. Entities carry the fields Mastodon
sends (Mastodon.py parses `created_at` and friends into datetimes), every
response carries X-RateLimit-* headers with an ISO reset time, and
`Idempotency-Key` returns the first status again instead of a second one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import regex
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import engagement, replies
from .core import Call, Hub, PlatformFake, TimelinePost, Upload, json_response
from .faults import Kind, PlatformFaults
from .ids import iso_millis, mastodon_ids, now
from .mastodon_entities import ACCOUNT_ID, account_json, instance_v1, instance_v2

MAX_CHARACTERS = 500
URL_WEIGHT = 23
_URL = re.compile(r"https?://\S+")


@dataclass
class Attachment:
    id: str
    upload: Upload
    description: str | None
    status_id: str | None = None

    def as_json(self, base: str) -> dict[str, object]:
        kind = "image" if (self.upload.content_type or "").startswith("image/") else "unknown"
        url = f"{base}/system/media_attachments/{self.id}/original"
        size = {"width": 1200, "height": 675, "size": "1200x675", "aspect": 1.7777777777777777}
        return {
            "id": self.id,
            "type": kind,
            "url": url,
            "preview_url": url.replace("original", "small"),
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": {"original": size, "small": {**size, "width": 640, "height": 360, "size": "640x360"}},
            "description": self.description,
            "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
        }


@dataclass
class Status:
    id: str
    text: str
    created_at: datetime
    visibility: str
    in_reply_to_id: str | None = None
    language: str | None = "en"
    spoiler_text: str = ""
    media: list[Attachment] = field(default_factory=list)


def mastodon_error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


class MastodonFake(PlatformFake):
    name = "mastodon"
    title = "Mastodon"
    plays = ('mastodon',)
    default_quota = (300, 5 * 60)  # 300 requests per account per 5 minutes

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        self._ids = mastodon_ids()
        self.reset()

    def reset(self) -> None:
        self.statuses: dict[str, Status] = {}
        self.media: dict[str, Attachment] = {}
        self.idempotency: dict[str, str] = {}

    def routes(self) -> list[Route]:
        r = self.route
        return [
            r("/api/v1/instance", self.get_instance_v1, methods=["GET"], kind=Kind.READ, auth=False),
            r("/api/v2/instance", self.get_instance_v2, methods=["GET"], kind=Kind.READ, auth=False),
            r("/api/v1/accounts/verify_credentials", self.verify_credentials, methods=["GET"], kind=Kind.AUTH),
            r("/api/v1/accounts/{id}/statuses", self.account_statuses, methods=["GET"], kind=Kind.READ),
            r("/api/v1/statuses", self.create_status, methods=["POST"], kind=Kind.CREATE),
            r("/api/v1/statuses", self.get_statuses, methods=["GET"], kind=Kind.READ),
            r("/api/v1/statuses/{id}", self.get_status, methods=["GET"], kind=Kind.READ),
            r("/api/v1/statuses/{id}/context", self.get_context, methods=["GET"], kind=Kind.READ),
            r("/api/v1/statuses/{id}", self.delete_status, methods=["DELETE"], kind=Kind.WRITE),
            r("/api/v2/media", self.upload_media, methods=["POST"], kind=Kind.WRITE),
            r("/api/v1/media", self.upload_media, methods=["POST"], kind=Kind.WRITE),
            r("/api/v1/media/{id}", self.get_media, methods=["GET"], kind=Kind.READ),
            r("/api/v1/media/{id}", self.update_media, methods=["PUT"], kind=Kind.WRITE),
        ]

    @property
    def base(self) -> str:
        return "https://sandbox.localhost"

    # --- credentials, errors, quota ----------------------------------------------
    def authenticate(self, call: Call) -> Response | None:
        scheme, _, token = (call.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or token.strip() == "bad":
            return mastodon_error(401, "The access token is invalid")
        return None

    def error_response(self, status: int) -> Response:
        # Mastodon's API controllers answer these in its `{"error": ...}` shape.
        messages = {
            400: "param is missing or the value is empty: status",
            403: "This action is not allowed",
            404: "Record not found",
            422: "Validation failed: Text can't be blank",
            500: "We're sorry, but something went wrong on our end.",
            504: "Gateway Timeout",
        }
        return mastodon_error(status, messages.get(status, "Service Unavailable"))

    def rate_limited(self, reset_at: int, faults: PlatformFaults) -> Response:
        response = mastodon_error(faults.rate_limit_status or 429, "Too many requests")
        response.headers.update(self.quota_headers(self.default_quota[0], 0, reset_at))
        return response

    def quota_headers(self, limit: int, remaining: int, reset_at: int) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": iso_millis(datetime.fromtimestamp(reset_at, UTC)),
        }

    # --- instance and account -------------------------------------------------------
    def get_instance_v1(self, call: Call) -> Response:
        return json_response(instance_v1(MAX_CHARACTERS, len(self.statuses)))

    def get_instance_v2(self, call: Call) -> Response:
        return json_response(instance_v2(MAX_CHARACTERS))

    def verify_credentials(self, call: Call) -> Response:
        account = account_json(len(self.statuses), with_source=True)
        return json_response({**account, "followers_count": engagement.followers("mastodon", now())})

    def get_statuses(self, call: Call) -> Response:
        ids = call.request.query_params.getlist("id[]")
        if len(ids) > 20:
            return mastodon_error(422, "Too many ids requested (at most 20)")
        return json_response([self.status_json(self.statuses[i], call) for i in ids if i in self.statuses])

    # --- statuses -------------------------------------------------------------------
    def create_status(self, call: Call) -> Response:
        key = call.header("idempotency-key")
        if key and key in self.idempotency:
            earlier = self.statuses.get(self.idempotency[key])
            return self._status_response(earlier, call) if earlier else mastodon_error(404, "Record not found")
        text = str(call.field("status") or "")
        media_ids = call.fields("media_ids[]") or call.fields("media_ids")
        media = [self.media[m] for m in media_ids if m in self.media and self.media[m].status_id is None]
        if len(media) != len(media_ids):
            missing = ", ".join(m for m in media_ids if m not in {a.id for a in media})
            return mastodon_error(422, f"Media {missing} not found or already attached to another post")
        if not text.strip() and not media:
            return mastodon_error(422, "Validation failed: Text can't be blank")
        if _countable_length(text) > MAX_CHARACTERS:
            return mastodon_error(422, f"Validation failed: Text character limit of {MAX_CHARACTERS} exceeded")
        reply_to = call.field("in_reply_to_id")
        if reply_to and str(reply_to) not in self.statuses:
            return mastodon_error(404, "The post you are trying to reply to does not appear to exist.")
        status = Status(
            id=self._ids.next(),
            text=text,
            created_at=now(),
            visibility=str(call.field("visibility") or "public"),
            in_reply_to_id=str(reply_to) if reply_to else None,
            language=str(call.field("language") or "en"),
            spoiler_text=str(call.field("spoiler_text") or ""),
            media=media,
        )
        for attachment in media:
            attachment.status_id = status.id
        self.statuses[status.id] = status
        if key:
            self.idempotency[key] = status.id
        return self._status_response(status, call)

    def get_status(self, call: Call) -> Response:
        status = self.statuses.get(call.path_params["id"])
        return self._status_response(status, call) if status else mastodon_error(404, "Record not found")

    def get_context(self, call: Call) -> Response:
        """Ancestors and descendants; the descendants are residents' replies (replies.py)."""
        status = self.statuses.get(call.path_params["id"])
        if status is None:
            return mastodon_error(404, "Record not found")
        site = f"{call.request.url.scheme}://{call.request.url.netloc}/mastodon"
        descendants = []
        for reply in replies.replies_for(self.name, status.id, status.created_at):
            reply_id = f"{status.id}{reply.n:03d}"
            descendants.append({
                "id": reply_id,
                "created_at": iso_millis(reply.created_at),
                "in_reply_to_id": status.id,
                "visibility": "public",
                "url": f"{site}/@{reply.handle}/{reply_id}",
                "uri": f"https://residents.example/users/{reply.handle}/statuses/{reply_id}",
                "content": _as_html(reply.text),
                "account": {"id": f"9{reply.n}", "username": reply.handle,
                            "acct": f"{reply.handle}@residents.example", "display_name": reply.name,
                            "url": f"https://residents.example/@{reply.handle}"},
            })
        return json_response({"ancestors": [], "descendants": descendants})

    def delete_status(self, call: Call) -> Response:
        status = self.statuses.pop(call.path_params["id"], None)
        if status is None:
            return mastodon_error(404, "Record not found")
        # Mastodon answers with the deleted status plus its source text, for "delete and redraft".
        return json_response({**self.status_json(status, call), "text": status.text})

    def account_statuses(self, call: Call) -> Response:
        if call.path_params["id"] != ACCOUNT_ID:
            return mastodon_error(404, "Record not found")
        try:
            limit = min(40, max(1, int(call.query.get("limit", "20"))))
        except ValueError:
            return mastodon_error(400, "limit must be a number")
        newest = sorted(self.statuses.values(), key=lambda s: int(s.id), reverse=True)
        max_id = call.query.get("max_id")
        if max_id and max_id.isdigit():
            newest = [s for s in newest if int(s.id) < int(max_id)]
        return json_response([self.status_json(s, call) for s in newest[:limit]])

    def _status_response(self, status: Status, call: Call) -> Response:
        return json_response(self.status_json(status, call))

    def status_json(self, status: Status, call: Call) -> dict[str, object]:
        # The status's page is served by this sandbox itself (sandbox/app.py),
        # so "view the post" opens something real, not a made-up host.
        url = f"{call.request.url.scheme}://{call.request.url.netloc}/mastodon/@cityofsandbox/{status.id}"
        counts = engagement.counts("mastodon", status.id, status.created_at, now())
        return {
            "id": status.id,
            "created_at": iso_millis(status.created_at),
            "in_reply_to_id": status.in_reply_to_id,
            "in_reply_to_account_id": ACCOUNT_ID if status.in_reply_to_id else None,
            "sensitive": bool(status.spoiler_text),
            "spoiler_text": status.spoiler_text,
            "visibility": status.visibility,
            "language": status.language,
            "uri": f"{self.base}/users/cityofsandbox/statuses/{status.id}",
            "url": url,
            "replies_count": counts["replies"],
            "reblogs_count": counts["reposts"],
            "favourites_count": counts["likes"],
            "quotes_count": counts["quotes"],
            "edited_at": None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
            "content": _as_html(status.text),
            "filtered": [],
            "reblog": None,
            "application": {"name": "civicpost", "website": None},
            "account": account_json(len(self.statuses)),
            "media_attachments": [a.as_json(self.base) for a in status.media],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    # --- media --------------------------------------------------------------------------
    def upload_media(self, call: Call) -> Response:
        upload = call.files.get("file")
        if upload is None or upload.size == 0:
            return mastodon_error(422, "Validation failed: File can't be blank")
        description = call.field("description")
        if description is not None and len(description) > 1500:
            return mastodon_error(422, "Validation failed: Description is too long (maximum is 1500 characters)")
        attachment = Attachment(self._ids.next(), upload, description)
        self.media[attachment.id] = attachment
        return json_response(attachment.as_json(self.base))  # images are processed synchronously: 200

    def get_media(self, call: Call) -> Response:
        attachment = self.media.get(call.path_params["id"])
        return json_response(attachment.as_json(self.base)) if attachment else mastodon_error(404, "Record not found")

    def update_media(self, call: Call) -> Response:
        attachment = self.media.get(call.path_params["id"])
        if attachment is None:
            return mastodon_error(404, "Record not found")
        if call.field("description") is not None:
            attachment.description = str(call.field("description"))
        return json_response(attachment.as_json(self.base))

    def post_pages(self) -> list[tuple[str, Callable[[Request], str]]]:
        return [("/mastodon/@{account}/{id}", lambda r: r.path_params["id"])]

    def timeline(self) -> list[TimelinePost]:
        return [
            TimelinePost(
                platform=self.name,
                id=s.id,
                text=s.text,
                created_at=s.created_at,
                alts=tuple(a.description or "" for a in s.media),
                reply_to=s.in_reply_to_id,
            )
            for s in self.statuses.values()
        ]


def _countable_length(text: str) -> int:
    """Mastodon counts grapheme clusters, and every URL as 23 characters."""
    shortened = _URL.sub("x" * URL_WEIGHT, text)
    return len(regex.findall(r"\X", shortened))


def _as_html(text: str) -> str:
    paragraphs = [p for p in text.split("\n\n") if p]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br />')}</p>" for p in paragraphs)
