"""The state machine (SPEC §3): submit, approve, reject, cancel, retract, a
person's retry of a delivery, and what an edit does to an approval. Every
transition writes an audit event.

Two approvers racing: the announcement row carries a version that every UPDATE
checks (SQLAlchemy's version_id_col), so the second writer updates no row and
gets a 409 instead of a second set of deliveries.
"""

import uuid
from datetime import datetime

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.orm import Session

from civicpost import audit, contributors, notifications, quotas, redirects
from civicpost.content import Rendition
from civicpost.db import rows_changed, utcnow, wake_after_commit
from civicpost.drafting import access, editing, previews, versions
from civicpost.errors import Conflict, Forbidden, Invalid
from civicpost.models import (
    EMERGENCY_LANE,
    OPEN_DELIVERY,
    ORDINARY_LANE,
    Announcement,
    Delivery,
    DeliveryStatus,
    Reader,
    State,
    User,
)
from civicpost.platforms import spec
from civicpost.rendering import Renderer
from civicpost.suspensions import service as suspensions

EDITABLE = (State.draft, State.submitted, State.rejected, State.scheduled)
# Deliveries not yet started: open ones, and those a suspension holds.
WAITING = (*OPEN_DELIVERY, DeliveryStatus.held)


def require_state(announcement: Announcement, *allowed: State, action: str) -> None:
    if announcement.state not in allowed:
        wanted = " or ".join(s.value for s in allowed)
        raise Conflict(
            f"cannot {action} announcement {announcement.id}: it is {announcement.state}, "
            f"and only a {wanted} announcement can be"
        )


def current_fingerprint(renderer: Renderer, announcement: Announcement) -> str:
    """What an approver must send back to approve the announcement as it stands."""
    return previews.of_announcement(renderer, announcement).fingerprint


def create(
    session: Session, *, author: User | Reader, data, zone, renderer: Renderer
) -> tuple[Announcement, previews.Preview]:
    """A new draft and its first version; answers the preview too (the API shows it)."""
    # Its first version and audit event go in as plain rows after the announcement's
    # own INSERTs, in one statement where the database allows: no unit of work.
    with audit.collected(session) as together:
        announcement = editing.create(session, author=author, data=data, zone=zone)
        shown = previews.of_announcement(renderer, announcement)
        together.append(versions.first(announcement=announcement, preview=shown, actor=author))
    return announcement, shown


def edit(session: Session, *, actor: User, announcement: Announcement, patch, zone, renderer: Renderer) -> list[str]:
    access.ensure_can_edit(actor, announcement)
    if announcement.follows_id is not None:
        raise Conflict(f"announcement {announcement.id} is a follow-up of alert {announcement.follows_id} and goes out "
                       f"as posted; to say more, post another update to alert {announcement.follows_id}")
    require_state(announcement, *EDITABLE, action="edit")
    changed = editing.apply_patch(session, announcement=announcement, patch=patch, zone=zone, actor=actor)
    if not changed:
        return changed
    previous = announcement.state
    if previous == State.rejected:
        announcement.state = State.draft
    elif previous in (State.submitted, State.scheduled):
        _void_approval(session, announcement)
        announcement.state = State.submitted
    announcement.updated_at = utcnow()
    session.flush()
    version = versions.record(session, announcement=announcement, actor=actor, reason="edit",
                              preview=previews.of_announcement(renderer, announcement))
    audit.record(
        session, actor=actor, action="edit", object_type="announcement", object_id=announcement.id,
        fingerprint=version.fingerprint,
        detail={"changed": changed, "from_state": previous, "to_state": announcement.state, "version": version.number},
    )
    return changed


def _stop_open_deliveries(session: Session, announcement: Announcement, reason: str) -> int:
    """Cancel every delivery a worker has not picked up; one already leased is
    stopped by the worker's guard before it sends."""
    return rows_changed(session.execute(
        update(Delivery)
        .where(Delivery.announcement_id == announcement.id, Delivery.status.in_(WAITING))
        .values(status=DeliveryStatus.cancelled, last_error=reason)
        .execution_options(synchronize_session=False)
    ))


def _void_approval(session: Session, announcement: Announcement) -> None:
    if announcement.approved_fingerprint is None:
        return
    voided = _stop_open_deliveries(session, announcement, "approval voided: the announcement was edited")
    audit.record(
        session, actor=None, actor_label="civicpost", action="approval_voided", object_type="announcement",
        object_id=announcement.id, fingerprint=announcement.approved_fingerprint,
        detail={"deliveries_stopped": voided},
    )
    announcement.approved_fingerprint = None
    announcement.approved_by_id = None
    announcement.approved_at = None


def _refuse_blocking(renditions: list[Rendition], *, action: str) -> None:
    """422 with every problem that breaks a hard rule, per channel."""
    blocking = [(r, p) for r in renditions for p in r.blocking]
    if blocking:
        raise Invalid(
            f"this announcement cannot be {action} until these problems are fixed",
            errors=[
                {
                    "field": f"renditions.{r.channel_id}",
                    "code": p.code,
                    "message": p.message,
                    "suggestion": p.suggestion,
                }
                for r, p in blocking
            ],
        )


def _refuse_over_daily_limit(session: Session, announcement: Announcement, *, moment: datetime,
                             now: datetime) -> None:
    """422 when one more post would take a channel over its platform's daily limit (quotas.py)."""
    channels = [target.channel for target in announcement.targets]
    problems = quotas.daily_limit_problems(session, channels=channels, moment=moment,
                                           announcement_id=announcement.id, now=now)
    if problems:
        raise Invalid(
            "this announcement cannot be approved for that time: a channel would go over its platform's daily limit",
            errors=[
                {"field": f"renditions.{channel_id}", "code": p.code, "message": p.message, "suggestion": p.suggestion}
                for channel_id, p in problems.items()
            ],
        )


def submit(session: Session, *, actor: User, announcement: Announcement, renderer: Renderer) -> None:
    access.ensure_can_edit(actor, announcement)
    require_state(announcement, State.draft, action="submit")
    if not announcement.targets:
        raise Invalid(
            "choose at least one channel before submitting",
            errors=[{"field": "channels", "message": "no target channels"}],
        )
    # An approver could not approve it as it is: say so to the author now.
    preview = previews.of_announcement(renderer, announcement)
    _refuse_blocking(preview.renditions, action="submitted")
    announcement.state = State.submitted
    announcement.rejection_reason = None
    session.flush()
    audit.record(
        session, actor=actor, action="submit", object_type="announcement", object_id=announcement.id,
        fingerprint=preview.fingerprint,
    )
    notifications.queue(session, event=notifications.Event.waiting, announcement_ids=[announcement.id])


def release(session: Session, *, actor: User, announcement: Announcement, renderer: Renderer,
             renditions: list[Rendition], signed: str, due: datetime, now: datetime, action: str) -> list[Delivery]:
    """Schedule the signed content: one delivery per channel, due at `due` (approval and break glass alike)."""
    _refuse_blocking(renditions, action=action)
    if not announcement.emergency:
        # An emergency is not refused for the city's own ordinary posts planned that day: it goes first,
        # and if the platform itself refuses (its real limit), the delivery waits as for any rate limit.
        _refuse_over_daily_limit(session, announcement, moment=due, now=now)
    announcement.state = State.scheduled
    announcement.approved_fingerprint = signed
    announcement.approved_by_id = actor.id
    announcement.approved_at = now
    deliveries = [
        Delivery(
            key=str(uuid.uuid4()),
            announcement_id=announcement.id,
            channel_id=r.channel_id,
            status=DeliveryStatus.pending,
            fingerprint=signed,
            rendition=r.payload(),
            due_at=due,
            next_attempt_at=due,
            lane=EMERGENCY_LANE if announcement.emergency else ORDINARY_LANE,
        )
        for r in renditions
    ]
    session.add_all(deliveries)
    if renderer.tracking is not None:
        redirects.remember(session, renderer.tracking, announcement)
    session.flush()
    wake_after_commit(session)
    return deliveries


def approve(
    session: Session,
    *,
    actor: User,
    announcement: Announcement,
    renderer: Renderer,
    seen_fingerprint: str,
    now: datetime | None = None,
    confirm_suspended: bool = False,
) -> list[Delivery]:
    """Approve the content the approver saw (`seen_fingerprint`), and nothing else.

    A contributor (see contributors.py) may not approve: a version check on
    the announcement row makes an edit racing this approval fail one of the two.
    """
    if not actor.can_approve:
        raise Forbidden("only approvers and admins may approve announcements")
    if actor.id in contributors.of(session, announcement):
        raise Forbidden(contributors.refusal(actor, announcement))
    require_state(announcement, State.submitted, action="approve")
    preview = previews.of_announcement(renderer, announcement)
    renditions, signed = preview.renditions, preview.fingerprint
    if seen_fingerprint != signed:
        raise Conflict("the announcement changed after you looked at it; review it again before approving")
    now = now or utcnow()
    pause = None if announcement.emergency else suspensions.covering(session, announcement.department_id)
    if pause is not None and not confirm_suspended:
        raise Conflict(f"scheduled posts of this department are paused (suspension {pause.id}: {pause.reason}); "
                       f"to approve anyway, send confirm_suspended: true; the announcement then waits, held, "
                       f"until a person releases it after the suspension ends")
    due = max(announcement.publish_at or now, now)
    deliveries = release(session, actor=actor, announcement=announcement, renderer=renderer,
                          renditions=renditions, signed=signed, due=due, now=now, action="approved")
    if pause is not None:
        suspensions.hold_due(session, pause, now=now, announcement_ids=[announcement.id])
    audit.record(
        session, actor=actor, action="approve", object_type="announcement", object_id=announcement.id,
        fingerprint=signed, detail={"due_at": due.isoformat(), "deliveries": len(deliveries)},
    )
    notifications.queue(session, event=notifications.Event.approved, announcement_ids=[announcement.id])
    return deliveries


def reject(session: Session, *, actor: User, announcement: Announcement, reason: str) -> None:
    if not actor.can_approve:
        raise Forbidden("only approvers and admins may reject announcements")
    require_state(announcement, State.submitted, action="reject")
    announcement.state = State.rejected
    announcement.rejection_reason = reason
    session.flush()
    audit.record(
        session, actor=actor, action="reject", object_type="announcement", object_id=announcement.id,
        detail={"reason": reason},
    )
    notifications.queue(session, event=notifications.Event.rejected, announcement_ids=[announcement.id], reason=reason)


def cancel(session: Session, *, actor: User, announcement: Announcement) -> int:
    """Stop the announcement before it publishes; returns how many deliveries were stopped."""
    access.ensure_can_view(actor, announcement)
    if actor.can_approve:
        require_state(announcement, State.draft, State.submitted, State.rejected, State.scheduled, action="cancel")
    elif announcement.author_id == actor.id:
        require_state(announcement, State.draft, State.submitted, State.rejected, action="cancel")
    else:
        raise Forbidden("only the author (before approval) or an approver may cancel")
    stopped = _stop_open_deliveries(session, announcement, "cancelled before publishing")
    previous = announcement.state
    announcement.state = State.cancelled
    session.flush()
    audit.record(
        session, actor=actor, action="cancel", object_type="announcement", object_id=announcement.id,
        fingerprint=announcement.approved_fingerprint, detail={"from_state": previous, "deliveries_stopped": stopped},
    )
    return stopped


# Deliveries whose post is, or may be, on a platform: retract takes each back.
# A send that may have reached the platform (an interrupted or timed-out send
# waiting to be reconciled, one with part of a thread out) leaves the queue as
# `unknown`, so no worker posts it again; the worker looks for it and deletes it.
_MAY_HAVE_POSTED = or_(
    Delivery.status.in_((DeliveryStatus.published, DeliveryStatus.sending, DeliveryStatus.unknown)),
    and_(
        Delivery.status.in_((*WAITING, DeliveryStatus.failed)),
        or_(Delivery.reconcile.is_(True), Delivery.remote_id.is_not(None)),
    ),
)


def retract(session: Session, *, actor: User, announcement: Announcement, reason: str | None = None) -> int:
    """Stop what has not started and have the worker take back every post,
    including those of sends still on the wire (deleted as soon as they land);
    the record stays. Returns how many deliveries are to be taken back."""
    if not actor.can_approve:
        raise Forbidden("only approvers and admins may retract announcements")
    require_state(announcement, State.publishing, State.published, State.failed, action="retract")
    now = utcnow()
    marked = rows_changed(session.execute(
        update(Delivery)
        .where(Delivery.announcement_id == announcement.id, _MAY_HAVE_POSTED)
        .values(
            retract_requested_at=now,
            status=case((Delivery.status.in_(WAITING), DeliveryStatus.unknown), else_=Delivery.status),
            # A send in flight keeps its claim time; everything else is due now.
            next_attempt_at=case((Delivery.status == DeliveryStatus.sending, Delivery.next_attempt_at), else_=now),
        )
        .execution_options(synchronize_session=False)
    ))
    _stop_open_deliveries(session, announcement, "announcement retracted before this channel published")
    announcement.state = State.retracted
    announcement.retracted_at, announcement.retraction_reason = now, reason
    session.flush()
    wake_after_commit(session)
    audit.record(
        session, actor=actor, action="retract", object_type="announcement", object_id=announcement.id,
        fingerprint=announcement.approved_fingerprint,
        detail={"posts_to_delete": marked, **({"reason": reason} if reason else {})},
    )
    return marked


def retry(session: Session, *, actor: User, delivery: Delivery) -> None:
    """A person looked at a failed or unknown delivery and asks for another try."""
    if not actor.can_approve:
        raise Forbidden("only approvers and admins may retry deliveries")
    if delivery.status not in (DeliveryStatus.failed, DeliveryStatus.unknown):
        raise Conflict(f"delivery {delivery.id} is {delivery.status}; only a failed or unknown delivery can be retried")
    announcement = session.get_one(Announcement, delivery.announcement_id)
    if announcement.approved_fingerprint != delivery.fingerprint or announcement.state not in (
        State.publishing, State.published, State.failed
    ):
        raise Conflict("the announcement was changed, cancelled or retracted since this delivery was approved")
    was = delivery.status
    delivery.status = DeliveryStatus.pending
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    # After `unknown` a person has looked; still, ask the platform first where it can tell.
    delivery.reconcile = was == DeliveryStatus.unknown and spec(delivery.channel.platform).capabilities.find
    if announcement.state != State.publishing:
        announcement.state = State.publishing
    audit.record(session, actor=actor, action="delivery.retry", object_type="announcement", object_id=announcement.id,
                 fingerprint=delivery.fingerprint, detail={"delivery": delivery.id, "was": was})
    wake_after_commit(session)


def deliveries_of(session: Session, announcement: Announcement) -> list[Delivery]:
    return list(
        session.scalars(select(Delivery).where(Delivery.announcement_id == announcement.id).order_by(Delivery.id))
    )
