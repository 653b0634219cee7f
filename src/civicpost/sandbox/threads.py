"""The Threads API as a publisher uses it, mounted at `/threads`.

`https://graph.threads.net/v1.0/{user}/threads` becomes
`{sandbox}/threads/v1.0/{user}/threads`. A post is a container (TEXT, IMAGE
from `image_url`, fetched from 127.0.0.1 only, see meta_media.py, or a
CAROUSEL of IMAGE items) published with `threads_publish`; `reply_to_id`
makes a reply, which is how a thread goes on. Containers stay IN_PROGRESS for
`processing_s` seconds (0 unless a test sets it). Text is held to 500
characters (emoji count their UTF-8 bytes) and 5 links, as on Threads. Posts
are shown at `/threads/@{username}/post/{shortcode}`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from civicpost.platforms.threads import LIMIT, LINKS, links, threads_length

from . import engagement
from .core import Call, TimelinePost, json_response
from .faults import Kind
from .ids import graph_time, now
from .meta_media import MetaFake, fetch_image, limit_of, meta_error, missing, shortcode, wanted_fields

USER = {"id": "25000000000000001", "username": "cityofsandbox", "name": "City of Sandbox"}
DAILY_LIMIT = 250
CAROUSEL_LIMIT = 20
IMAGES = frozenset({"image/jpeg", "image/png"})
_POST_FIELDS = ("id",)


@dataclass
class Container:
    id: str
    media_type: str  # TEXT, IMAGE or CAROUSEL
    text: str
    alt_text: str | None
    carousel_item: bool
    children: list[str]
    reply_to: str | None
    made: float  # time.monotonic()
    published: bool = False


@dataclass
class Post:
    id: str
    text: str
    media_type: str  # TEXT_POST, IMAGE or CAROUSEL_ALBUM, as Threads names published media
    shortcode: str
    created_at: datetime
    reply_to: str | None = None
    root: str | None = None
    alts: tuple[str, ...] = ()
    children: list[str] = field(default_factory=list)

    def as_json(self, wanted: tuple[str, ...], *, web_base: str) -> dict[str, object]:
        values: dict[str, object] = {
            "id": self.id,
            "text": self.text,
            "media_type": self.media_type,
            "media_product_type": "THREADS",
            "permalink": f"{web_base}/@{USER['username']}/post/{self.shortcode}",
            "shortcode": self.shortcode,
            "timestamp": graph_time(self.created_at),
            "username": USER["username"],
            "is_reply": self.reply_to is not None,
            "is_reply_owned_by_me": self.reply_to is not None,
            "replied_to": {"id": self.reply_to} if self.reply_to else None,
            "root_post": {"id": self.root} if self.root else None,
            "alt_text": self.alts[0] if len(self.alts) == 1 else None,
        }
        return {k: values[k] for k in wanted if values.get(k) is not None}


class ThreadsFake(MetaFake):
    name = "threads"
    title = "Threads"
    plays = ("threads",)
    default_quota = (4800, 24 * 3600)  # 4800 calls times impressions in 24 hours
    account = USER
    aliases = ("me",)
    daily_limit = DAILY_LIMIT
    first_id = 18000000000000000

    def reset(self) -> None:
        self.containers: dict[str, Container] = {}
        self.posts: dict[str, Post] = {}
        self.processing_s = 0.0

    def routes(self) -> list[Route]:
        return [
            Route("/@{username}", self.profile_page, methods=["GET"]),
            self.route("/{version}/me", self.account_json, methods=["GET"], kind=Kind.AUTH),
            self.route("/{version}/{user}/threads", self.create_container, methods=["POST"], kind=Kind.WRITE),
            self.route("/{version}/{user}/threads_publish", self.publish, methods=["POST"], kind=Kind.CREATE),
            self.route("/{version}/{user}/threads", self.list_threads, methods=["GET"], kind=Kind.READ),
            self.route("/{version}/{user}/threads_publishing_limit", self.publishing_limit, methods=["GET"],
                       kind=Kind.READ),
            self.route("/{version}/{media_id}/conversation", self.conversation, methods=["GET"], kind=Kind.READ),
            self.route("/{version}/{user}/threads_insights", self.account_insights, methods=["GET"], kind=Kind.READ),
            self.route("/{version}/{media_id}/insights", self.media_insights, methods=["GET"], kind=Kind.READ),
            self.route("/{version}/{node_id}", self.get_node, methods=["GET"], kind=Kind.READ),
            self.route("/{version}/{node_id}", self.delete_node, methods=["DELETE"], kind=Kind.WRITE),
        ]

    # --- publishing ------------------------------------------------------------------
    def media_insights(self, call: Call) -> Response:
        post = self.posts.get(call.path_params["media_id"])
        if post is None:
            return missing(call.path_params["media_id"], "post")
        got = engagement.counts("threads", post.id, post.created_at, now())
        names = [m for m in call.query.get("metric", "").split(",") if m]
        if not names or any(m not in got for m in names):
            return meta_error(400, "(#100) The value must be a valid insights metric", code=100)
        return json_response({"data": [{"name": m, "period": "lifetime", "values": [{"value": got[m]}],
                                        "id": f"{post.id}/insights/{m}/lifetime"} for m in names]})

    def account_insights(self, call: Call) -> Response:
        if call.query.get("metric") != "followers_count":
            return meta_error(400, "(#100) The value must be a valid insights metric", code=100)
        value = engagement.followers("threads", now())
        return json_response({"data": [{"name": "followers_count", "period": "day",
                                        "total_value": {"value": value}}]})

    def create_container(self, call: Call) -> Response:
        if (refused := self.not_the_account(call.path_params["user"], "post")) is not None:
            return refused
        media_type = str(call.field("media_type") or "").upper()
        text = str(call.field("text") or "")
        if media_type not in ("TEXT", "IMAGE", "CAROUSEL"):
            return meta_error(400, "(#100) The parameter media_type must be one of TEXT, IMAGE, VIDEO, CAROUSEL",
                              code=100)
        if media_type == "TEXT" and not text:
            return meta_error(400, "(#100) The parameter text is required for TEXT posts", code=100)
        if threads_length(text) > LIMIT:
            return meta_error(400, f"(#100) Param text must be at most {LIMIT} characters long.", code=100)
        if links(text) > LINKS:
            return meta_error(400, "THREADS_API__LINK_LIMIT_EXCEEDED: a post may hold at most 5 links.", code=100,
                              user_title="Too many links")
        reply_to = call.field("reply_to_id")
        if reply_to and str(reply_to) not in self.posts:
            return missing(str(reply_to), "post")
        item = str(call.field("is_carousel_item") or "").lower() == "true"
        children: list[str] = []
        if media_type == "CAROUSEL":
            children = [c for c in str(call.field("children") or "").split(",") if c]
            if not 2 <= len(children) <= CAROUSEL_LIMIT or any(
                    c not in self.containers or not self.containers[c].carousel_item for c in children):
                return meta_error(400, "(#100) A carousel needs 2 to 20 carousel item containers", code=100)
        elif media_type == "IMAGE":
            image = fetch_image(str(call.field("image_url") or ""), accepted=IMAGES)
            if isinstance(image, Response):
                return image
        container = Container(self._ids.next(), media_type, text, call.field("alt_text"), item, children,
                              str(reply_to) if reply_to else None, time.monotonic())
        self.containers[container.id] = container
        return json_response({"id": container.id})

    def publish(self, call: Call) -> Response:
        if (refused := self.not_the_account(call.path_params["user"], "post")) is not None:
            return refused
        container = self.containers.get(str(call.field("creation_id") or ""))
        if container is None or container.carousel_item or container.published:
            return missing(str(call.field("creation_id") or ""), "post")
        if self.state(container) == "IN_PROGRESS":
            return meta_error(400, "The media is not ready to be published. Please wait a moment.", code=24,
                              subcode=4279009, user_title="Media Not Ready")
        if self.over_daily_limit():
            return meta_error(400, "You reached the maximum number of posts that can be published in 24 hours.",
                              code=9, subcode=2207042)
        container.published = True
        items = [self.containers[c] for c in container.children] or [container]
        kind = {"TEXT": "TEXT_POST", "IMAGE": "IMAGE", "CAROUSEL": "CAROUSEL_ALBUM"}[container.media_type]
        root = None
        if container.reply_to:
            parent = self.posts[container.reply_to]
            root = parent.root or parent.id
        post = Post(self._ids.next(), container.text, kind, shortcode(), now(), container.reply_to, root,
                    tuple(i.alt_text or "" for i in items if i.media_type == "IMAGE"), list(container.children))
        self.posts[post.id] = post
        return json_response({"id": post.id})

    # --- reading -----------------------------------------------------------------------
    def list_threads(self, call: Call) -> Response:
        if (refused := self.not_the_account(call.path_params["user"], "get")) is not None:
            return refused
        limit = limit_of(call)
        if isinstance(limit, Response):
            return limit
        try:
            since = int(call.query.get("since", "0"))
        except ValueError:
            return meta_error(400, "(#100) The parameter since must be a unix timestamp", code=100)
        top = [p for p in self.posts.values() if p.reply_to is None and p.created_at.timestamp() >= since]
        newest = sorted(top, key=lambda p: p.created_at, reverse=True)[:limit]
        wanted = wanted_fields(call, _POST_FIELDS)
        return json_response({"data": [p.as_json(wanted, web_base=self.web_base(call)) for p in newest]})

    def conversation(self, call: Call) -> Response:
        root = call.path_params["media_id"]
        if root not in self.posts:
            return missing(root, "get")
        replies = sorted((p for p in self.posts.values() if p.root == root), key=lambda p: p.created_at,
                         reverse=call.query.get("reverse", "true").lower() != "false")
        wanted = wanted_fields(call, _POST_FIELDS)
        return json_response({"data": [p.as_json(wanted, web_base=self.web_base(call)) for p in replies]})

    def get_node(self, call: Call) -> Response:
        node_id = call.path_params["node_id"]
        if node_id == USER["id"]:
            return self.account_json(call)
        if node_id in self.containers:
            return self.container_json(call, self.containers[node_id], "status")
        if node_id in self.posts:
            wanted = wanted_fields(call, ("id",))
            return json_response(self.posts[node_id].as_json(wanted, web_base=self.web_base(call)))
        return missing(node_id, "get")

    def delete_node(self, call: Call) -> Response:
        node_id = call.path_params["node_id"]
        if self.posts.pop(node_id, None) is None:
            return missing(node_id, "delete")
        return json_response({"success": True, "deleted_id": node_id})

    # --- pages -------------------------------------------------------------------------
    def post_pages(self) -> list[tuple[str, Callable[[Request], str]]]:
        def post_id(request: Request) -> str:
            code = request.path_params["code"]
            return next((p.id for p in self.posts.values() if p.shortcode == code), "")

        return [("/threads/@{username}/post/{code}", post_id)]

    def timeline(self) -> list[TimelinePost]:
        return [TimelinePost(platform=self.name, id=p.id, text=p.text, created_at=p.created_at, alts=p.alts,
                             reply_to=p.reply_to) for p in self.posts.values()]


    def published_at(self) -> list[datetime]:
        return [p.created_at for p in self.posts.values() if p.reply_to is None]
