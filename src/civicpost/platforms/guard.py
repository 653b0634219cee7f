"""The check each platform client makes right before it connects (redirects included)."""

import threading
import time
from typing import TYPE_CHECKING, Any

import httpx

from civicpost import net
from civicpost.platforms import AddressRefused, TransientError

if TYPE_CHECKING:
    import requests

# A host that passed is looked up again after this long: the check stays
# close to each connection without a look-up before every request.
RECHECK_SECONDS = 10.0


class AddressGuard:
    """Refuses connections to internal addresses (see civicpost.net) with
    AddressRefused, before anything (a token, a post) is sent."""

    def __init__(self) -> None:
        self._passed: dict[tuple[str, int | None], float] = {}
        self._lock = threading.Lock()

    def check_url(self, url: str) -> None:
        try:
            host, port = net.host_and_port(url)
        except net.AddressRefused as exc:
            raise AddressRefused(f"refused to connect: {exc}") from None
        self.check_host(host, port)

    def check_host(self, host: str, port: int | None = None) -> None:
        key, now = (host, port), time.monotonic()
        with self._lock:
            if self._passed.get(key, 0.0) > now:
                return
        try:
            net.check_host(host, port)
        except net.AddressRefused as exc:
            raise AddressRefused(f"refused to connect: {exc}") from None
        except net.Unresolvable as exc:
            # The client could not connect either; nothing was sent.
            raise TransientError(f"cannot reach {host}: {exc}") from None
        with self._lock:
            self._passed[key] = now + RECHECK_SECONDS

    def httpx_hooks(self) -> dict[str, list[Any]]:
        """`event_hooks` for an httpx client: httpx calls them for every request, redirects too."""

        def before(request: httpx.Request) -> None:
            self.check_host(request.url.host, request.url.port)

        return {"request": [before]}

    def guard_session(self, session: "requests.Session") -> "requests.Session":
        """Every request of a requests session (and each redirect it follows) is checked first."""
        # Only the clients built on requests (tweepy, Mastodon.py) come here, in the worker: a web
        # process does not load requests for the guard (docs/benchmarks.md).
        from civicpost.platforms.guarded_requests import GuardedTransport

        for prefix in ("http://", "https://"):
            session.mount(prefix, GuardedTransport(self))
        return session

