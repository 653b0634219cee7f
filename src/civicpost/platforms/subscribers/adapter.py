"""The `subscribers` channel's adapter: the fan-out (civicpost.fanout) sends its messages, one per
resident, so one call to publish is never the way: it refuses, and says where the sending happens."""

from typing import Any

from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import Outgoing, PermanentError, Receipt


class SubscribersAdapter:
    def __init__(self, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
                 guard: AddressGuard | None = None) -> None:
        self._topics = list(settings.get("topics") or [])

    def publish(self, outgoing: Outgoing) -> Receipt:
        raise PermanentError("a subscribers channel is sent by the fan-out, one message per resident")

    def delete(self, remote_id: str) -> None:
        raise PermanentError("email to residents cannot be unsent")

    def find(self, outgoing: Outgoing) -> Receipt | None:
        return None

    def check(self) -> dict[str, Any]:
        return {"topics": self._topics or ["the department's own topic"]}
