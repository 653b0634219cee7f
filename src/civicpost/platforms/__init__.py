"""The platform seam: what adapters speak (seam.py), what a platform is (spec.py),
and every platform civicpost knows (registry.py), one package each.

Adapters speak HTTP (or SMTP) only: no database, no templates, no retries and
no sleeping. They turn each SDK's exceptions into the errors of seam.py, which
tell the worker what to do next.
"""

from civicpost.platforms.registry import (
    PLATFORMS,
    SPECS,
    UnknownPlatform,
    build_adapter,
    checked_fields,
    spec,
    where,
)
from civicpost.platforms.seam import (
    AccessEnds,
    Adapter,
    AddressRefused,
    Counts,
    CredentialsError,
    LatestPost,
    MaybePosted,
    MediaItem,
    Metrics,
    NotReadable,
    Outgoing,
    PermanentError,
    PlatformError,
    PostGone,
    RateLimited,
    Receipt,
    Renewed,
    Replies,
    Reply,
    ReplyModeration,
    TransientError,
)
from civicpost.platforms.spec import PlatformSpec

__all__ = [
    "PLATFORMS",
    "SPECS",
    "AccessEnds",
    "Adapter",
    "AddressRefused",
    "Counts",
    "CredentialsError",
    "LatestPost",
    "MaybePosted",
    "MediaItem",
    "Metrics",
    "NotReadable",
    "Outgoing",
    "PermanentError",
    "PlatformError",
    "PlatformSpec",
    "PostGone",
    "RateLimited",
    "Receipt",
    "Renewed",
    "Replies",
    "Reply",
    "ReplyModeration",
    "TransientError",
    "UnknownPlatform",
    "build_adapter",
    "checked_fields",
    "spec",
    "where",
]
