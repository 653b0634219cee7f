"""X API v2, as tweepy's `Client` and our own media upload call it.

Mounted at `/x`, so `https://api.twitter.com/2/tweets` becomes
`{sandbox}/x/2/tweets`. Errors are RFC 7807 problem objects, the shape X
answers with on v2 (`detail`, `title`, `type`, `status`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import engagement, replies
from .core import Call, Hub, PlatformFake, TimelinePost, json_response
from .faults import Kind, PlatformFaults
from .ids import iso_millis, now, x_ids

USER = {"id": "1700000000000000001", "name": "City of Sandbox", "username": "cityofsandbox"}
DUPLICATE_WINDOW = timedelta(hours=24)
_OAUTH_PARAM = re.compile(r'(oauth_[a-z_]+)="([^"]*)"')
_TITLES = {
    400: "Invalid Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Tweet:
    id: str
    text: str
    created_at: datetime
    reply_to: str | None = None
    media_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "text": self.text, "edit_history_tweet_ids": [self.id]}


@dataclass
class Media:
    id: str
    size: int
    media_type: str
    alt_text: str | None = None


def problem(status: int, detail: str, *, extra: dict[str, object] | None = None) -> Response:
    body: dict[str, object] = {"title": _TITLES.get(status, "Error"), "detail": detail, "type": "about:blank"}
    body["status"] = status
    body.update(extra or {})
    return json_response(body, status)


class XFake(PlatformFake):
    name = "x"
    title = "X"
    plays = ('x',)
    default_quota = (100, 15 * 60)  # POST /2/tweets per user per 15 minutes

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        self._ids = x_ids()
        self.reset()

    def reset(self) -> None:
        self.tweets: dict[str, Tweet] = {}
        self.media: dict[str, Media] = {}
        # text -> newest live tweet with it: the duplicate check stays O(1) under load.
        self._by_text: dict[str, str] = {}
        self.moderation = replies.Moderation()

    def routes(self) -> list[Route]:
        return [
            self.route("/2/tweets", self.create_tweet, methods=["POST"], kind=Kind.CREATE),
            self.route("/2/tweets", self.get_tweets, methods=["GET"], kind=Kind.READ),
            self.route("/2/tweets/search/recent", self.search_recent, methods=["GET"], kind=Kind.READ),
            self.route("/2/tweets/{id}/hidden", self.hide_reply, methods=["PUT"], kind=Kind.WRITE),
            self.route("/2/tweets/{id}", self.delete_tweet, methods=["DELETE"], kind=Kind.WRITE),
            self.route("/2/tweets/{id}", self.get_tweet, methods=["GET"], kind=Kind.READ),
            self.route("/2/users/me", self.get_me, methods=["GET"], kind=Kind.AUTH),
            self.route("/2/users/{id}/tweets", self.user_tweets, methods=["GET"], kind=Kind.READ),
            self.route("/2/media/upload", self.upload_media, methods=["POST"], kind=Kind.WRITE),
            self.route("/2/media/metadata", self.media_metadata, methods=["POST"], kind=Kind.WRITE),
            self.route("/2/media/metadata/create", self.media_metadata, methods=["POST"], kind=Kind.WRITE),
        ]

    # --- credentials, errors, quota ----------------------------------------------
    def authenticate(self, call: Call) -> Response | None:
        header = call.header("authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "oauth":
            params = dict(_OAUTH_PARAM.findall(value))
            credentials = [params.get("oauth_consumer_key"), params.get("oauth_token")]
        elif scheme.lower() == "bearer":
            credentials = [value.strip()]
        else:
            credentials = []
        if not credentials or any(not c or c == "bad" for c in credentials):
            return problem(401, "Unauthorized")
        return None

    def error_response(self, status: int) -> Response:
        if status == 400:
            return problem(400, "One or more parameters to your request was invalid.",
                           extra={"type": "https://api.twitter.com/2/problems/invalid-request"})
        return problem(status, _TITLES.get(status, "Error"))

    def rate_limited(self, reset_at: int, faults: PlatformFaults) -> Response:
        response = problem(faults.rate_limit_status or 429, "Too Many Requests")
        response.headers.update(self.quota_headers(self.default_quota[0], 0, reset_at))
        return response

    def quota_headers(self, limit: int, remaining: int, reset_at: int) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(reset_at),
        }

    # --- tweets ----------------------------------------------------------------------
    def create_tweet(self, call: Call) -> Response:
        if not isinstance(call.json, dict):
            return problem(400, "The request body must be a JSON object.")
        text = call.json.get("text")
        media_ids = [str(m) for m in (call.json.get("media") or {}).get("media_ids", [])]
        reply_to = (call.json.get("reply") or {}).get("in_reply_to_tweet_id")
        if not text and not media_ids:
            return problem(400, "One or more parameters to your request was invalid.")
        unknown = [m for m in media_ids if m not in self.media]
        if unknown:
            return problem(400, f"Your media IDs are invalid: {', '.join(unknown)}")
        if reply_to is not None and str(reply_to) not in self.tweets:
            return problem(403, "You attempted to reply to a Tweet that is deleted or not visible to you.")
        moment = now()
        if text and self._is_duplicate(text, moment):
            return problem(403, "You are not allowed to create a Tweet with duplicate content.")
        tweet = Tweet(self._ids.next(), text or "", moment, str(reply_to) if reply_to else None, media_ids)
        self.tweets[tweet.id] = tweet
        if tweet.text:
            self._by_text[tweet.text] = tweet.id
        return json_response({"data": tweet.as_json()}, 201)

    def _is_duplicate(self, text: str, moment: datetime) -> bool:
        earlier = self.tweets.get(self._by_text.get(text, ""))
        return earlier is not None and moment - earlier.created_at < DUPLICATE_WINDOW

    def delete_tweet(self, call: Call) -> Response:
        # X answers deleted: true for a tweet it can no longer find as well.
        tweet = self.tweets.pop(call.path_params["id"], None)
        if tweet is not None and self._by_text.get(tweet.text) == tweet.id:
            del self._by_text[tweet.text]
        return json_response({"data": {"deleted": True}})

    def get_tweet(self, call: Call) -> Response:
        tweet = self.tweets.get(call.path_params["id"])
        if tweet is None:
            tweet_id = call.path_params["id"]
            error = {
                "value": tweet_id,
                "detail": f"Could not find tweet with id: [{tweet_id}].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "id",
                "resource_id": tweet_id,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
            return json_response({"errors": [error]})
        return json_response({"data": tweet.as_json()})

    def search_recent(self, call: Call) -> Response:
        """`conversation_id:ID` finds residents' replies (replies.py). An app on the free access
        level (consumer key "free") may not search, as on X."""
        if "oauth_consumer_key=\"free\"" in (call.header("authorization") or ""):
            return problem(403, "When authenticating requests to the Twitter API v2 endpoints, you must use keys and "
                           "tokens from a Twitter developer App that is attached to a Project.",
                           extra={"title": "Client Forbidden", "reason": "client-not-enrolled",
                                  "type": "https://api.twitter.com/2/problems/client-forbidden"})
        match = re.fullmatch(r"conversation_id:(\d+)", call.query.get("query", "").strip())
        if match is None:
            return problem(400, "Only conversation_id:ID queries are answered by the sandbox")
        tweet = self.tweets.get(match.group(1))
        found = replies.replies_for(self.name, tweet.id, tweet.created_at) if tweet else []
        data, users = [], {}
        for reply in found:
            reply_id = f"{tweet.id}{reply.n:03d}" if tweet else ""
            user_id = str(1000 + replies.PEOPLE.index((reply.handle, reply.name)))
            users[user_id] = {"id": user_id, "username": reply.handle.replace(".", "_"), "name": reply.name}
            data.append({"id": reply_id, "text": f"@{USER['username']} {reply.text}", "author_id": user_id,
                         "conversation_id": match.group(1), "created_at": iso_millis(reply.created_at),
                         "edit_history_tweet_ids": [reply_id]})
        if not data:
            return json_response({"meta": {"result_count": 0}})
        return json_response({"data": data, "includes": {"users": list(users.values())},
                              "meta": {"result_count": len(data), "newest_id": data[-1]["id"],
                                       "oldest_id": data[0]["id"]}})

    def hide_reply(self, call: Call) -> Response:
        """PUT /2/tweets/:id/hidden: only with an OAuth 2.0 user token, as on X."""
        if not (call.header("authorization") or "").lower().startswith("bearer "):
            return problem(403, "Authenticating with OAuth 1.0a User Context is forbidden for this endpoint.",
                           extra={"title": "Unsupported Authentication", "reason": "unsupported-authentication",
                                  "type": "https://api.twitter.com/2/problems/unsupported-authentication"})
        hidden = bool(call.field("hidden"))
        if hidden:
            self.moderation.hidden.add(call.path_params["id"])
        else:
            self.moderation.hidden.discard(call.path_params["id"])
        return json_response({"data": {"hidden": hidden}})

    def get_me(self, call: Call) -> Response:
        if "public_metrics" in call.query.get("user.fields", "").split(","):
            metrics = {"followers_count": engagement.followers("x", now()), "following_count": 12}
            return json_response({"data": {**USER, "public_metrics": metrics}})
        return json_response({"data": USER})

    def get_tweets(self, call: Call) -> Response:
        ids = [i for i in call.query.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            return problem(400, "The `ids` query parameter value must name between 1 and 100 posts")
        found = [self.tweets[i] for i in ids if i in self.tweets]
        with_metrics = "public_metrics" in call.query.get("tweet.fields", "").split(",")
        data = [{**t.as_json(), **({"public_metrics": self.public_metrics(t)} if with_metrics else {})} for t in found]
        errors = [{"value": i, "detail": f"Could not find tweet with ids: [{i}].", "title": "Not Found Error",
                   "resource_type": "tweet", "parameter": "ids", "resource_id": i,
                   "type": "https://api.twitter.com/2/problems/resource-not-found"}
                  for i in ids if i not in self.tweets]  # fmt: skip
        return json_response({**({"data": data} if data else {}), **({"errors": errors} if errors else {})})

    @staticmethod
    def public_metrics(tweet: Tweet) -> dict[str, int]:
        got = engagement.counts("x", tweet.id, tweet.created_at, now())
        return {"retweet_count": got["reposts"], "reply_count": got["replies"], "like_count": got["likes"],
                "quote_count": got["quotes"], "bookmark_count": 0, "impression_count": got["views"]}

    def user_tweets(self, call: Call) -> Response:
        if call.path_params["id"] != USER["id"]:
            return json_response({"data": [], "meta": {"result_count": 0}})
        try:
            limit = min(100, max(5, int(call.query.get("max_results", "10"))))
        except ValueError:
            return problem(400, "The `max_results` query parameter value is not valid")
        recent = sorted(self.tweets.values(), key=lambda t: int(t.id), reverse=True)[:limit]
        if not recent:
            return json_response({"meta": {"result_count": 0}})
        fields = set(call.query.get("tweet.fields", "").split(","))
        data = [
            {**t.as_json(), **({"created_at": iso_millis(t.created_at)} if "created_at" in fields else {})}
            for t in recent
        ]
        meta = {"result_count": len(data), "newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
        return json_response({"data": data, "meta": meta})

    # --- media ------------------------------------------------------------------------
    def upload_media(self, call: Call) -> Response:
        """Simple upload: multipart `media`, or JSON with base64 `media` (current docs)."""
        if "media" in call.files:
            upload = call.files["media"]
            size, media_type = upload.size, upload.content_type or "application/octet-stream"
        elif isinstance(call.field("media"), str):
            try:
                data = base64.b64decode(call.field("media"), validate=True)
            except (binascii.Error, ValueError):
                return problem(400, "The media field is not valid base64.")
            size, media_type = len(data), call.field("media_type") or "application/octet-stream"
        elif isinstance(call.field("media_data"), str):
            data = base64.b64decode(call.field("media_data"))
            size, media_type = len(data), call.field("media_type") or "application/octet-stream"
        else:
            return problem(400, "The `media` field is required.")
        if size == 0:
            return problem(400, "The media is empty.")
        media = Media(self._ids.next(), size, media_type)
        self.media[media.id] = media
        data_json: dict[str, object] = {
            "id": media.id,
            "media_key": f"3_{media.id}",
            "size": size,
            "expires_after_secs": 86400,
        }
        if media_type.startswith("image/"):
            data_json["image"] = {"image_type": media_type, "w": 1200, "h": 675}
        return json_response({"data": data_json})

    def media_metadata(self, call: Call) -> Response:
        if not isinstance(call.json, dict):
            return problem(400, "The request body must be a JSON object.")
        media_id = str(call.json.get("id") or call.json.get("media_id") or "")
        metadata = call.json.get("metadata") or {"alt_text": call.json.get("alt_text")}
        alt = (metadata.get("alt_text") or {}).get("text")
        if media_id not in self.media:
            return problem(400, f"The media id {media_id!r} is not valid.")
        if alt is not None and len(alt) > 1000:
            return problem(400, "Alt text must be at most 1000 characters.")
        self.media[media_id].alt_text = alt
        return json_response({"data": {"id": media_id, "associated_metadata": {"alt_text": {"text": alt}}}})

    def post_pages(self) -> list[tuple[str, Callable[[Request], str]]]:
        return [("/x/i/web/status/{id}", lambda r: r.path_params["id"])]

    def timeline(self) -> list[TimelinePost]:
        return [
            TimelinePost(
                platform=self.name,
                id=t.id,
                text=t.text,
                created_at=t.created_at,
                alts=tuple(self.media[m].alt_text or "" for m in t.media_ids if m in self.media),
                reply_to=t.reply_to,
            )
            for t in self.tweets.values()
        ]

