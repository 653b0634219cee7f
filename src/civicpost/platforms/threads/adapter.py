"""Threads through the Threads API: a container (`POST /{user}/threads`), then
`POST /{user}/threads_publish`.

A TEXT container carries the words; the first part of a post with images is
an IMAGE container (or a CAROUSEL of IMAGE items), each with `alt_text`. Each
further part of a thread is a TEXT container with `reply_to_id`, the part
before it. A container Meta has not finished preparing is kept for the next
attempt (see platforms/_meta.py): this adapter never waits.
"""

from collections.abc import Sequence
from functools import partial
from typing import Any

from civicpost.platforms._meta import INVALID, Containers, GraphError, MetaGraph, filled, posted_at
from civicpost.platforms._support import CLOCK_SLACK, comparable, posted_since
from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import (
    Counts,
    CredentialsError,
    MediaItem,
    Outgoing,
    PermanentError,
    PlatformError,
    Receipt,
)

DEFAULT_API_BASE = "https://graph.threads.net"
VERSION = "v1.0"
RECENT = 25  # posts read back when looking for one
# Threads media insights by civicpost's names of counts.
INSIGHTS = {"likes": "likes", "reposts": "reposts", "replies": "replies", "quotes": "quotes", "views": "views"}


class ThreadsAdapter:
    def __init__(self, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
                 guard: AddressGuard | None = None) -> None:
        if not credentials.get("access_token"):
            raise CredentialsError("Threads channel has no access_token")
        if not settings.get("threads_user_id"):
            raise PermanentError("Threads channel has no threads_user_id setting")
        self._user = str(settings["threads_user_id"])
        api_base = (settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")
        self._graph = MetaGraph("Threads", base_url=f"{api_base}/{VERSION}", token=credentials["access_token"],
                                timeout=timeout, guard=guard)
        self._containers = Containers()

    def read_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        """GET /{media}/insights for each post (Threads has no batch read); a deleted post is left out."""
        counts: dict[str, Counts] = {}
        with self._graph.errors(writing=False):
            for remote_id in remote_ids:
                try:
                    answer = self._graph.call("GET", f"/{remote_id}/insights",
                                              params={"metric": ",".join(INSIGHTS)})
                except GraphError as exc:
                    if exc.code == INVALID:
                        continue
                    raise
                counts[remote_id] = {INSIGHTS[name]: value for name, value in _insight_values(answer).items()
                                     if name in INSIGHTS}
        return counts

    def followers(self) -> int | None:
        with self._graph.errors(writing=False):
            answer = self._graph.call("GET", f"/{self._user}/threads_insights", params={"metric": "followers_count"})
        return _insight_values(answer).get("followers_count")

    def publish(self, outgoing: Outgoing) -> Receipt:
        texts = outgoing.parts or [outgoing.text]
        if any(not item.url for item in outgoing.media):
            raise PermanentError("an image has no address Threads could fetch it from")
        # Parts an earlier attempt posted stay; the thread continues after them.
        posted = list(outgoing.already_posted[: len(texts)])
        try:
            for n in range(len(posted), len(texts)):
                reply_to = posted[-1] if posted else None
                media = outgoing.media if n == 0 else []
                posted.append(self._graph.publish_container(
                    self._containers, f"{outgoing.key}:{n}",
                    create=partial(self._container, texts[n], media, reply_to),
                    state=self._state, publish=f"/{self._user}/threads_publish"))
        except PlatformError as exc:
            if posted:
                exc.partial = Receipt(remote_id=posted[0], part_ids=list(posted))
            raise
        return Receipt(remote_id=posted[0], remote_url=self._graph.permalink(posted[0]), part_ids=posted)

    def delete(self, remote_id: str) -> None:
        try:
            with self._graph.errors(writing=False):
                self._graph.call("DELETE", f"/{remote_id}")
        except PermanentError as exc:
            if not self._graph.gone(exc):
                raise

    def find(self, outgoing: Outgoing) -> Receipt | None:
        """The delivery's post, and as many of its thread's parts as are there, first to last."""
        texts = outgoing.parts or [outgoing.text]
        params: dict[str, Any] = {"fields": "id,text,timestamp,permalink", "limit": RECENT}
        if outgoing.created_at is not None:
            params["since"] = int((outgoing.created_at - CLOCK_SLACK).timestamp())
        with self._graph.errors(writing=False):
            posts = self._graph.call("GET", f"/{self._user}/threads", params=params).get("data", [])
            first = next((p for p in posts if comparable(p.get("text") or "") == comparable(texts[0])
                          and posted_since(posted_at(p), outgoing.created_at)), None)
            if first is None:
                return None
            part_ids = [str(first["id"])]
            if len(texts) > 1:
                part_ids += self._replies_in_order(part_ids[0], texts[1:])
        return Receipt(remote_id=part_ids[0], remote_url=first.get("permalink"), part_ids=part_ids)

    def check(self) -> dict[str, Any]:
        """The account the token speaks for, and how much of its daily publishing limit is used."""
        return self._graph.check_account(me="/me", account=self._user, limit=f"/{self._user}/threads_publishing_limit",
                                         setting="threads_user_id")

    def _container(self, text: str, media: list[MediaItem], reply_to: str | None) -> str:
        path = f"/{self._user}/threads"
        form: dict[str, Any] = {"text": text, "reply_to_id": reply_to}
        if len(media) == 1:
            form |= {"media_type": "IMAGE", "image_url": media[0].url, "alt_text": media[0].alt_text}
        elif media:
            children = [
                str(self._graph.call("POST", path, data=filled({
                    "media_type": "IMAGE", "is_carousel_item": "true", "image_url": item.url,
                    "alt_text": item.alt_text}))["id"])
                for item in media
            ]
            form |= {"media_type": "CAROUSEL", "children": ",".join(children)}
        else:
            form["media_type"] = "TEXT"
        return str(self._graph.call("POST", path, data=filled(form))["id"])

    def _state(self, container: str) -> tuple[object, object]:
        answer = self._graph.call("GET", f"/{container}", params={"fields": "status,error_message"})
        return answer.get("status"), answer.get("error_message")

    def _replies_in_order(self, root: str, texts: list[str]) -> list[str]:
        """The account's own replies that continue the thread from `root`, as many parts as are there."""
        replies = self._graph.call("GET", f"/{root}/conversation", params={
            "fields": "id,text,timestamp,replied_to,is_reply_owned_by_me", "reverse": "false"}).get("data", [])
        found, before = [], root
        for text in texts:
            reply = next((r for r in replies if r.get("is_reply_owned_by_me")
                          and str((r.get("replied_to") or {}).get("id")) == before
                          and comparable(r.get("text") or "") == comparable(text)), None)
            if reply is None:
                break
            before = str(reply["id"])
            found.append(before)
        return found


def _insight_values(answer: dict[str, Any]) -> dict[str, int]:
    """Threads insights as {metric: value}: a `total_value` (account totals) or the last of `values`."""
    found: dict[str, int] = {}
    for metric in answer.get("data") or []:
        total = (metric.get("total_value") or {}).get("value")
        values = metric.get("values") or []
        value = total if total is not None else (values[-1].get("value") if values else None)
        if isinstance(metric.get("name"), str) and isinstance(value, int):
            found[metric["name"]] = value
    return found
