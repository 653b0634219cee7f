"""Access renewed before it ends (SPEC §8.3): X's OAuth 2.0 tokens last hours,
and its refresh tokens are single use, so a renewal must be stored before
anyone renews again.

The channel's row stays locked while the platform answers (two
workers renewing at once would lock each other out). That breaks the rule of
no network call inside a transaction on purpose: the call is one short POST,
bounded by its timeout, and happens at most once a day per channel.
"""

import importlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from civicpost.db import transaction
from civicpost.models import Channel
from civicpost.platforms import CredentialsError, PlatformError, Renewed, spec
from civicpost.platforms.guard import AddressGuard
from civicpost.security import CredentialBox, CredentialsUnreadable

log = logging.getLogger(__name__)

# Access that ends within this long is renewed by the daily reading and by Test connection.
RENEW_BEFORE = timedelta(days=1)
# ...and within this long, by the worker just before it posts (X's OAuth 2.0 tokens last two hours).
RENEW_BEFORE_SENDING = timedelta(minutes=10)


def renewer(platform: str) -> Callable[..., Renewed] | None:
    module, _, name = spec(platform).renew_access.partition(":")
    return getattr(importlib.import_module(module), name) if module else None


def renew_if_due(sessions: sessionmaker[Session], box: CredentialBox, channel_id: int, *, now: datetime,
                 timeout: float, allow_private_network: bool, before: timedelta = RENEW_BEFORE) -> str | None:
    """Renew the channel's access if it can and it ends within `before` (or when is unknown).
    Answers the problem in a sentence, also written on the channel; None when all is well.
    Of several callers at once, the first renews and the others find the new expiry under the lock."""
    with transaction(sessions) as session:
        # A no-op UPDATE takes the row's lock on PostgreSQL and the write lock on SQLite.
        session.execute(update(Channel).where(Channel.id == channel_id).values(id=Channel.id))
        channel = session.scalars(select(Channel).where(Channel.id == channel_id)).one()
        renew = renewer(channel.platform)
        if renew is None or (channel.token_expires_at is not None and channel.token_expires_at > now + before):
            return None
        try:
            credentials = box.open(channel.credentials_encrypted)
        except CredentialsUnreadable:
            return None  # the adapter says so, in its own words, when it is built
        if not credentials.get("oauth2_refresh_token"):
            return None
        label = spec(channel.platform).label
        try:
            renewed = renew(credentials, dict(channel.settings), now=now, timeout=timeout,
                            guard=None if allow_private_network else AddressGuard())
        except PlatformError as exc:
            message = f"Renewing access to {label} failed: {exc}"
            channel.last_error, channel.last_error_at = message, now
            if isinstance(exc, CredentialsError):
                channel.needs_attention = True
            log.warning("channel %s: %s", channel_id, message)
            return message
        channel.credentials_encrypted = box.seal(renewed.credentials)
        channel.token_expires_at = renewed.expires_at
        return None
