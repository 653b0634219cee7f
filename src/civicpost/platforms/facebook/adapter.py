"""Facebook Pages through a thin httpx Graph API client (platforms/_meta.py).

Not facebook-sdk: its last release refuses every Graph version Meta still
serves, puts the token in URLs and hides the HTTP status. Here the Page token
travels only in the Authorization header.
"""

import json
from datetime import datetime
from typing import Any

from civicpost.platforms._meta import MetaGraph
from civicpost.platforms._support import CLOCK_SLACK, comparable, posted_since
from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import CredentialsError, MediaItem, Outgoing, PermanentError, Receipt

DEFAULT_API_BASE = "https://graph.facebook.com"
# Where people read a post; a channel's `web_base` changes it (the sandbox serves its own).
WEB_BASE = "https://www.facebook.com"
DEFAULT_GRAPH_VERSION = "v25.0"


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
        self._graph = MetaGraph("Facebook", base_url=f"{api_base}/{version}",
                                token=credentials["page_access_token"], timeout=timeout, guard=guard)

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
