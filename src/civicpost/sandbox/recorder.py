"""Every request the sandbox receives, minus secrets, for tests to assert on."""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from .ids import iso_millis, now

# Header values that authenticate; the scheme is kept so a test can still see
# "OAuth" versus "Bearer" without the secret ending up in logs.
_SECRET_HEADERS = {"authorization", "cookie", "x-csrf-token", "proxy-authorization"}
_SECRET_FIELDS = {
    "password",
    "access_token",
    "refresh_token",
    "client_secret",
    "app_password",
    "input_token",
    "appsecret_proof",
}
_LONG_TEXT = 512  # base64 media in JSON bodies would swamp the log


def redact_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        if lower in _SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            kept[lower] = f"{scheme} [redacted]".strip()
        else:
            kept[lower] = value
    return kept


def redact_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "[redacted]" if k.lower() in _SECRET_FIELDS else redact_fields(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_fields(v) for v in value]
    if isinstance(value, str) and len(value) > _LONG_TEXT:
        return f"[{len(value)} characters]"
    return value


class Recorder:
    """A bounded log: benchmarks send millions of requests, memory stays flat."""

    def __init__(self, *, limit: int = 20_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self._seq = itertools.count(1)

    def add(
        self,
        *,
        platform: str,
        method: str,
        path: str,
        query: dict[str, Any],
        headers: list[tuple[str, str]],
        body: Any,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "seq": next(self._seq),
            "at": iso_millis(now()),
            "platform": platform,
            "method": method,
            "path": path,
            "query": redact_fields(query),
            "headers": redact_headers(headers),
            "body": redact_fields(body),
            "status": None,  # filled in when the response is chosen
            "fault": None,
        }
        self._entries.append(entry)
        return entry

    def entries(self, *, platform: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        return [
            e
            for e in list(self._entries)
            if e["seq"] > since and (platform is None or e["platform"] == platform)
        ]

    def clear(self) -> None:
        self._entries.clear()
