"""Addresses that may become links on a page, in a feed or in the API.

Platforms and webhook receivers tell us where a post lives; what they say is
not trusted. Only an absolute http(s) address is kept when a receipt is
recorded, and checked again wherever a link is shown, so rows written before
the check are safe too.
"""

import re
from urllib.parse import urlsplit

# Whitespace and control characters: browsers strip some of them before
# reading the scheme ("java\tscript:"), and none belongs in an address.
_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f]")


def http_url(value: object) -> str | None:
    """`value` when it is an absolute http:// or https:// address, else None."""
    if not isinstance(value, str) or not value or len(value) > 2048 or _UNSAFE.search(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value
