"""What a send's result means for its delivery (SPEC §3): the rules, apart from the writing.

`decide` turns what happened (the platform's receipt or error, a take-back's
result, the guard's stop) and what is known of the delivery into a Decision:
published, retry at a time, failed, unknown for a person, cancelled,
retracted. Pure: no session and no clock of its own, so every rule is tested
without a database; recording.py writes decisions.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from civicpost.config import Settings
from civicpost.links import http_url
from civicpost.models import DeliveryStatus
from civicpost.platforms import (
    CredentialsError,
    MaybePosted,
    PermanentError,
    PlatformError,
    RateLimited,
    Receipt,
    TransientError,
)
from civicpost.platforms.plain import plain

# Writing a channel's last success on every delivery would hold that channel's
# row lock through each outcome and serialise a busy channel's workers.
HEALTH_EVERY = timedelta(seconds=5)


# -- what happened -------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """The platform has the post: it took it now, or (`found`) an earlier attempt's was found there."""

    receipt: Receipt
    found: bool = False


@dataclass(frozen=True)
class Unclear:
    """An earlier attempt may have posted and the platform cannot be asked: a person must look."""

    note: str


@dataclass(frozen=True)
class Stopped:
    """The guard stopped the send: its announcement was cancelled, retracted or changed after the claim,
    or (`held_by`, a suspension's id) a suspension of its department holds it."""

    held_by: int | None = None


@dataclass(frozen=True)
class TakenBack:
    """What the platform said when asked to take a post back."""

    outcome: Literal["deleted", "not_posted", "for_a_person"]
    note: str | None = None
    # The ids deleted, first part first: the record keeps where the post was.
    remote_ids: tuple[str, ...] = ()


# An exception is what a platform call raised: its class says what to do next.
Happened = Published | Unclear | Stopped | TakenBack | Exception


@dataclass(frozen=True)
class Facts:
    """What the rules need to know of a delivery and its channel, as its worker read them."""

    status: DeliveryStatus
    attempts: int
    reconcile: bool
    remote_id: str | None = None
    # Parts of a thread known to be on the platform, first to last.
    part_ids: tuple[str, ...] = ()
    retract_requested_at: datetime | None = None
    # The job was to take the post back, not to send it.
    take_back: bool = False
    # A retract came while the send was on its way (read under the outcome's row lock).
    retracting: bool = False
    channel_needs_attention: bool = False
    channel_last_success_at: datetime | None = None


# -- what to write -------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """Where a delivery's post is on the platform."""

    remote_id: str
    part_ids: tuple[str, ...] = ()
    url: str | None = None


@dataclass(frozen=True)
class Health:
    """What an outcome tells of its channel."""

    error: str | None = None  # the platform's complaint, kept with its time
    needs_attention: bool = False  # a person must fix the channel
    paused_until: datetime | None = None  # a rate limit: nothing goes to this channel until then
    working: bool = False  # a post went out: the channel is fine again


@dataclass(frozen=True)
class Decision:
    """One delivery's outcome, for recording.py to write. None leaves a column as it is."""

    status: DeliveryStatus | None
    note: str | None  # last_error, what a person reads; None clears it
    retry_at: datetime | None = None
    attempts: int | None = None
    reconcile: bool | None = None
    post: Post | None = None
    published_at: datetime | None = None
    retracted_at: datetime | None = None
    retract_done: bool = False  # nothing (more) to take back: clear retract_requested_at
    retract_requested_at: datetime | None = None  # still to take back, from this time
    channel: Health | None = None
    event: str | None = None  # the audit action, when the outcome is worth one
    detail: Mapping[str, Any] = field(default_factory=dict)
    settle: bool = False  # the announcement may be done
    take_back_soon: bool = False  # a post a retract wants gone may be up: look for take-backs now
    held_by: int | None = None  # the suspension that holds it


def backoff(attempts: int, settings: Settings, *, at_least: float | None = None) -> float:
    """Exponential with equal jitter, so many failures do not all retry at once."""
    ceiling = min(settings.retry_max_seconds, settings.retry_base_seconds * 2 ** max(0, attempts - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    return max(delay, at_least or 0)


def decide(happened: Happened, facts: Facts, *, settings: Settings, now: datetime) -> Decision:
    match happened:
        case Stopped(held_by=int() as suspension):
            # Never sent: it waits, as it was, for a person to release it; this claim did not count as an attempt.
            return Decision(DeliveryStatus.held, f"held by suspension {suspension}: not sent", held_by=suspension,
                            attempts=max(0, facts.attempts - 1), event="delivery.held",
                            detail={"suspension": suspension})
        case Stopped():
            # Never sent, so a retract has nothing to take back here.
            return Decision(DeliveryStatus.cancelled, "stopped before sending: the announcement was cancelled, "
                            "retracted or changed", retract_done=True)
        case Published(receipt=receipt, found=found):
            return _published(receipt, facts, found=found, now=now)
        case Unclear(note=note):
            return Decision(DeliveryStatus.unknown, note, event="delivery.unknown", detail={"error": note}, settle=True)
        case TakenBack():
            return _taken_back(happened, facts, now=now)
        case Exception() if facts.take_back:
            return _not_taken_back(happened, facts, settings=settings, now=now)
        case Exception() if facts.retracting:
            return _failed_after_retract(happened, facts, now=now)
        case Exception():
            return _failed(happened, facts, settings=settings, now=now)
    raise TypeError(f"no rule for {happened!r}")


def _published(receipt: Receipt, facts: Facts, *, found: bool, now: datetime) -> Decision:
    # A link is shown to residents and staff: only an http(s) address is kept
    # (a platform or webhook could answer "javascript:..."); the post still counts as published.
    url = http_url(receipt.remote_url)
    stale = (facts.channel_needs_attention or facts.channel_last_success_at is None
             or now - facts.channel_last_success_at > HEALTH_EVERY)
    return Decision(
        DeliveryStatus.published, None, reconcile=False, post=Post(receipt.remote_id, tuple(receipt.part_ids), url),
        published_at=now, channel=Health(working=True) if stale else None,
        event="delivery.published", detail={"remote_url": url, "found_on_platform": found}, settle=True,
        # It landed after a retract: delete it now, not at the next sweep.
        take_back_soon=facts.retracting,
    )


def _failed(error: Exception, facts: Facts, *, settings: Settings, now: datetime) -> Decision:
    """Retry, fail or unknown, from the error."""
    message = _message(error)
    partial = _partial(error, facts)
    if isinstance(error, RateLimited):
        wait = error.retry_after if error.retry_after is not None else backoff(facts.attempts, settings)
        until = now + timedelta(seconds=wait)
        # Waiting out a rate limit is not the post's fault: it costs no attempt.
        return Decision(DeliveryStatus.retrying, f"rate limited: {message}", retry_at=until,
                        attempts=max(0, facts.attempts - 1), post=partial, channel=Health(paused_until=until))
    if isinstance(error, PermanentError):
        return Decision(DeliveryStatus.failed, message, reconcile=False, post=partial,
                        channel=Health(error=message, needs_attention=isinstance(error, CredentialsError)),
                        event="delivery.failed", detail={"error": message}, settle=True)
    # Anything but a clean transient answer may have reached the platform.
    maybe_posted = isinstance(error, MaybePosted) or not isinstance(error, TransientError)
    if facts.attempts >= settings.max_attempts:
        status = DeliveryStatus.unknown if maybe_posted else DeliveryStatus.failed
        note = f"gave up after {facts.attempts} attempts: {message}"
        return Decision(status, note, post=partial, channel=Health(error=message),
                        event=f"delivery.{status}", detail={"error": note}, settle=True)
    retry_after = getattr(error, "retry_after", None)
    return Decision(DeliveryStatus.retrying, message,
                    retry_at=now + timedelta(seconds=backoff(facts.attempts, settings, at_least=retry_after)),
                    reconcile=facts.reconcile or maybe_posted, post=partial, channel=Health(error=message))


def _failed_after_retract(error: Exception, facts: Facts, *, now: datetime) -> Decision:
    """A send that failed after its announcement was retracted is never tried
    again; if it may have posted (or posted part of a thread), the worker
    looks for the post and deletes it."""
    message = _message(error)
    partial = _partial(error, facts)
    maybe_posted = isinstance(error, MaybePosted) or not isinstance(error, PermanentError | TransientError)
    if maybe_posted or partial or facts.remote_id:
        return Decision(DeliveryStatus.unknown,
                        f"retracted while this send was on its way ({message}); looking for the post to delete it",
                        retry_at=now, reconcile=maybe_posted or facts.reconcile, post=partial, take_back_soon=True)
    return Decision(DeliveryStatus.cancelled, f"announcement retracted before this channel published ({message})",
                    retract_done=True, reconcile=False, event="delivery.cancelled", detail={"error": message})


def _taken_back(result: TakenBack, facts: Facts, *, now: datetime) -> Decision:
    if result.outcome == "deleted":
        found = None
        if facts.remote_id is None and result.remote_ids:
            # Found on the platform after a send that did not say: keep where it was.
            found = Post(result.remote_ids[0], result.remote_ids)
        return Decision(DeliveryStatus.retracted, None, retract_done=True, retracted_at=now, reconcile=False,
                        post=found, event="delivery.retracted", detail={"error": None})
    if result.outcome == "not_posted":
        return Decision(DeliveryStatus.cancelled, result.note, retract_done=True, reconcile=False,
                        event="delivery.not_posted", detail={"error": result.note})
    # A person must look; the note says where.
    return Decision(DeliveryStatus.unknown, result.note, retract_done=True, reconcile=False,
                    event="delivery.unknown", detail={"error": result.note})


def _not_taken_back(error: Exception, facts: Facts, *, settings: Settings, now: datetime) -> Decision:
    """The platform did not take the post back; an error it did not name is tried again."""
    # A send taken back from its claim may have posted: it stays out of the queue.
    unsent = DeliveryStatus.unknown if facts.status == DeliveryStatus.sending else None
    still = facts.retract_requested_at or now
    if isinstance(error, TransientError) or not isinstance(error, PlatformError):
        retry_after = getattr(error, "retry_after", None)
        return Decision(unsent, f"could not delete yet: {error}", retract_requested_at=still,
                        retry_at=now + timedelta(seconds=backoff(1, settings, at_least=retry_after)))
    if isinstance(error, CredentialsError):
        # The post is still up: try again now and then, so it goes once someone fixes the channel.
        note = f"could not delete the post: {error}; fix the channel's credentials and it is tried again"
        return Decision(unsent, note, retract_requested_at=still,
                        retry_at=now + timedelta(seconds=settings.retry_max_seconds),
                        channel=Health(error=str(error), needs_attention=True),
                        event="delivery.retract_failed", detail={"error": note})
    note = f"could not delete the post: {error}"
    return Decision(unsent, note, retract_done=True, event="delivery.retract_failed", detail={"error": note})


def _message(error: Exception) -> str:
    # A platform's error is a sentence already; anything else would show as a Python repr or tuple.
    return str(error) if isinstance(error, PlatformError) and str(error) else plain(error)


def _partial(error: Exception, facts: Facts) -> Post | None:
    """The parts a failed thread did post: the next attempt continues after
    them, and a retract can delete them."""
    partial: Receipt | None = getattr(error, "partial", None)
    if partial is None or len(partial.part_ids) <= len(facts.part_ids):
        return None
    return Post(partial.part_ids[0], tuple(partial.part_ids))
