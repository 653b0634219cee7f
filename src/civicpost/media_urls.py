"""Short-lived signed addresses of images, for platforms that fetch a post's
image themselves (Instagram, Threads): the platform gets a URL under
CIVICPOST_BASE_URL that works for a few minutes without a session, for that
one image only. A city behind a firewall must let the platform reach it.
"""

import hashlib
import hmac
import time
from functools import lru_cache

# Long enough for a platform to fetch the image while it makes its container.
VALID_SECONDS = 15 * 60


@lru_cache(maxsize=8)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"civicpost-media-url\x00" + secret.encode()).digest()


def _signature(secret: str, media_id: str, expires: int) -> str:
    return hmac.new(_key(secret), f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_url(base_url: str, secret: str, media_id: str, *, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + VALID_SECONDS)
    signature = _signature(secret, media_id, expires)
    return f"{base_url.rstrip('/')}/media/signed/{media_id}?expires={expires}&sig={signature}"


def valid(secret: str, media_id: str, expires: str, signature: str, *, now: float | None = None) -> bool:
    if not expires.isascii() or not expires.isdigit() or len(expires) > 12:
        return False
    if int(expires) < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(_signature(secret, media_id, int(expires)), signature)
