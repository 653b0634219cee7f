"""Instagram through the Graph API's content publishing: a container, then media_publish.

One image: `POST /{ig_user_id}/media` with `image_url` (the image's signed
address), `caption` and `alt_text`. Several: one item container per image
(`is_carousel_item`), then a CAROUSEL container holding them. Either way
`POST /{ig_user_id}/media_publish` with its `creation_id` makes the post.
A container Meta has not finished preparing is kept for the next attempt
(see platforms/_meta.py): this adapter never waits.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from civicpost.platforms._meta import INVALID, Containers, GraphError, MetaGraph, filled, posted_at
from civicpost.platforms._support import comparable, posted_since
from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import Counts, CredentialsError, Outgoing, PermanentError, Receipt

DEFAULT_API_BASE = "https://graph.facebook.com"
DEFAULT_GRAPH_VERSION = "v25.0"
RECENT = 25  # posts read back when looking for one


class InstagramAdapter:
    def __init__(self, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
                 guard: AddressGuard | None = None) -> None:
        if not credentials.get("access_token"):
            raise CredentialsError("Instagram channel has no access_token")
        if not settings.get("ig_user_id"):
            raise PermanentError("Instagram channel has no ig_user_id setting")
        self._account = str(settings["ig_user_id"])
        api_base = (settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")
        version = settings.get("graph_version") or DEFAULT_GRAPH_VERSION
        self._token = str(credentials["access_token"])
        self._graph = MetaGraph("Instagram", base_url=f"{api_base}/{version}", token=credentials["access_token"],
                                timeout=timeout, guard=guard)
        self._containers = Containers()

    def read_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        """Each media's like_count and comments_count (one GET each); a removed one is left out."""
        counts: dict[str, Counts] = {}
        with self._graph.errors(writing=False):
            for remote_id in remote_ids:
                try:
                    media = self._graph.call("GET", f"/{remote_id}", params={"fields": "like_count,comments_count"})
                except GraphError as exc:
                    if exc.code == INVALID:
                        continue
                    raise
                counts[remote_id] = {name: int(media[key]) for key, name in
                                     (("like_count", "likes"), ("comments_count", "replies"))
                                     if isinstance(media.get(key), int)}
        return counts

    def access_ends_at(self) -> datetime | None:
        return self._graph.access_ends(self._token)

    def followers(self) -> int | None:
        with self._graph.errors(writing=False):
            account = self._graph.call("GET", f"/{self._account}", params={"fields": "followers_count"})
        value = account.get("followers_count")
        return int(value) if isinstance(value, int) else None

    def publish(self, outgoing: Outgoing) -> Receipt:
        if not outgoing.media:
            raise PermanentError("Instagram posts need an image, and this one has none")
        if any(not item.url for item in outgoing.media):
            raise PermanentError("an image has no address Instagram could fetch it from")
        media_id = self._graph.publish_container(
            self._containers, outgoing.key, create=lambda: self._container(outgoing),
            state=self._state, publish=f"/{self._account}/media_publish")
        return Receipt(remote_id=media_id, remote_url=self._graph.permalink(media_id), part_ids=[media_id])

    def delete(self, remote_id: str) -> None:
        raise PermanentError("Instagram's API cannot delete a published post: delete it in the Instagram app")

    def find(self, outgoing: Outgoing) -> Receipt | None:
        with self._graph.errors(writing=False):
            # Newest first; a delivery's post is among the account's latest.
            posts = self._graph.call("GET", f"/{self._account}/media", params={
                "fields": "id,caption,timestamp,permalink", "limit": RECENT}).get("data", [])
            wanted = comparable(outgoing.text)
            for post in posts:
                same = comparable(post.get("caption") or "") == wanted
                if same and posted_since(posted_at(post), outgoing.created_at):
                    found = str(post["id"])
                    return Receipt(remote_id=found, remote_url=post.get("permalink"), part_ids=[found])
        return None

    def check(self) -> dict[str, Any]:
        """The account the token speaks for, and how much of its daily publishing limit is used."""
        return self._graph.check_account(me=f"/{self._account}", account=self._account,
                                         limit=f"/{self._account}/content_publishing_limit", setting="ig_user_id")

    def _container(self, outgoing: Outgoing) -> str:
        account, items = f"/{self._account}/media", outgoing.media
        if len(items) == 1:
            form = {"image_url": items[0].url, "caption": outgoing.text, "alt_text": items[0].alt_text}
            return str(self._graph.call("POST", account, data=filled(form))["id"])
        children = [
            str(self._graph.call("POST", account, data=filled(
                {"image_url": item.url, "is_carousel_item": "true", "alt_text": item.alt_text}))["id"])
            for item in items
        ]
        form = {"media_type": "CAROUSEL", "children": ",".join(children), "caption": outgoing.text}
        return str(self._graph.call("POST", account, data=form)["id"])

    def _state(self, container: str) -> tuple[object, object]:
        answer = self._graph.call("GET", f"/{container}", params={"fields": "status_code,status"})
        return answer.get("status_code"), answer.get("status")
