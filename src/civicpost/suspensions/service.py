"""Starting, ending and releasing suspensions; every step is audited.

From the commit of a start, no ordinary delivery of a covered department
starts: the open ones already due are held here, in the same transaction, and
the worker's guard holds any other it is about to send (one it claimed a
moment before included). Emergencies are never held. Ending a suspension (by
hand or at its `until`) releases nothing: a person releases what it held, per
item or all, now, as scheduled, at a new time, or back to its author.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.db import rows_changed, utcnow, wake_after_commit
from civicpost.errors import Conflict, Forbidden, Invalid, NotFound
from civicpost.models import (
    EMERGENCY_LANE,
    OPEN_DELIVERY,
    Announcement,
    Comment,
    Delivery,
    DeliveryStatus,
    Department,
    State,
    Suspension,
    User,
)
from civicpost.suspensions import in_force

When = Literal["now", "as_scheduled", "at", "back_to_author"]
# A held item whose time passed more than this long ago is flagged: its words may no longer fit.
LONG_AGO = timedelta(hours=6)


def ensure_may_suspend(actor: User) -> None:
    if not actor.can_approve:
        raise Forbidden("only approvers and admins may start, end or release a suspension")


def departments_by_slug(session: Session, slugs: Sequence[str]) -> list[Department]:
    found = {d.slug: d for d in session.scalars(select(Department).where(Department.slug.in_(list(slugs))))}
    missing = [s for s in slugs if s not in found]
    if missing:
        raise Invalid("no such department: " + ", ".join(missing),
                      errors=[{"field": "departments", "message": f"no department with slug {s!r}"} for s in missing])
    return [found[s] for s in dict.fromkeys(slugs)]


def start(session: Session, *, actor: User | None, reason: str, departments: Sequence[str] | None = None,
          until: datetime | None = None, now: datetime | None = None,
          break_glass_of: int | None = None, actor_label: str | None = None) -> Suspension:
    """`break_glass_of`: the emergency whose break-glass publish asked for this pause of its department (the
    emergency publisher may start it then, approver or not)."""
    # actor None: an operator at the server's command line (`actor_label` names them), trusted as for
    # `civicpost user create`.
    if break_glass_of is None and actor is not None:
        ensure_may_suspend(actor)
    now = now or utcnow()
    reason = reason.strip()
    if not reason:
        raise Invalid("say why posts are paused", errors=[{"field": "reason", "message": "required, not blank"}])
    if until is not None and until <= now:
        raise Invalid("`until` must be in the future",
                      errors=[{"field": "until", "message": "a time after now, with its UTC offset"}])
    chosen = departments_by_slug(session, departments) if departments else None
    suspension = Suspension(reason=reason, department_ids=None if chosen is None else [d.id for d in chosen],
                            started_at=now, until=until, started_by_id=actor.id if actor else None)
    session.add(suspension)
    session.flush()
    held = hold_due(session, suspension, now=now)
    audit.record(session, actor=actor, actor_label=None if actor else actor_label, action="suspension.start",
                 object_type="suspension", object_id=suspension.id,
                 detail={"reason": reason, "departments": departments_of(session, suspension),
                         "until": until.isoformat() if until else None, "held_at_start": held,
                         **({"break_glass_of": break_glass_of} if break_glass_of is not None else {})})
    _notify(session, suspension, "start")
    return suspension


def hold_due(session: Session, suspension: Suspension, *, now: datetime,
             announcement_ids: Sequence[int] | None = None) -> int:
    """Hold the ordinary open deliveries of the covered departments already due (or of these announcements)."""
    covered = select(Announcement.id).where(Announcement.emergency.is_(False))
    if suspension.department_ids is not None:
        covered = covered.where(Announcement.department_id.in_(suspension.department_ids))
    if announcement_ids is not None:
        covered = covered.where(Announcement.id.in_(list(announcement_ids)))
    return rows_changed(session.execute(
        update(Delivery)
        .where(Delivery.status.in_(OPEN_DELIVERY), Delivery.lane != EMERGENCY_LANE, Delivery.next_attempt_at <= now,
               Delivery.announcement_id.in_(covered))
        .values(status=DeliveryStatus.held, held_by=suspension.id,
                last_error=f"held by suspension {suspension.id}: not sent")
        .execution_options(synchronize_session=False)
    ))


def get(session: Session, suspension_id: int) -> Suspension:
    suspension = session.get(Suspension, suspension_id)
    if suspension is None:
        raise NotFound(f"no suspension {suspension_id}")
    return suspension


def is_in_force(suspension: Suspension, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return suspension.ended_at is None and (suspension.until is None or suspension.until > now)


def listing(session: Session, *, active: bool | None = None) -> list[Suspension]:
    end_expired(session)
    query = select(Suspension).order_by(Suspension.id.desc())
    if active is True:
        query = query.where(Suspension.ended_at.is_(None))
    elif active is False:
        query = query.where(Suspension.ended_at.is_not(None))
    return list(session.scalars(query))


def end(session: Session, *, actor: User | None, suspension: Suspension, now: datetime | None = None,
        actor_label: str | None = None) -> Suspension:
    if actor is not None:
        ensure_may_suspend(actor)
    end_expired(session)
    if suspension.ended_at is not None:
        raise Conflict(f"suspension {suspension.id} already ended at {suspension.ended_at.isoformat()}")
    suspension.ended_at = now or utcnow()
    suspension.ended_by_id = actor.id if actor else None
    suspension.ended_how = "person"
    session.flush()
    audit.record(session, actor=actor, actor_label=None if actor else actor_label, action="suspension.end",
                 object_type="suspension", object_id=suspension.id, detail={"held": len(held(session, suspension))})
    _notify(session, suspension, "end")
    return suspension


def end_expired(session: Session, now: datetime | None = None, *, by: str = "civicpost") -> int:
    """End every suspension whose `until` has passed (at that time); nothing it held is released.
    `by`: who the audit trail names (a worker's name, or civicpost for a request that noticed it)."""
    now = now or utcnow()
    query = select(Suspension).where(Suspension.ended_at.is_(None), Suspension.until <= now).order_by(Suspension.id)
    if session.get_bind().dialect.name == "postgresql":
        # Two workers (or a worker and a request) never end, audit and announce one suspension twice.
        query = query.with_for_update(skip_locked=True)
    due = list(session.scalars(query))
    for suspension in due:
        suspension.ended_at = suspension.until
        suspension.ended_how = "until"
        session.flush()
        audit.record(session, actor=None, actor_label=by, action="suspension.end",
                     object_type="suspension", object_id=suspension.id,
                     detail={"at_until": True, "held": len(held(session, suspension))})
        _notify(session, suspension, "end")
    return len(due)


def held(session: Session, suspension: Suspension) -> list[Delivery]:
    """What this suspension holds now, by department then time."""
    return list(session.scalars(
        select(Delivery).join(Announcement, Announcement.id == Delivery.announcement_id)
        .where(Delivery.held_by == suspension.id, Delivery.status == DeliveryStatus.held)
        .order_by(Announcement.department_id, Delivery.due_at, Delivery.id)))


def departments_of(session: Session, suspension: Suspension) -> list[str] | None:
    if suspension.department_ids is None:
        return None
    return list(session.scalars(select(Department.slug).where(Department.id.in_(suspension.department_ids))
                                .order_by(Department.slug)))


def held_report(session: Session, suspension: Suspension, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """What is held, grouped by department: each item with its announcement, channel and time."""
    now = now or utcnow()
    items = held(session, suspension)
    announcements = {a.id: a for a in session.scalars(
        select(Announcement).where(Announcement.id.in_({d.announcement_id for d in items})))}
    groups: dict[str, dict[str, Any]] = {}
    for d in items:
        a = announcements[d.announcement_id]
        group = groups.setdefault(a.department.slug, {"department": a.department.slug,
                                                      "department_name": a.department.name, "deliveries": []})
        group["deliveries"].append({
            "id": d.id, "announcement_id": a.id, "title": a.title, "channel_id": d.channel_id,
            "platform": d.channel.platform, "channel": d.channel.name, "due_at": d.due_at,
            "long_overdue": d.due_at < now - LONG_AGO})
    return list(groups.values())


def release(session: Session, *, actor: User, suspension: Suspension, deliveries: Sequence[int] | Literal["all"],
            when: When, at: datetime | None = None, note: str | None = None,
            now: datetime | None = None) -> dict[str, Any]:
    """Let held deliveries go (or send their announcements back to their authors); answers what was done."""
    ensure_may_suspend(actor)
    now = now or utcnow()
    end_expired(session, now)
    if is_in_force(suspension, now):
        raise Conflict(f"suspension {suspension.id} is still in force: end it first "
                       f"(DELETE /api/v1/suspensions/{suspension.id}), then release what it held")
    if when == "at" and (at is None or at <= now):
        raise Invalid('`when: "at"` needs `at`, a time in the future',
                      errors=[{"field": "at", "message": "a future time with its UTC offset"}])
    if when != "at" and at is not None:
        raise Invalid('`at` goes only with `when: "at"`', errors=[{"field": "at", "message": 'only with when "at"'}])
    waiting = {d.id: d for d in held(session, suspension)}
    if deliveries == "all":
        chosen = list(waiting.values())
    else:
        unknown = [i for i in deliveries if i not in waiting]
        if unknown:
            raise Invalid(f"suspension {suspension.id} holds none of these deliveries: "
                          + ", ".join(map(str, unknown)),
                          errors=[{"field": "deliveries", "message": f"delivery {i} is not held by this suspension"}
                                  for i in unknown])
        chosen = [waiting[i] for i in dict.fromkeys(deliveries)]
    if when == "back_to_author":
        sent_back = _back_to_author(session, actor=actor, suspension=suspension, chosen=chosen, note=note)
        result: dict[str, Any] = {"released": 0, "sent_back": sent_back}
    else:
        for d in chosen:
            d.status = DeliveryStatus.pending
            d.last_error = None
            d.next_attempt_at = now if when == "now" else at if when == "at" else max(d.due_at, now)  # type: ignore[assignment]
        result = {"released": len(chosen), "sent_back": []}
        wake_after_commit(session)
    session.flush()
    audit.record(session, actor=actor, action="suspension.release", object_type="suspension",
                 object_id=suspension.id,
                 detail={"when": when, "at": at.isoformat() if at else None, "deliveries": [d.id for d in chosen],
                         "sent_back": result["sent_back"]})
    return {"when": when, "deliveries": [d.id for d in chosen], **result}


def _back_to_author(session: Session, *, actor: User, suspension: Suspension, chosen: list[Delivery],
                    note: str | None) -> list[int]:
    """Each announcement of `chosen` goes back to draft, its approval voided, with a note for its author.
    Refused for one with a post already out: release or cancel those items instead."""
    ids = sorted({d.announcement_id for d in chosen})
    out = {row[0] for row in session.execute(
        select(Delivery.announcement_id).where(
            Delivery.announcement_id.in_(ids),
            Delivery.status.not_in((DeliveryStatus.held, DeliveryStatus.cancelled))))}
    if out:
        raise Conflict("an announcement with a post already out (or on its way) cannot go back to its author: "
                       + ", ".join(map(str, sorted(out))) + "; release its held items or cancel it instead")
    text = (note or "").strip() or f"Held by a suspension ({suspension.reason}); please review it and submit it again."
    for announcement in session.scalars(select(Announcement).where(Announcement.id.in_(ids))):
        session.execute(update(Delivery).where(Delivery.announcement_id == announcement.id,
                                               Delivery.status == DeliveryStatus.held)
                        .values(status=DeliveryStatus.cancelled,
                                last_error="sent back to its author after a suspension")
                        .execution_options(synchronize_session=False))
        previous = announcement.state
        announcement.state = State.draft
        announcement.approved_fingerprint = None
        announcement.approved_by_id = None
        announcement.approved_at = None
        session.add(Comment(announcement_id=announcement.id, author_id=actor.id, body=text))
        session.flush()
        audit.record(session, actor=actor, action="sent_back", object_type="announcement", object_id=announcement.id,
                     detail={"suspension": suspension.id, "from_state": previous, "note": text})
    return ids


def covering(session: Session, department_id: int) -> Suspension | None:
    """The suspension in force over this department, if any."""
    holder = in_force(session).holder(department_id)
    return session.get(Suspension, holder) if holder is not None else None


def _notify(session: Session, suspension: Suspension, moment: Literal["start", "end"]) -> None:
    """Tell approvers and the departments' contacts (filled in by notifications, see notices.py)."""
    from civicpost.suspensions import notices

    notices.queue(session, suspension, moment)
