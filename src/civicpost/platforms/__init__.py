"""The platform seam: one small Protocol, one module per platform.

Adapters speak HTTP (or SMTP) only: no database, no templates, no retries and
no sleeping. They turn each SDK's exceptions into the three errors below, which
tell the worker what to do next.
"""

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class MediaItem:
    path: Path
    mime_type: str
    alt_text: str


@dataclass(frozen=True)
class Outgoing:
    """What one delivery sends: the approved rendition plus its identity.

    `key` is stable across retries of one delivery (a UUID string); adapters use
    it as the idempotency key or to derive a record key, so a retry after a
    crash cannot post twice.
    """

    key: str
    text: str
    parts: list[str] | None = None
    media: list[MediaItem] = field(default_factory=list)
    title: str = ""
    link: str | None = None
    # Platform-specific rendered pieces (email subject and HTML, feed HTML, webhook JSON).
    extra: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    # Ids of the thread's first parts, posted by an earlier attempt: an adapter
    # that threads continues after them instead of posting them again.
    already_posted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Receipt:
    remote_id: str
    remote_url: str | None = None
    # For threads: the ids of every part, first to last.
    part_ids: list[str] = field(default_factory=list)


class PlatformError(Exception):
    """Base for what an adapter raises; the message is the platform's own words.

    `partial` is set when a thread failed after some parts went out: the worker
    must not post those parts again.
    """

    partial: "Receipt | None" = None


class TransientError(PlatformError):
    """Try again later; `retry_after` seconds when the platform said how long."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """A 429: pause this channel (not the others) until the platform's reset."""


class PermanentError(PlatformError):
    """The platform refused this post for good; retrying will not help."""


class CredentialsError(PermanentError):
    """The channel's credentials are wrong or revoked; a person must fix the channel."""


class AddressRefused(CredentialsError):
    """The channel points at an address civicpost may not connect to (loopback,
    private, link-local...; see civicpost.net): nothing was sent, and a person
    must point the channel elsewhere or allow the city's own network."""


class MaybePosted(TransientError):
    """The request may have reached the platform (timeout after sending, X's
    'duplicate content'): reconcile with `find` before any retry."""


class Adapter(Protocol):
    def publish(self, outgoing: Outgoing) -> Receipt: ...

    def delete(self, remote_id: str) -> None: ...

    def find(self, outgoing: Outgoing) -> Receipt | None:
        """The post for this delivery if it is on the platform, else None.

        Raises TransientError when the platform cannot be asked right now.
        """
        ...

    def check(self) -> dict[str, Any]:
        """Verify the credentials; return facts worth storing (e.g. max_characters)."""
        ...


# Module and class of each platform's adapter, imported only when a channel of
# that platform is used, so a city without Mastodon never imports Mastodon.py.
_ADAPTERS: dict[str, tuple[str, str]] = {
    "x": ("civicpost.platforms.x", "XAdapter"),
    "facebook": ("civicpost.platforms.facebook", "FacebookAdapter"),
    "mastodon": ("civicpost.platforms.mastodon", "MastodonAdapter"),
    "bluesky": ("civicpost.platforms.bluesky", "BlueskyAdapter"),
    "email": ("civicpost.platforms.email", "EmailAdapter"),
    "webhook": ("civicpost.platforms.webhook", "WebhookAdapter"),
    "feed": ("civicpost.platforms.feed", "FeedAdapter"),
}

PLATFORMS: frozenset[str] = frozenset(_ADAPTERS)

# Where `delete` can take a post down (retract); an email cannot be unsent.
DELETABLE: frozenset[str] = PLATFORMS - {"email"}

# Where `find` can tell whether a post is there. Elsewhere it returns None, so
# a MaybePosted delivery there needs a person (email) or is safe to re-send
# because the receiver deduplicates on Idempotency-Key (webhook).
RECONCILABLE: frozenset[str] = PLATFORMS - {"email", "webhook"}


# The settings that name where a channel connects (SPEC §8.1 "Outbound
# addresses"): checked when a channel is made and before every connection.
# The feed connects nowhere; its `url` is only a link on the public page.
OUTBOUND_URLS: dict[str, tuple[str, ...]] = {platform: ("api_base",) for platform in _ADAPTERS}
OUTBOUND_URLS["webhook"] = ("api_base", "url")
OUTBOUND_URLS["feed"] = ()
OUTBOUND_HOSTS: dict[str, tuple[str, str]] = {"email": ("smtp_host", "smtp_port")}


def build_adapter(
    platform: str, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
    allow_private_network: bool,
) -> Adapter:
    """The adapter for one channel; raises KeyError for an unknown platform.

    Unless the city allows its own network, the adapter checks every host it
    connects to (AddressRefused, before any credential leaves), and the
    channel's addresses are checked here already, so a refused one fails at once.
    """
    module_name, class_name = _ADAPTERS[platform]
    adapter_class = getattr(importlib.import_module(module_name), class_name)
    guard = None
    if not allow_private_network:
        from civicpost.platforms._guard import AddressGuard

        guard = AddressGuard()
        for name in OUTBOUND_URLS[platform]:
            if settings.get(name):
                guard.check_url(str(settings[name]))
        if platform in OUTBOUND_HOSTS and settings.get(OUTBOUND_HOSTS[platform][0]):
            host, port = OUTBOUND_HOSTS[platform]
            guard.check_host(str(settings[host]), _port(settings.get(port)))
    adapter: Adapter = adapter_class(credentials, settings, timeout=timeout, guard=guard)
    return adapter


def _port(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
