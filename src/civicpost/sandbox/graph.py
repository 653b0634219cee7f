"""The Facebook Graph API calls a Page publisher makes, mounted at `/graph`.

`https://graph.facebook.com/v21.0/{page_id}/feed` becomes
`{sandbox}/graph/v21.0/{page_id}/feed`. The token must come in the
`Authorization` header: one in the query string is refused, so a client that
would leak it into URLs (and so into proxy logs) fails its tests here.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import engagement, replies
from .core import Call, Hub, PlatformFake, TimelinePost, json_response
from .faults import Kind, PlatformFaults
from .ids import Counter, graph_time, now

PAGE = {"id": "102030405060708", "name": "City of Sandbox"}
_DEFAULT_POST_FIELDS = ("created_time", "message", "id")
# The Page insights metrics a post of the sandbox knows; Meta's others answer (#100) as retired ones do.
POST_INSIGHTS = {"post_impressions": 30, "post_impressions_unique": 20, "post_clicks": 2}
_THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    32: "(#32) Page request limit reached",
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try again.",
}


@dataclass
class Post:
    id: str  # "<page_id>_<post_id>", as Graph names Page posts
    page_id: str
    message: str
    created_at: datetime
    link: str | None = None
    photo_ids: list[str] = field(default_factory=list)

    def as_json(self, wanted: tuple[str, ...], *, web_base: str) -> dict[str, object]:
        page_id, post_id = self.id.split("_", 1)
        values: dict[str, object] = {
            "id": self.id,
            "message": self.message,
            "created_time": graph_time(self.created_at),
            "permalink_url": f"{web_base}/{page_id}/posts/{post_id}",
            "link": self.link,
            "is_published": True,
        }
        return {k: values[k] for k in wanted if k in values and values[k] is not None}


@dataclass
class Photo:
    id: str
    page_id: str
    caption: str
    alt_text: str | None
    published: bool
    post_id: str | None = None


def graph_error(
    status: int,
    message: str,
    *,
    code: int,
    type_: str = "OAuthException",
    subcode: int | None = None,
    transient: bool = False,
) -> Response:
    error: dict[str, object] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["is_transient"] = transient
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(15)
    headers = {"www-authenticate": f'OAuth "Facebook Platform" "invalid_token" "{message}"'} if code == 190 else {}
    return json_response({"error": error}, status, headers)


class GraphFake(PlatformFake):
    name = "graph"
    title = "Facebook Page"
    plays = ('facebook',)
    default_quota = (4800, 24 * 3600)  # a Page token's BUC share: 4800 × engaged users / 24 h

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        # Numbered from the clock, as Graph ids grow: a restarted sandbox never
        # hands out an id (and a permalink) it gave before.
        self._ids = Counter(122100000000000001 + int(time.time() * 1000) * 1000)
        self.reset()

    def reset(self) -> None:
        self.posts: dict[str, Post] = {}
        self.moderation = replies.Moderation()
        self.photos: dict[str, Photo] = {}

    def routes(self) -> list[Route]:
        return [
            self.route("/{version}/me", self.get_me, methods=["GET"], kind=Kind.AUTH),
            self.route("/{version}/debug_token", self.debug_token, methods=["GET"], kind=Kind.AUTH),
            self.route("/{version}/{page_id}/feed", self.create_post, methods=["POST"], kind=Kind.CREATE),
            self.route("/{version}/{page_id}/photos", self.create_photo, methods=["POST"], kind=Kind.CREATE),
            self.route("/{version}/{page_id}/posts", self.list_posts, methods=["GET"], kind=Kind.READ),
            self.route("/{version}/{page_id}/feed", self.list_posts, methods=["GET"], kind=Kind.READ),
            self.route("/{version}/", self.get_nodes, methods=["GET"], kind=Kind.READ),
            self.route("/{version}/{node_id}/insights", self.post_insights, methods=["GET"], kind=Kind.READ),
            self.route("/{version}/{node_id}/comments", self.list_comments, methods=["GET"], kind=Kind.READ),
            self.route("/{version}/{node_id}", self.get_node, methods=["GET"], kind=Kind.READ),
            self.route("/{version}/{node_id}", self.update_comment, methods=["POST"], kind=Kind.WRITE),
            self.route("/{version}/{node_id}", self.delete_node, methods=["DELETE"], kind=Kind.WRITE),
        ]

    # --- credentials, errors, quota ----------------------------------------------
    def authenticate(self, call: Call) -> Response | None:
        if "access_token" in call.request.query_params:
            return graph_error(
                400,
                "(#100) civicpost sandbox refuses access_token in the URL: send it in the Authorization header.",
                code=100,
            )
        scheme, _, token = (call.header("authorization") or "").partition(" ")
        token = token.strip() if scheme.lower() in ("bearer", "oauth") else ""
        if not token:
            token = str(call.field("access_token") or "")  # Graph also reads it from a POST body
        if not token:
            return graph_error(400, "An access token is required to request this resource.", code=104)
        if token == "bad":
            return graph_error(400, "Invalid OAuth access token - Cannot parse access token", code=190)
        return None

    def error_response(self, status: int) -> Response:
        if status < 500:
            # A refusal for good: Graph's invalid-parameter error, which is not transient.
            return graph_error(status, "(#100) Invalid parameter", code=100)
        if status == 504:
            return graph_error(504, "Request timed out. Please retry.", code=2, transient=True)
        return graph_error(
            status, "An unexpected error has occurred. Please retry your request later.", code=2, transient=True
        )

    def rate_limited(self, reset_at: int, faults: PlatformFaults) -> Response:
        code = faults.graph_throttle_code
        response = graph_error(
            faults.rate_limit_status or 400,
            _THROTTLE_MESSAGES.get(code, f"(#{code}) Request limit reached"),
            code=code,
            transient=True,
        )
        minutes = max(1, -(-faults.rate_limit_reset_s // 60))
        if code == 4:
            response.headers["x-app-usage"] = json.dumps({"call_count": 100, "total_cputime": 25, "total_time": 25})
        else:
            usage = {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 30,
                "total_time": 30,
                "estimated_time_to_regain_access": minutes,
            }
            response.headers["x-business-use-case-usage"] = json.dumps({PAGE["id"]: [usage]})
        return response

    def quota_headers(self, limit: int, remaining: int, reset_at: int) -> dict[str, str]:
        percent = round(100 * (limit - remaining) / limit) if limit else 0
        usage = {"type": "pages", "call_count": percent, "total_cputime": 0, "total_time": percent,
                 "estimated_time_to_regain_access": 0}  # fmt: skip
        return {"x-business-use-case-usage": json.dumps({PAGE["id"]: [usage]})}

    # --- the Page --------------------------------------------------------------------
    def get_me(self, call: Call) -> Response:
        return json_response(PAGE)

    def debug_token(self, call: Call) -> Response:
        """A Page token never expires by itself; its data access lasts 90 days from the
        grant (a token with "expiring" in it: 5 days left, to try the weekly warning)."""
        token = str(call.query.get("input_token") or "")
        if not token:
            return graph_error(400, "(#100) The parameter input_token is required", code=100)
        days = 5 if "expiring" in token else 90
        return json_response({"data": {
            "app_id": "1234567890", "type": "PAGE", "application": "civicpost sandbox", "is_valid": True,
            "profile_id": PAGE["id"], "issued_at": int(time.time()) - 86400, "expires_at": 0,
            "data_access_expires_at": int(time.time()) + days * 86400,
            "scopes": ["pages_manage_posts", "pages_read_engagement"]}})

    def create_post(self, call: Call) -> Response:
        page_id = call.path_params["page_id"]
        message = str(call.field("message") or "")
        link = call.field("link")
        attached = self._attached_photo_ids(call)
        if isinstance(attached, Response):
            return attached
        if not message and not link and not attached:
            return graph_error(400, "(#100) Missing message or attachment", code=100, type_="OAuthException")
        post = Post(f"{page_id}_{self._ids.next()}", page_id, message, now(), link, attached)
        for photo_id in attached:
            self.photos[photo_id].post_id = post.id
        self.posts[post.id] = post
        return json_response({"id": post.id})

    def _attached_photo_ids(self, call: Call) -> list[str] | Response:
        raw: list[object] = []
        if isinstance(call.json, dict) and isinstance(call.json.get("attached_media"), list):
            raw = call.json["attached_media"]
        else:
            keys = sorted(k for k in call.form if k.startswith("attached_media["))
            raw = [call.form[k][-1] for k in keys]
        ids = []
        for item in raw:
            try:
                media = json.loads(item) if isinstance(item, str) else item
                photo_id = str(media["media_fbid"])  # type: ignore[index]
            except (ValueError, KeyError, TypeError):
                return graph_error(400, "(#100) param attached_media must be an array of objects", code=100)
            if photo_id not in self.photos:
                return graph_error(400, f"(#100) Invalid media_fbid {photo_id}", code=100)
            ids.append(photo_id)
        return ids

    def create_photo(self, call: Call) -> Response:
        page_id = call.path_params["page_id"]
        if "source" not in call.files and not call.field("url"):
            return graph_error(400, "(#324) Requires upload file", code=324)
        published = str(call.field("published") or "true").lower() not in ("false", "0")
        caption = str(call.field("caption") or call.field("message") or "")
        photo = Photo(self._ids.next(), page_id, caption, call.field("alt_text_custom"), published)
        self.photos[photo.id] = photo
        if not published:
            return json_response({"id": photo.id})
        post = Post(f"{page_id}_{self._ids.next()}", page_id, caption, now(), None, [photo.id])
        photo.post_id = post.id
        self.posts[post.id] = post
        return json_response({"id": photo.id, "post_id": post.id})

    def list_posts(self, call: Call) -> Response:
        page_id = call.path_params["page_id"]
        wanted = tuple(f for f in call.query.get("fields", "").split(",") if f) or _DEFAULT_POST_FIELDS
        try:
            limit = min(100, max(1, int(call.query.get("limit", "25"))))
        except ValueError:
            return graph_error(400, "(#100) The parameter limit must be an integer", code=100)
        posts = sorted(
            (p for p in self.posts.values() if p.page_id == page_id), key=lambda p: p.created_at, reverse=True
        )[:limit]
        return json_response({"data": [p.as_json(wanted, web_base=_web_base(call)) for p in posts]})

    def get_node(self, call: Call) -> Response:
        node_id = call.path_params["node_id"]
        wanted = tuple(f for f in call.query.get("fields", "").split(",") if f) or _DEFAULT_POST_FIELDS
        if node_id == PAGE["id"]:
            if "followers_count" in wanted:
                return json_response({**PAGE, "followers_count": engagement.followers("facebook", now())})
            return json_response(PAGE)
        if node_id in self.posts:
            return json_response(self._post_json(self.posts[node_id], wanted, call))
        if node_id in self.photos:
            photo = self.photos[node_id]
            return json_response({"id": photo.id, "name": photo.caption, "alt_text_custom": photo.alt_text})
        return _missing(node_id, "get")

    def get_nodes(self, call: Call) -> Response:
        """GET /?ids=a,b: several posts in one call; one id that does not exist fails the whole call, as on Graph."""
        ids = [i for i in call.query.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 50:
            return graph_error(400, "(#100) The parameter ids must name between 1 and 50 objects", code=100)
        missing = [i for i in ids if i not in self.posts]
        if missing:
            return graph_error(404, f"(#803) Some of the aliases you requested do not exist: {missing[0]}", code=100)
        wanted = tuple(f for f in call.query.get("fields", "").split(",") if f) or _DEFAULT_POST_FIELDS
        return json_response({i: self._post_json(self.posts[i], wanted, call) for i in ids})

    def post_insights(self, call: Call) -> Response:
        post = self.posts.get(call.path_params["node_id"])
        if post is None:
            return _missing(call.path_params["node_id"], "get")
        names = [m for m in call.query.get("metric", "").split(",") if m]
        unknown = [m for m in names if m not in POST_INSIGHTS]
        if not names or unknown:
            return graph_error(400, "(#100) The value must be a valid insights metric", code=100)
        engaged = sum(engagement.counts("facebook", post.id, post.created_at, now()).values()) // 31
        data = [{"name": m, "period": "lifetime", "values": [{"value": engaged * POST_INSIGHTS[m]}],
                 "id": f"{post.id}/insights/{m}/lifetime"} for m in names]  # fmt: skip
        return json_response({"data": data})

    def _post_json(self, post: Post, wanted: tuple[str, ...], call: Call) -> dict[str, object]:
        found = post.as_json(wanted, web_base=_web_base(call))
        named = {f.split(".", 1)[0] for f in wanted}
        if named & {"reactions", "comments", "shares"}:
            got = engagement.counts("facebook", post.id, post.created_at, now())
            found |= {"reactions": {"data": [], "summary": {"total_count": got["likes"]}},
                      "comments": {"data": [], "summary": {"total_count": got["replies"]}},
                      "shares": {"count": got["reposts"]}}
        return found

    # --- residents' comments (replies.py) ----------------------------------------------
    def _comments(self, post: Post, call: Call) -> list[dict[str, object]]:
        page_id, number = post.id.split("_", 1)
        found = []
        for reply in replies.replies_for("facebook", post.id, post.created_at):
            comment_id = f"{number}_{number}{reply.n:03d}"
            if comment_id in self.moderation.deleted:
                continue
            person = replies.PEOPLE.index((reply.handle, reply.name))
            found.append({"id": comment_id, "message": reply.text, "created_time": graph_time(reply.created_at),
                          "from": {"id": str(5550000 + person), "name": reply.name},
                          "permalink_url": f"{_web_base(call)}/{page_id}/posts/{number}?comment_id={comment_id}",
                          "is_hidden": comment_id in self.moderation.hidden})
        return found

    def _comment(self, node_id: str, call: Call) -> dict[str, object] | None:
        number = node_id.split("_", 1)[0]
        post = next((p for p in self.posts.values() if p.id.endswith(f"_{number}")), None)
        found = self._comments(post, call) if post else []
        return next((c for c in found if c["id"] == node_id), None)

    def list_comments(self, call: Call) -> Response:
        post = self.posts.get(call.path_params["node_id"])
        if post is None:
            return _missing(call.path_params["node_id"], "get")
        return json_response({"data": self._comments(post, call), "paging": {}})

    def update_comment(self, call: Call) -> Response:
        """POST /{comment-id} with is_hidden=true|false: the Page hides a comment from everyone but its author."""
        node_id = call.path_params["node_id"]
        if self._comment(node_id, call) is None:
            return _missing(node_id, "post")
        hidden = str(call.field("is_hidden")).lower()
        if hidden not in ("true", "false"):
            return graph_error(400, "(#100) Param is_hidden must be a boolean", code=100)
        (self.moderation.hidden.add if hidden == "true" else self.moderation.hidden.discard)(node_id)
        return json_response({"success": True})

    def delete_node(self, call: Call) -> Response:
        node_id = call.path_params["node_id"]
        if node_id not in self.posts and self._comment(node_id, call) is not None:
            self.moderation.deleted.add(node_id)
            return json_response({"success": True})
        if self.posts.pop(node_id, None) is None and self.photos.pop(node_id, None) is None:
            return _missing(node_id, "delete")
        return json_response({"success": True})

    def post_pages(self) -> list[tuple[str, Callable[[Request], str]]]:
        return [("/facebook/{page}/posts/{post}", lambda r: f"{r.path_params['page']}_{r.path_params['post']}")]

    def timeline(self) -> list[TimelinePost]:
        return [
            TimelinePost(
                platform=self.name,
                id=p.id,
                text=p.message,
                created_at=p.created_at,
                alts=tuple(self.photos[i].alt_text or "" for i in p.photo_ids if i in self.photos),
                link=p.link,
            )
            for p in self.posts.values()
        ]


def _web_base(call: Call) -> str:
    """Where this sandbox shows a Page's posts (Facebook's own site, played locally)."""
    url = call.request.url
    return f"{url.scheme}://{url.netloc}/facebook"


def _missing(node_id: str, verb: str) -> Response:
    return graph_error(
        400,
        f"Unsupported {verb} request. Object with ID '{node_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation.",
        code=100,
        subcode=33,
        type_="GraphMethodException",
    )
