"""The links in residents' mail: confirm (signed, 24 h), manage and one-click unsubscribe (signed, lasting).

A link carries the subscriber's id and a MAC over it, its purpose and the subscriber's
`link_nonce`: nothing is stored per link, a new nonce revokes every earlier link, and a forgotten
subscriber's links lead nowhere.
"""

import re
import time
from dataclasses import dataclass
from typing import Protocol

from civicpost.subscribers.crypto import SubscriberBox


class Subscriber(Protocol):
    """What a link is made from: a models.Subscriber or a recipients.Recipient."""

    @property
    def id(self) -> int: ...

    @property
    def link_nonce(self) -> str: ...

CONFIRM_SECONDS = 24 * 3600
_SHAPE = re.compile(r"([1-9][0-9]{0,17})\.(?:([0-9]{1,12})\.)?([A-Za-z0-9_-]{32})")
MAX_ID = 2**63 - 1

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


@dataclass(frozen=True)
class LinkClaim:
    subscriber_id: int
    issued: int | None
    mac: str


def _parse(token: str) -> LinkClaim | None:
    found = _SHAPE.fullmatch(token)
    if found is None or int(found[1]) > MAX_ID:
        return None
    return LinkClaim(int(found[1]), int(found[2]) if found[2] else None, found[3])


def confirm_token(box: SubscriberBox, subscriber: Subscriber, *, now: float | None = None) -> str:
    issued = str(int(time.time() if now is None else now))
    return f"{subscriber.id}.{issued}.{box.sign('confirm', str(subscriber.id), issued, subscriber.link_nonce)}"


def manage_token(box: SubscriberBox, subscriber: Subscriber) -> str:
    return f"{subscriber.id}.{box.sign('manage', str(subscriber.id), subscriber.link_nonce)}"


def unsubscribe_token(box: SubscriberBox, subscriber: Subscriber) -> str:
    return f"{subscriber.id}.{box.sign('unsubscribe', str(subscriber.id), subscriber.link_nonce)}"


def claimed_id(token: str) -> int | None:
    """The subscriber a token names, before it is checked (None: not even shaped like one)."""
    claim = _parse(token)
    return claim.subscriber_id if claim else None


def check(box: SubscriberBox, token: str, subscriber: Subscriber, *, purpose: str,
          now: float | None = None) -> bool:
    claim = _parse(token)
    if claim is None or claim.subscriber_id != subscriber.id:
        return False
    sid = str(subscriber.id)
    if purpose == "confirm":
        if claim.issued is None:
            return False
        age = (time.time() if now is None else now) - claim.issued
        return 0 <= age <= CONFIRM_SECONDS and box.check(
            claim.mac, "confirm", sid, str(claim.issued), subscriber.link_nonce)
    return claim.issued is None and box.check(claim.mac, purpose, sid, subscriber.link_nonce)


def confirm_url(base_url: str, box: SubscriberBox, subscriber: Subscriber) -> str:
    return f"{base_url.rstrip('/')}/subscribe/confirm/{confirm_token(box, subscriber)}"


def manage_url(base_url: str, box: SubscriberBox, subscriber: Subscriber) -> str:
    return f"{base_url.rstrip('/')}/subscriptions/{manage_token(box, subscriber)}"


def unsubscribe_url(base_url: str, box: SubscriberBox, subscriber: Subscriber) -> str:
    return f"{base_url.rstrip('/')}/unsubscribe/{unsubscribe_token(box, subscriber)}"


def unsubscribe_headers(base_url: str, box: SubscriberBox, subscriber: Subscriber) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: the headers every message to a resident carries."""
    return {"List-Unsubscribe": f"<{unsubscribe_url(base_url, box, subscriber)}>",
            "List-Unsubscribe-Post": ONE_CLICK_BODY}
