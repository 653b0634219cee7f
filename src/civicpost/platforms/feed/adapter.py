"""The city's own public feed: no network, no credentials.

The public site and its Atom/JSON feeds list the feed deliveries that are
published, so "posting" is recording the delivery; a retraction takes the
announcement off the site where the record's state is read. Nothing can fail.
"""

from typing import Any

from civicpost.platforms.seam import Outgoing, Receipt


class FeedAdapter:
    def __init__(self, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
                 guard: object = None) -> None:
        self._url = settings.get("url")

    def publish(self, outgoing: Outgoing) -> Receipt:
        # The announcement's own page on the city's site (or the address the channel names).
        return Receipt(remote_id=outgoing.key, remote_url=self._url or outgoing.public_url, part_ids=[outgoing.key])

    def delete(self, remote_id: str) -> None:
        return None

    def find(self, outgoing: Outgoing) -> Receipt | None:
        # The feed is whatever the database says was published, so it is always there.
        return self.publish(outgoing)

    def check(self) -> dict[str, Any]:
        return {}
