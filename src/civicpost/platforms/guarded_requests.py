"""The address check (platforms.guard) as a requests transport, for the clients built on requests."""

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from civicpost.platforms.guard import AddressGuard


class GuardedTransport(HTTPAdapter):
    def __init__(self, guard: AddressGuard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guard = guard

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.guard.check_url(request.url or "")
        return super().send(request, **kwargs)
