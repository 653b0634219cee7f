"""Fault injection: latency, errors, rate limits and "accept then hang".

Each platform has its own `PlatformFaults`; `POST /_sandbox/faults` updates
them field by field, so a test can say "the next Mastodon status fails with
503" without touching X. Counters (`fail_next`, `rate_limit_next`,
`hang_next`) are consumed one per matching request, which makes tests
deterministic; `error_rate` is the random variant for soak runs.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

# The fakes' names when none are given; the sandbox app passes the fakes it found.
PLATFORMS = ("x", "graph", "mastodon", "bluesky")


class Kind(StrEnum):
    """What a route does; faults choose their targets by it."""

    READ = "read"
    AUTH = "auth"  # sign-in and identity checks (createSession, verify_credentials)
    WRITE = "write"  # mutations that are not a new post: media, metadata, delete
    CREATE = "create"  # a new post: the only kind that can "accept then hang"


@dataclass
class PlatformFaults:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    fail_next: int = 0
    fail_status: int = 503
    rate_limit_next: int = 0
    rate_limit_reset_s: int = 60
    # None means the platform's own status: 429, except Graph which answers 400.
    rate_limit_status: int | None = None
    # Meta's fakes (graph, instagram, threads): 4 (app, x-app-usage), 32 (page) or 80001 (page token, BUC).
    graph_throttle_code: int = 32
    hang_next: int = 0
    hang_max_s: float = 30.0
    # Errors and rate limits hit only mutations (write/create), not sign-in or reads.
    writes_only: bool = False
    # Advertised quota in the usual rate-limit headers; never enforced.
    quota: int | None = None
    quota_window_s: int | None = None


class Action(StrEnum):
    NONE = "none"
    ERROR = "error"
    RATE_LIMIT = "rate_limit"
    HANG = "hang"


@dataclass(frozen=True)
class Fault:
    action: Action = Action.NONE
    status: int = 0
    reset_after_s: int = 0
    hang_s: float = 0.0


NO_FAULT = Fault()
_FIELD_NAMES = {f.name for f in fields(PlatformFaults)}


@dataclass
class FaultBook:
    platforms: dict[str, PlatformFaults] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def starting(cls, *, latency_ms: float = 0.0, names: tuple[str, ...] = PLATFORMS) -> FaultBook:
        return cls({name: PlatformFaults(latency_ms=latency_ms) for name in names})

    def of(self, platform: str) -> PlatformFaults:
        return self.platforms[platform]

    def update(self, changes: dict[str, Any]) -> None:
        """Apply `{"x": {...}, "*": {...}, "seed": 1, "clear": true}`.

        Validates everything before changing anything, so a typo in a test's
        fault request fails loudly instead of half-applying.
        """
        names = tuple(self.platforms)
        unknown = set(changes) - set(names) - {"*", "seed", "clear"}
        if unknown:
            raise ValueError(f"unknown platforms: {sorted(unknown)}; use {list(names)} or '*'")
        staged: list[tuple[str, dict[str, Any]]] = []
        for name, values in changes.items():
            if name in ("seed", "clear"):
                continue
            if not isinstance(values, dict):
                raise ValueError(f"{name}: expected an object of fault settings")
            bad = set(values) - _FIELD_NAMES
            if bad:
                raise ValueError(f"{name}: unknown settings {sorted(bad)}; known: {sorted(_FIELD_NAMES)}")
            for key, value in values.items():
                _check_value(key, value)
            targets = names if name == "*" else (name,)
            staged.extend((target, values) for target in targets)
        if changes.get("clear"):
            latency = {n: f.latency_ms for n, f in self.platforms.items()}
            self.platforms = {n: PlatformFaults(latency_ms=latency[n]) for n in names}
        if "seed" in changes:
            self.rng.seed(changes["seed"])
        for target, values in staged:
            for key, value in values.items():
                setattr(self.platforms[target], key, value)

    def draw(self, platform: str, kind: Kind) -> Fault:
        """Decide this request's fault, consuming one-shot counters."""
        faults = self.platforms[platform]
        is_write = kind in (Kind.WRITE, Kind.CREATE)
        if is_write or not faults.writes_only:
            if faults.fail_next > 0:
                faults.fail_next -= 1
                return Fault(Action.ERROR, status=faults.fail_status)
            if faults.rate_limit_next > 0:
                faults.rate_limit_next -= 1
                return Fault(Action.RATE_LIMIT, reset_after_s=faults.rate_limit_reset_s)
            if faults.error_rate > 0 and self.rng.random() < faults.error_rate:
                return Fault(Action.ERROR, status=faults.error_status)
        if kind is Kind.CREATE and faults.hang_next > 0:
            faults.hang_next -= 1
            return Fault(Action.HANG, hang_s=faults.hang_max_s)
        return NO_FAULT

    def as_json(self) -> dict[str, Any]:
        return {name: asdict(f) for name, f in self.platforms.items()}


def _check_value(key: str, value: Any) -> None:
    if key in ("quota", "quota_window_s", "rate_limit_status") and value is None:
        return
    if key == "writes_only":
        if not isinstance(value, bool):
            raise ValueError("writes_only must be true or false")
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")
    if value < 0:
        raise ValueError(f"{key} must not be negative")
    if key == "error_rate" and value > 1:
        raise ValueError("error_rate is a probability between 0 and 1")
    if key == "hang_max_s" and value > 600:
        raise ValueError("hang_max_s is bounded at 600 seconds")
