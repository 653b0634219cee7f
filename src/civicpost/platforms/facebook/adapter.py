"""Facebook Pages through a thin httpx Graph API client (platforms/_meta.py).

Not facebook-sdk: its last release refuses every Graph version Meta still
serves, puts the token in URLs and hides the HTTP status. Here the Page token
travels only in the Authorization header.
"""

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from civicpost.platforms._meta import INVALID, GraphError, MetaGraph
from civicpost.platforms._support import CLOCK_SLACK, comparable, posted_since
from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import (
    Counts,
    CredentialsError,
    MediaItem,
    Outgoing,
    PermanentError,
    PostGone,
    Receipt,
    Reply,
)

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://graph.facebook.com"
# Where people read a post; a channel's `web_base` changes it (the sandbox serves its own).
WEB_BASE = "https://www.facebook.com"
DEFAULT_GRAPH_VERSION = "v25.0"
# A post's reactions, comments and shares in one read (totals only, no lists).
POST_COUNTS = "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares"
# Graph's "invalid parameter": an unknown insights metric, or an id that is gone.


class FacebookAdapter:
    def __init__(self, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
                 guard: AddressGuard | None = None) -> None:
        if not credentials.get("page_access_token"):
            raise CredentialsError("Facebook channel has no page_access_token")
        if not settings.get("page_id"):
            raise PermanentError("Facebook channel has no page_id setting")
        self._page_id = str(settings["page_id"])
        self._web_base = (settings.get("web_base") or WEB_BASE).rstrip("/")
        api_base = (settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")
        version = settings.get("graph_version") or DEFAULT_GRAPH_VERSION
        self._token = str(credentials["page_access_token"])
        self._graph = MetaGraph("Facebook", base_url=f"{api_base}/{version}",
                                token=credentials["page_access_token"], timeout=timeout, guard=guard)
        # Page insights metrics the city asked for; one Meta renamed or retired is dropped with a warning.
        self._insights = [str(name) for name in settings.get("insights_metrics") or []]

    def publish(self, outgoing: Outgoing) -> Receipt:
        with self._graph.errors(writing=True):
            form: dict[str, str] = {"message": outgoing.text}
            if outgoing.media:
                # Unpublished photos attached to one feed post: a single post
                # with all images and its own alt text per image.
                for n, item in enumerate(outgoing.media):
                    form[f"attached_media[{n}]"] = json.dumps({"media_fbid": self._upload(item)})
            elif outgoing.link:
                form["link"] = outgoing.link
            post_id = str(self._graph.call("POST", f"/{self._page_id}/feed", data=form)["id"])
        return Receipt(remote_id=post_id, remote_url=_permalink(post_id, self._web_base), part_ids=[post_id])

    def delete(self, remote_id: str) -> None:
        try:
            with self._graph.errors(writing=False):
                self._graph.call("DELETE", f"/{remote_id}")
        except PermanentError as exc:
            if not self._graph.gone(exc):
                raise

    def find(self, outgoing: Outgoing) -> Receipt | None:
        params: dict[str, Any] = {"fields": "id,message,permalink_url,created_time", "limit": 25}
        if outgoing.created_at is not None:
            params["since"] = int((outgoing.created_at - CLOCK_SLACK).timestamp())
        with self._graph.errors(writing=False):
            posts = self._graph.call("GET", f"/{self._page_id}/posts", params=params).get("data", [])
        wanted = comparable(outgoing.text)
        for post in posts:
            created = post.get("created_time")
            when = datetime.strptime(created, "%Y-%m-%dT%H:%M:%S%z") if created else None
            if comparable(post.get("message", "")) == wanted and posted_since(when, outgoing.created_at):
                url = post.get("permalink_url") or _permalink(post["id"], self._web_base)
                return Receipt(remote_id=post["id"], remote_url=url, part_ids=[post["id"]])
        return None

    def check(self) -> dict[str, Any]:
        with self._graph.errors(writing=False):
            me = self._graph.call("GET", "/me", params={"fields": "id,name"})
        # A Page token speaks as the Page; a user token answers with the user,
        # and posting with it would publish as a person (or fail later).
        if str(me.get("id")) != self._page_id:
            raise CredentialsError(f"token speaks for {me.get('id')}, not Page {self._page_id}: use a Page token")
        return {"page_id": self._page_id, "name": me.get("name"), "page_name": me.get("name")}

    def read_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        """Reactions, comments and shares of up to 50 posts in one GET /?ids=..., then each
        post's Page insights metrics named in the channel's settings."""
        with self._graph.errors(writing=False):
            try:
                posts = self._graph.call("GET", "/", params={"ids": ",".join(remote_ids), "fields": POST_COUNTS})
            except GraphError as exc:
                if exc.code != INVALID:
                    raise
                # One id of the batch is gone (deleted on Facebook): read the others one by one.
                posts = {post_id: post for post_id in remote_ids if (post := self._post(post_id)) is not None}
            counts: dict[str, Counts] = {}
            for post_id, post in posts.items():
                if not isinstance(post, dict):
                    continue
                counts[str(post_id)] = {"likes": _total(post.get("reactions")), "replies": _total(post.get("comments")),
                                        "reposts": int((post.get("shares") or {}).get("count") or 0),
                                        **self._post_insights(str(post_id))}
        return counts

    def access_ends_at(self) -> datetime | None:
        return self._graph.access_ends(self._token)

    def followers(self) -> int | None:
        with self._graph.errors(writing=False):
            page = self._graph.call("GET", f"/{self._page_id}", params={"fields": "followers_count"})
        value = page.get("followers_count")
        return int(value) if isinstance(value, int) else None

    def latest_post_at(self) -> datetime | None:
        with self._graph.errors(writing=False):
            posts = self._graph.call("GET", f"/{self._page_id}/posts",
                                     params={"fields": "created_time", "limit": 1}).get("data", [])
        created = posts[0].get("created_time") if posts else None
        return datetime.strptime(created, "%Y-%m-%dT%H:%M:%S%z") if created else None

    def read_replies(self, remote_id: str) -> list[Reply]:
        """GET /{post-id}/comments (filter=stream: replies to comments too), hidden ones included."""
        params = {"filter": "stream", "limit": 100, "fields": "id,message,created_time,from,permalink_url,is_hidden"}
        try:
            with self._graph.errors(writing=False):
                comments = self._graph.call("GET", f"/{remote_id}/comments", params=params).get("data") or []
        except PermanentError as exc:
            if self._graph.gone(exc):
                raise PostGone(f"Facebook no longer has post {remote_id}") from exc
            raise
        found = []
        for comment in comments:
            author = comment.get("from") or {}  # Graph leaves it out for people who did not allow it
            created = comment.get("created_time")
            found.append(Reply(remote_id=str(comment["id"]), author_handle=str(author.get("id") or ""),
                               author_name=str(author.get("name") or "A Facebook user"),
                               created_at=datetime.strptime(created, "%Y-%m-%dT%H:%M:%S%z") if created else None,
                               text=str(comment.get("message") or ""), url=comment.get("permalink_url")))
        return found

    def hide_reply(self, reply_id: str) -> None:
        """POST /{comment-id} is_hidden=true: hidden from everyone but its author and their friends."""
        with self._graph.errors(writing=False):
            self._graph.call("POST", f"/{reply_id}", data={"is_hidden": "true"})

    def remove_reply(self, reply_id: str) -> None:
        try:
            with self._graph.errors(writing=False):
                self._graph.call("DELETE", f"/{reply_id}")
        except PermanentError as exc:
            if not self._graph.gone(exc):
                raise

    def _post(self, post_id: str) -> dict[str, Any] | None:
        try:
            return self._graph.call("GET", f"/{post_id}", params={"fields": POST_COUNTS})
        except GraphError as exc:
            if exc.code == INVALID:
                return None
            raise

    def _post_insights(self, post_id: str) -> Counts:
        if not self._insights:
            return {}
        try:
            return _values(self._graph.call("GET", f"/{post_id}/insights",
                                            params={"metric": ",".join(self._insights), "period": "lifetime"}))
        except GraphError as exc:
            if exc.code != INVALID:
                raise
        # Some metric is not (or no longer) Meta's: ask for each alone, keep the ones that answer.
        found: Counts = {}
        for name in list(self._insights):
            try:
                found |= _values(self._graph.call("GET", f"/{post_id}/insights",
                                                  params={"metric": name, "period": "lifetime"}))
            except GraphError as exc:
                if exc.code != INVALID:
                    raise
                log.warning("Facebook Page %s: insights metric %r skipped: %s", self._page_id, name, exc)
                self._insights.remove(name)
        return found

    def _upload(self, item: MediaItem) -> str:
        answer = self._graph.call(
            "POST",
            f"/{self._page_id}/photos",
            data={"published": "false", "alt_text_custom": item.alt_text},
            files={"source": (item.path.name, item.path.read_bytes(), item.mime_type)},
        )
        return str(answer["id"])


def _permalink(post_id: str, web_base: str) -> str:
    page, _, post = post_id.partition("_")
    return f"{web_base}/{page}/posts/{post}" if post else f"{web_base}/{post_id}"


def _total(edge: Any) -> int:
    summary = edge.get("summary") if isinstance(edge, dict) else None
    value = summary.get("total_count") if isinstance(summary, dict) else None
    return int(value) if isinstance(value, int) else 0


def _values(answer: dict[str, Any]) -> Counts:
    """Graph insights' `data` as {metric: its latest whole-number value}."""
    found: Counts = {}
    for metric in answer.get("data") or []:
        values = metric.get("values") or []
        value = values[-1].get("value") if values else None
        if isinstance(metric.get("name"), str) and isinstance(value, int):
            found[metric["name"]] = value
    return found
