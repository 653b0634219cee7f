"""Log-spaced buckets for engagement, so that medians over any set of weeks can be combined.

A post's engagement (an integer) below EXACT has a bucket of its own; above it,
buckets grow by GAMMA, so that every value in a bucket is within ERROR of the
bucket's middle (relative to the value). Engagement per follower (a fraction)
has log-spaced buckets only. A median read from counts per bucket is the
bucket's middle value (or two of them interpolated as percentile_cont does),
hence within ERROR of the exact median: the interpolation of two values each
within ERROR is within ERROR too.
"""

import math
from collections.abc import Mapping

# The stated relative error of every median read from the summaries.
ERROR = 0.05
GAMMA = (1 + ERROR) / (1 - ERROR)
_LOG_GAMMA = math.log(GAMMA)
# Engagement below this is counted exactly: small numbers read as they are.
EXACT = 128
_FIRST_LOG = math.ceil(math.log(EXACT) / _LOG_GAMMA)
# Per-follower buckets: zero has its own, and "followers unknown" is a bucket no median reads.
ZERO = -1_000_000
UNKNOWN = -1_000_001


def bucket(engagement: int) -> int:
    """The bucket of an engagement count; buckets sort as their values do."""
    if engagement < EXACT:
        return max(0, int(engagement))
    return EXACT + _log_index(engagement) - _FIRST_LOG


def per_follower_bucket(engagement: int, followers: int | None) -> int:
    if not followers or followers <= 0:
        return UNKNOWN
    if engagement <= 0:
        return ZERO
    return _log_index(engagement / followers)


def _log_index(value: float) -> int:
    index = math.ceil(math.log(value) / _LOG_GAMMA)
    # Float rounding at a bucket's edge: keep the value inside (GAMMA^(i-1), GAMMA^i].
    if GAMMA ** (index - 1) >= value:
        index -= 1
    elif GAMMA ** index < value:
        index += 1
    return index


def _log_middle(index: int) -> float:
    # The middle of (GAMMA^(i-1), GAMMA^i] in the relative sense: at most ERROR from either edge.
    return 2 * GAMMA ** index / (GAMMA + 1)


def engagement_value(key: int) -> float:
    return float(key) if key < EXACT else _log_middle(key - EXACT + _FIRST_LOG)


def per_follower_value(key: int) -> float:
    return 0.0 if key == ZERO else _log_middle(key)


def median(counts: Mapping[int, int], *, per_follower: bool = False) -> float | None:
    """percentile_cont(0.5) over counts per bucket, each value taken as its bucket's middle."""
    keys = sorted(k for k, n in counts.items() if n > 0 and k != UNKNOWN)
    total = sum(counts[k] for k in keys)
    if not total:
        return None
    value = per_follower_value if per_follower else engagement_value
    position = 0.5 * (total - 1)
    lower, upper = math.floor(position), math.ceil(position)
    found: dict[int, float] = {}
    seen = 0
    for key in keys:
        for rank in (lower, upper):
            if rank not in found and seen <= rank < seen + counts[key]:
                found[rank] = value(key)
        seen += counts[key]
        if upper in found:
            break
    first = found[lower]
    return first + (found[upper] - first) * (position - lower)
