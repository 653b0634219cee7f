"""Break-glass publishing (SPEC §8.4): an emergency publisher sends an emergency
announcement at once, alone, with a reason; an approver other than them signs
it off afterwards, within the review window. Both steps are audited.
"""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import audit, notifications
from civicpost.db import utcnow
from civicpost.drafting import access, previews
from civicpost.drafting.workflow import release, require_state
from civicpost.errors import Conflict, Forbidden, Invalid, NotFound
from civicpost.models import Announcement, Delivery, State, User
from civicpost.rendering import Renderer
from civicpost.suspensions import service as suspensions

MAX_REASON = 500
MAX_NOTE = 2000


def may_publish_now(user: User, announcement: Announcement) -> bool:
    """Whether the page offers this person the break-glass form for this announcement."""
    return (user.emergency_publisher and announcement.emergency and user.is_member(announcement.department_id)
            and announcement.state in (State.draft, State.submitted))


def _checked_text(text: str | None, *, field: str, limit: int, required: bool) -> str:
    value = (text or "").strip()
    if required and not value:
        raise Invalid(f"give the {field}: why this cannot wait for a second person",
                      errors=[{"field": field, "message": "cannot be empty"}])
    if len(value) > limit:
        raise Invalid(f"the {field} is too long: use at most {limit} characters (it has {len(value)})",
                      errors=[{"field": field, "message": f"use at most {limit} characters"}])
    return value


def publish_now(session: Session, *, actor: User, announcement: Announcement, renderer: Renderer, reason: str,
                review_hours: int, now: datetime | None = None, suspend_department: bool = False) -> list[Delivery]:
    """Schedule every channel now, as an approval would, with no second person; a review falls due.
    With `suspend_department`, the department's other scheduled posts are paused too, with the same reason."""
    # Another department's announcement answers as a missing one, even to an approver.
    if not actor.is_member(announcement.department_id):
        raise NotFound(f"no announcement with id {announcement.id}")
    if not actor.emergency_publisher:
        raise Forbidden("only an emergency publisher may publish without a second person; submit it for approval, "
                        "or ask an administrator to make you an emergency publisher")
    if not announcement.emergency:
        raise Conflict(f"announcement {announcement.id} is not flagged as an emergency; only an emergency can be "
                       "published without approval: flag it, or submit it for approval")
    require_state(announcement, State.draft, State.submitted, action="publish now")
    reason = _checked_text(reason, field="reason", limit=MAX_REASON, required=True)
    now = now or utcnow()
    preview = previews.of_announcement(renderer, announcement)
    deliveries = release(session, actor=actor, announcement=announcement, renderer=renderer,
                         renditions=preview.renditions, signed=preview.fingerprint, due=now, now=now,
                         action="published")
    announcement.rejection_reason = None
    review_due_at = now + timedelta(hours=review_hours)
    announcement.review_due_at = review_due_at
    session.flush()
    audit.record(
        session, actor=actor, action="break_glass", object_type="announcement", object_id=announcement.id,
        fingerprint=preview.fingerprint,
        detail={"reason": reason, "deliveries": len(deliveries), "review_due_at": review_due_at.isoformat()},
    )
    notifications.queue(session, event=notifications.Event.break_glass, announcement_ids=[announcement.id],
                        reason=reason, by=actor.id)
    if suspend_department:
        # The emergency's own deliveries are in the emergency lane, which no suspension holds.
        suspensions.start(session, actor=actor, reason=reason, departments=[announcement.department.slug], now=now,
                          break_glass_of=announcement.id)
    return deliveries


def review(session: Session, *, actor: User, announcement: Announcement, note: str | None,
           now: datetime | None = None) -> None:
    """An approver other than the break-glass publisher signs the publish off."""
    access.ensure_can_view(actor, announcement)
    if not actor.can_approve:
        raise Forbidden("only an approver can sign off a break-glass publish")
    if announcement.review_due_at is None:
        raise Conflict(f"announcement {announcement.id} was not published by break glass; there is nothing to sign off")
    if announcement.reviewed_at is not None:
        raise Conflict(f"announcement {announcement.id} was already signed off")
    if actor.id == announcement.approved_by_id:
        raise Forbidden("you published it by break glass, so another approver must sign it off")
    note = _checked_text(note, field="note", limit=MAX_NOTE, required=False)
    announcement.reviewed_by_id = actor.id
    announcement.reviewed_at = now or utcnow()
    session.flush()
    audit.record(
        session, actor=actor, action="break_glass_reviewed", object_type="announcement", object_id=announcement.id,
        fingerprint=announcement.approved_fingerprint, detail={"note": note} if note else {},
    )


def awaiting_review(session: Session) -> list[Announcement]:
    """Break-glass publishes not yet signed off, the most pressing first."""
    return list(session.scalars(
        select(Announcement)
        .where(Announcement.review_due_at.is_not(None), Announcement.reviewed_at.is_(None))
        .order_by(Announcement.review_due_at, Announcement.id)
    ))
