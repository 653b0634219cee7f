"""The platform calls of one job, outside any transaction (SPEC §3, §8.1).

A send to reconcile first asks the platform whether an earlier attempt
posted; where it cannot be asked, the delivery is left for a person unless
the receiver deduplicates (a webhook). A take-back deletes the post wherever
it is: a published delivery knows its post's ids; one that may have posted
is looked up first. Errors are returned, not raised: outcomes.py decides what
each means.
"""

import dataclasses
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable

from prometheus_client import Histogram

from civicpost.config import Settings
from civicpost.db import utcnow
from civicpost.engine.guard import Send
from civicpost.engine.outcomes import Happened, Published, TakenBack, Unclear
from civicpost.models import Channel, DeliveryStatus
from civicpost.platforms import Adapter, CredentialsError, PermanentError, PlatformError, build_adapter, spec
from civicpost.renewal import RENEW_BEFORE_SENDING
from civicpost.security import CredentialBox, CredentialsUnreadable

log = logging.getLogger(__name__)

# Platform call durations, observed by a worker in this process.
PUBLISH_SECONDS = Histogram(
    "civicpost_publish_seconds", "Time of one platform call, by platform and outcome",
    ["platform", "outcome"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class Adapters:
    """One adapter per channel, kept while its credentials and settings stay the same."""

    def __init__(self, settings: Settings, *, renew: Callable[[int], bytes | None] | None = None) -> None:
        self._settings = settings
        self.box = CredentialBox(settings.fernet_key())
        self._adapters: dict[int, tuple[str, Adapter]] = {}
        self._locks: dict[int, threading.Lock] = {}
        # Renews a channel's access that is about to end; answers its sealed credentials as they now are.
        self._renew = renew

    def get(self, channel: Channel) -> Adapter:
        sealed = channel.credentials_encrypted
        ends = channel.token_expires_at
        if self._renew is not None and ends is not None and ends <= utcnow() + RENEW_BEFORE_SENDING:
            sealed = self._renew(channel.id) or sealed
        version = hashlib.sha256((sealed or b"") + json.dumps(channel.settings, sort_keys=True).encode()).hexdigest()
        cached = self._adapters.get(channel.id)
        if cached and cached[0] == version:
            return cached[1]
        # One build per channel even when many sends start at once: each build
        # may sign in (Bluesky allows 30 sign-ins per account per 5 minutes).
        with self._locks.setdefault(channel.id, threading.Lock()):
            cached = self._adapters.get(channel.id)
            if cached and cached[0] == version:
                return cached[1]
            adapter = build_adapter(channel.platform, self.box.open(sealed),
                                    dict(channel.settings), timeout=self._settings.publish_timeout_seconds,
                                    allow_private_network=self._settings.allow_private_network)
            self._adapters[channel.id] = (version, adapter)
            return adapter


def attempt(send: Send, adapters: Adapters) -> Happened:
    """Do the job's platform work: publish (reconciling first when asked) or take the post back."""
    try:
        adapter = adapters.get(send.channel)
    except (PlatformError, CredentialsUnreadable) as exc:
        # Nothing was sent: the channel cannot be used as it is.
        return exc if isinstance(exc, PlatformError) else CredentialsError(str(exc))
    if send.take_back:
        try:
            return take_back(send, adapter)
        except Exception as exc:  # noqa: BLE001 - every error is mapped to try again or tell a person
            return exc
    return publish(send, adapter)


def publish(send: Send, adapter: Adapter) -> Happened:
    """Reconcile if asked, then publish; the call's time goes to PUBLISH_SECONDS."""
    platform, outgoing = spec(send.channel.platform), send.outgoing
    started = time.perf_counter()
    try:
        if send.reconcile:
            if platform.capabilities.find:
                found = adapter.find(outgoing)
                if found is not None and len(found.part_ids) < len(outgoing.parts or [outgoing.text]):
                    # Part of a thread is there: continue after it rather than start again.
                    outgoing = dataclasses.replace(outgoing, already_posted=list(found.part_ids))
                elif found is not None:
                    return Published(found, found=True)
            elif not platform.capabilities.resend_when_unclear:
                return Unclear(f"a send was interrupted and a {platform.label} post cannot be looked up: check "
                               f"{platform.where_to_look or 'the account'}, then retry only if it did not go out")
            started = time.perf_counter()
        receipt = adapter.publish(outgoing)
    except Exception as exc:  # noqa: BLE001 - every error is mapped to retry, fail or unknown
        PUBLISH_SECONDS.labels(platform.name, "error").observe(time.perf_counter() - started)
        log.info("delivery %s on %s: %s", send.delivery.id, platform.name, exc)
        return exc
    PUBLISH_SECONDS.labels(platform.name, "published").observe(time.perf_counter() - started)
    return Published(receipt)


def take_back(send: Send, adapter: Adapter) -> TakenBack:
    """Delete the delivery's post wherever it is; raises PlatformError when
    the platform refuses or cannot be reached."""
    delivery, platform = send.delivery, spec(send.channel.platform)
    known = list(delivery.rendition.get("remote_part_ids") or ([delivery.remote_id] if delivery.remote_id else []))
    if delivery.status != DeliveryStatus.published:
        if not platform.capabilities.find:
            return TakenBack(
                "for_a_person",
                f"retracted while a send may have gone out, and a {platform.label} post cannot be looked up: "
                f"check {platform.where_to_look or 'the account'} and remove the post by hand if it is there",
            )
        found = adapter.find(send.outgoing)
        if found is not None:
            known += [remote_id for remote_id in found.part_ids or [found.remote_id] if remote_id not in known]
        if not known:
            return TakenBack("not_posted", f"retracted before it was posted: {platform.label} has no such post")
    if not platform.capabilities.delete:
        # Instagram's API cannot delete a post: say where a person deletes it.
        where = delivery.remote_url or platform.where_to_look or "the account"
        raise PermanentError(f"{platform.label} does not let civicpost delete a post; delete it by hand: {where}")
    # The last part first: a thread never shows replies to a deleted post.
    for remote_id in reversed(known):
        adapter.delete(remote_id)
    return TakenBack("deleted", remote_ids=tuple(known))
