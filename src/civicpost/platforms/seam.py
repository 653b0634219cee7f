"""What every adapter speaks: what it sends, what it answers, what it raises.

Adapters speak HTTP (or SMTP) only: no database, no templates, no retries and
no sleeping. They turn each SDK's exceptions into the three errors below, which
tell the worker what to do next.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class MediaItem:
    path: Path
    mime_type: str
    alt_text: str
    # A short-lived signed address of the image on the city's own site, for
    # platforms that fetch images themselves (civicpost.media_urls).
    url: str | None = None


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
    # The announcement's accessible page on the city's own site.
    public_url: str | None = None


@dataclass(frozen=True)
class Receipt:
    remote_id: str
    remote_url: str | None = None
    # For threads: the ids of every part, first to last.
    part_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Renewed:
    """A channel's credentials after its platform renewed its access, and when the new access ends."""

    credentials: dict[str, Any]
    expires_at: datetime | None


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


# A post's counts by name: likes, reposts, replies, quotes, views, clicks (SPEC §8.3),
# or a platform's own metric under the name the platform gives it.
Counts = dict[str, int]


@runtime_checkable
class Metrics(Protocol):
    """What an adapter whose spec has `capabilities.metrics` also speaks.

    Reads only: no reading may spend the posting quota a platform gives an
    account (quotas.py counts deliveries, never readings). A 429 raises
    RateLimited with the platform's wait, like a post's.
    """

    def read_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        """Counts of up to the spec's `metrics_batch` posts, by remote id; a post
        the platform no longer has is left out of the answer."""
        ...

    def followers(self) -> int | None:
        """The account's followers now, or None where the platform does not tell."""
        ...


@runtime_checkable
class LatestPost(Protocol):
    """What an adapter whose spec has `capabilities.latest_post` also speaks: a post made in
    the platform's own app keeps a channel from looking quiet (SPEC §8.3). A read, like Metrics."""

    def latest_post_at(self) -> datetime | None:
        """When the account last posted, by any app; None when it never has."""
        ...


@runtime_checkable
class AccessEnds(Protocol):
    """What an adapter also speaks when its platform tells when the channel's access ends
    (Meta's token debugger, LinkedIn's token introspection): the weekly report warns in time."""

    def access_ends_at(self) -> datetime | None:
        """When the token stops working; None when it does not end or the platform will not say.
        Raises CredentialsError for a token the platform calls invalid."""
        ...


@dataclass(frozen=True)
class Reply:
    """A resident's reply to one of the city's posts, as the platform shows it."""

    remote_id: str
    author_handle: str
    author_name: str
    created_at: datetime | None
    text: str
    url: str | None = None


class PostGone(PermanentError):
    """The post itself is no longer on the platform (deleted there): its replies cannot be read again."""


class NotReadable(PermanentError):
    """The account's access level does not let it read replies (X's lower tiers): the channel
    works all the same, and asking again every run would only spend the platform's patience."""


@runtime_checkable
class Replies(Protocol):
    """What an adapter whose spec has `capabilities.replies` also speaks. A read, like Metrics:
    it never spends a posting quota, and a 429 raises RateLimited with the platform's wait."""

    def read_replies(self, remote_id: str) -> list[Reply]:
        """Every reply to the post under it (replies to replies too) the account can read.
        Raises PostGone when the post is not there any more."""
        ...


@runtime_checkable
class ReplyModeration(Protocol):
    """Hiding or deleting a resident's reply, where the platform lets the post's author
    (capabilities `hide_replies`, `remove_replies`). Gone already counts as done."""

    def hide_reply(self, reply_id: str) -> None: ...

    def remove_reply(self, reply_id: str) -> None: ...
