"""Identifiers, timestamps and tokens shaped like each platform's own.

The SDKs mostly treat ids as opaque strings, but people reading recorded
requests and the engine's reconciliation code compare and sort them, so they
follow the real formats: X and Mastodon snowflakes (time-ordered integers as
strings), atproto TIDs and CIDs, and HMAC-signed JWTs atproto can decode.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

_TWITTER_EPOCH_MS = 1288834974657
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


class Snowflake:
    """Time-ordered, strictly increasing ids (X's layout: ms << 22)."""

    def __init__(self, *, epoch_ms: int = 0, shift: int = 22) -> None:
        self._epoch_ms = epoch_ms
        self._shift = shift
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        candidate = (int(time.time() * 1000) - self._epoch_ms) << self._shift
        with self._lock:
            self._last = max(candidate, self._last + 1)
            return str(self._last)


def x_ids() -> Snowflake:
    return Snowflake(epoch_ms=_TWITTER_EPOCH_MS, shift=22)


def mastodon_ids() -> Snowflake:
    # Mastodon's ids are (unix ms << 16) | sequence.
    return Snowflake(epoch_ms=0, shift=16)


class Counter:
    """Plain increasing numeric ids, as Graph object ids look."""

    def __init__(self, start: int) -> None:
        self._counter = itertools.count(start)

    def next(self) -> str:
        return str(next(self._counter))


class TidClock:
    """atproto TIDs: 13 base32-sortable chars of (microseconds << 10 | clock id)."""

    def __init__(self, clock_id: int = 7) -> None:
        self._clock_id = clock_id & 0x3FF
        self._last_us = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._last_us = max(int(time.time() * 1_000_000), self._last_us + 1)
            value = (self._last_us << 10) | self._clock_id
        chars = []
        for _ in range(13):
            chars.append(_TID_ALPHABET[value & 0x1F])
            value >>= 5
        return "".join(reversed(chars))


def cid_for(data: bytes, *, raw: bool = False) -> str:
    """A CIDv1 (sha2-256, base32): codec raw for blobs, dag-cbor for records.

    The record bytes hashed here are JSON, not DAG-CBOR, so the CID is
    well-formed and content-derived but not the one a real PDS would compute.
    """
    codec = 0x55 if raw else 0x71
    prefix = bytes([0x01, codec, 0x12, 0x20])
    encoded = base64.b32encode(prefix + hashlib.sha256(data).digest()).decode()
    return "b" + encoded.lower().rstrip("=")


def now() -> datetime:
    return datetime.now(UTC)


def iso_millis(moment: datetime) -> str:
    """2025-01-31T12:00:00.000Z, as Mastodon and atproto write times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def graph_time(moment: datetime) -> str:
    """2025-01-31T12:00:00+0000, as Graph writes created_time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_jwt(payload: dict[str, Any], *, secret: bytes, typ: str) -> str:
    header = _b64url(json.dumps({"typ": typ, "alg": "HS256"}).encode())
    body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64url(signature)}"


def verify_jwt(token: str, *, secret: bytes) -> dict[str, Any] | None:
    """The payload if the signature is ours, else None (expiry is the caller's)."""
    try:
        header, body, signature = token.split(".")
        expected = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64url_decode(signature)):
            return None
        payload = json.loads(_b64url_decode(body))
    except (ValueError, TypeError):
        return None
    return payload if isinstance(payload, dict) else None
