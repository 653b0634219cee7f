"""Instagram's content publishing API (Graph API), mounted at `/instagram`.

`https://graph.facebook.com/v25.0/{ig_user_id}/media` becomes
`{sandbox}/instagram/v25.0/{ig_user_id}/media`. A post is a container made
from `image_url` (fetched from 127.0.0.1 only, see meta_media.py), published
with `media_publish`; several item containers make a CAROUSEL. Containers stay
IN_PROGRESS for `processing_s` seconds (0 unless a test sets it), published
media cannot be deleted, and at most 50 are published in 24 hours, as on
Instagram. Posts are shown at `/instagram/p/{shortcode}/`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import engagement
from .core import Call, TimelinePost, json_response
from .faults import Kind
from .ids import graph_time, now
from .meta_media import MetaFake, fetch_image, limit_of, meta_error, missing, shortcode, wanted_fields

ACCOUNT = {"id": "17841400000000001", "username": "cityofsandbox", "name": "City of Sandbox"}
DAILY_LIMIT = 50
CAPTION_LIMIT = 2_200
CAROUSEL_LIMIT = 10
JPEG = frozenset({"image/jpeg"})
_MEDIA_FIELDS = ("id",)


@dataclass
class Container:
    id: str
    media_type: str  # IMAGE, or CAROUSEL for the parent of carousel items
    caption: str
    alt_text: str | None
    carousel_item: bool
    children: list[str]
    made: float  # time.monotonic()
    published: bool = False


@dataclass
class Media:
    id: str
    caption: str
    media_type: str  # IMAGE or CAROUSEL_ALBUM
    shortcode: str
    created_at: datetime
    alts: tuple[str, ...] = ()
    children: list[str] = field(default_factory=list)

    def as_json(self, wanted: tuple[str, ...], *, web_base: str) -> dict[str, object]:
        values: dict[str, object] = {
            "id": self.id,
            "caption": self.caption,
            "media_type": self.media_type,
            "media_product_type": "FEED",
            "permalink": f"{web_base}/p/{self.shortcode}/",
            "shortcode": self.shortcode,
            "timestamp": graph_time(self.created_at),
            "username": ACCOUNT["username"],
        }
        return {k: values[k] for k in wanted if k in values}


class InstagramFake(MetaFake):
    name = "instagram"
    title = "Instagram"
    plays = ("instagram",)
    default_quota = (4800, 24 * 3600)  # BUC: 4800 calls times impressions in 24 hours
    account = ACCOUNT
    daily_limit = DAILY_LIMIT
    first_id = 17900000000000000

    def reset(self) -> None:
        self.containers: dict[str, Container] = {}
        self.media: dict[str, Media] = {}
        self.processing_s = 0.0

    def routes(self) -> list[Route]:
        return [
            Route("/{username}/", self.profile_page, methods=["GET"]),
            self.route("/{version}/{user}/media", self.create_container, methods=["POST"], kind=Kind.WRITE),
            self.route("/{version}/{user}/media_publish", self.publish, methods=["POST"], kind=Kind.CREATE),
            self.route("/{version}/{user}/media", self.list_media, methods=["GET"], kind=Kind.READ),
            self.route("/{version}/{user}/content_publishing_limit", self.publishing_limit, methods=["GET"],
                       kind=Kind.READ),
            self.route("/{version}/{node_id}", self.get_node, methods=["GET"], kind=Kind.READ),
            self.route("/{version}/{node_id}", self.delete_node, methods=["DELETE"], kind=Kind.WRITE),
        ]

    # --- publishing ------------------------------------------------------------------
    def create_container(self, call: Call) -> Response:
        if (refused := self.not_the_account(call.path_params["user"], "post")) is not None:
            return refused
        caption = str(call.field("caption") or "")
        if len(caption.encode("utf-16-le")) // 2 > CAPTION_LIMIT:
            return meta_error(400, "The caption is too long.", code=100, subcode=2207010,
                              user_title="Caption too long", user_msg="The caption may be at most 2200 characters.")
        if str(call.field("media_type") or "").upper() == "CAROUSEL":
            return self._carousel(call, caption)
        url = str(call.field("image_url") or "")
        if not url:
            return meta_error(400, "(#100) The parameter image_url is required", code=100)
        image = fetch_image(url, accepted=JPEG)
        if isinstance(image, Response):
            return image
        item = str(call.field("is_carousel_item") or "").lower() == "true"
        container = Container(self._ids.next(), "IMAGE", "" if item else caption, call.field("alt_text"), item, [],
                              time.monotonic())
        self.containers[container.id] = container
        return json_response({"id": container.id})

    def _carousel(self, call: Call, caption: str) -> Response:
        children = [c for c in str(call.field("children") or "").split(",") if c]
        if not 2 <= len(children) <= CAROUSEL_LIMIT:
            return meta_error(400, "The carousel must have between 2 and 10 children.", code=100, subcode=2207028,
                              user_title="Carousel validation failed")
        for child in children:
            known = self.containers.get(child)
            if known is None or not known.carousel_item:
                return meta_error(400, f"(#100) Invalid children container {child}", code=100)
        container = Container(self._ids.next(), "CAROUSEL", caption, None, False, children, time.monotonic())
        self.containers[container.id] = container
        return json_response({"id": container.id})

    def publish(self, call: Call) -> Response:
        if (refused := self.not_the_account(call.path_params["user"], "post")) is not None:
            return refused
        container = self.containers.get(str(call.field("creation_id") or ""))
        if container is None or container.carousel_item:
            return meta_error(400, "Media ID is not available", code=9007, subcode=2207006,
                              user_title="Media not found", user_msg="The media with this id cannot be found.")
        if container.published:
            return meta_error(400, "The media has already been published.", code=9007, subcode=2207001)
        if self.state(container) == "IN_PROGRESS":
            return meta_error(400, "Media ID is not available", code=9007, subcode=2207027,
                              user_title="Media not ready for publishing",
                              user_msg="The media is not ready for publishing, please wait for a moment")
        if self.over_daily_limit():
            return meta_error(400, "Application request limit reached", code=9, subcode=2207042,
                              user_title="Publishing limit reached",
                              user_msg="You reached maximum number of posts that is allowed to be published "
                                       "by Content Publishing API.")
        container.published = True
        items = [self.containers[c] for c in container.children] or [container]
        media = Media(self._ids.next(), container.caption, "CAROUSEL_ALBUM" if container.children else "IMAGE",
                      shortcode(), now(), tuple(i.alt_text or "" for i in items), list(container.children))
        self.media[media.id] = media
        return json_response({"id": media.id})

    # --- reading -----------------------------------------------------------------------
    def list_media(self, call: Call) -> Response:
        if (refused := self.not_the_account(call.path_params["user"], "get")) is not None:
            return refused
        limit = limit_of(call)
        if isinstance(limit, Response):
            return limit
        newest = sorted(self.media.values(), key=lambda m: m.created_at, reverse=True)[:limit]
        wanted = wanted_fields(call, _MEDIA_FIELDS)
        return json_response({"data": [m.as_json(wanted, web_base=self.web_base(call)) for m in newest]})

    def get_node(self, call: Call) -> Response:
        node_id = call.path_params["node_id"]
        asked = set(call.query.get("fields", "").split(","))
        if node_id == ACCOUNT["id"]:
            if "followers_count" in asked:
                return json_response({"id": node_id, "followers_count": engagement.followers("instagram", now())})
            return self.account_json(call)
        if node_id in self.containers:
            return self.container_json(call, self.containers[node_id], "status_code", "status")
        if node_id in self.media and asked & {"like_count", "comments_count"}:
            media = self.media[node_id]
            got = engagement.counts("instagram", media.id, media.created_at, now())
            return json_response({"id": media.id, "like_count": got["likes"], "comments_count": got["replies"]})
        if node_id in self.media:
            return json_response(self.media[node_id].as_json(wanted_fields(call, _MEDIA_FIELDS),
                                                              web_base=self.web_base(call)))
        return missing(node_id, "get")

    def delete_node(self, call: Call) -> Response:
        # Instagram's API does not delete published media.
        return meta_error(400, "Unsupported delete request.", code=100, type_="GraphMethodException")

    # --- pages -------------------------------------------------------------------------
    def post_pages(self) -> list[tuple[str, Callable[[Request], str]]]:
        def media_id(request: Request) -> str:
            code = request.path_params["code"]
            return next((m.id for m in self.media.values() if m.shortcode == code), "")

        return [("/instagram/p/{code}/", media_id)]

    def timeline(self) -> list[TimelinePost]:
        return [TimelinePost(platform=self.name, id=m.id, text=m.caption, created_at=m.created_at, alts=m.alts)
                for m in self.media.values()]

    def published_at(self) -> list[datetime]:
        return [m.created_at for m in self.media.values()]
