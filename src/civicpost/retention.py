"""Retention and legal hold (the record): a department's announcements are kept
`retention_years` after they finished (published, retracted, cancelled or failed:
counted from the announcement's last change); then they *may* be disposed of, by
a person, with a reason, one explicit command at a time. Nothing is ever deleted
by itself, and nothing on legal hold is deleted at all.

Disposal deletes the announcement with everything that hangs from it (versions,
deliveries, comments, readings) and leaves an audit event saying what it was,
who disposed of it and why: the record that a record was destroyed.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from civicpost import audit, public_site
from civicpost.errors import Conflict, Forbidden, Invalid, NotFound
from civicpost.insights import rollup
from civicpost.models import Announcement, Delivery, Department, State, User

# Announcements that are over: nothing more will be sent for them.
FINISHED = (State.published, State.retracted, State.cancelled, State.failed)
MAX_YEARS = 100
MAX_REASON = 1000


@dataclass(frozen=True)
class Due:
    announcement_id: int
    department: str
    title: str
    state: str
    finished_at: datetime
    due_at: datetime


def _reason(reason: str | None, *, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise Invalid(f"say why you {what}: a reason is required and kept in the audit trail",
                      errors=[{"field": "reason", "message": "required"}])
    if len(text) > MAX_REASON or any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise Invalid(f"the reason must be plain text of at most {MAX_REASON} characters",
                      errors=[{"field": "reason", "message": "too long or has control characters"}])
    return text


def _admin(actor: User, what: str) -> None:
    if not actor.is_admin:
        raise Forbidden(f"only an administrator may {what}")


def set_retention(session: Session, *, actor: User, department: Department, years: int | None) -> None:
    _admin(actor, "set how long a department's records are kept")
    if years is not None and not 1 <= years <= MAX_YEARS:
        raise Invalid(f"retention_years must be between 1 and {MAX_YEARS}, or null to keep records until one is set",
                      errors=[{"field": "retention_years", "message": "out of range"}])
    before = department.retention_years
    department.retention_years = years
    audit.record(session, actor=actor, action="department.retention", object_type="department",
                 object_id=department.id, detail={"from": before, "to": years})


def hold(session: Session, *, actor: User, announcement: Announcement, reason: str | None) -> None:
    """Place a legal hold: the announcement is never disposed of while it lasts."""
    _admin(actor, "place a legal hold")
    said = _reason(reason, what="place the hold")
    if announcement.legal_hold:
        raise Conflict(f"announcement {announcement.id} is already on legal hold ({announcement.legal_hold_reason})")
    _set_hold(session, announcement, said)
    audit.record(session, actor=actor, action="legal_hold.placed", object_type="announcement",
                 object_id=announcement.id, detail={"reason": said})


def lift(session: Session, *, actor: User, announcement: Announcement, reason: str | None) -> None:
    _admin(actor, "lift a legal hold")
    said = _reason(reason, what="lift the hold")
    if not announcement.legal_hold:
        raise Conflict(f"announcement {announcement.id} is not on legal hold")
    _set_hold(session, announcement, None)
    audit.record(session, actor=actor, action="legal_hold.lifted", object_type="announcement",
                 object_id=announcement.id, detail={"reason": said})


def _set_hold(session: Session, announcement: Announcement, reason: str | None) -> None:
    # Written past the ORM: a hold is not a change to the announcement, so its updated_at
    # (from which retention counts) and its version (which an approval checks) stay.
    session.execute(update(Announcement).where(Announcement.id == announcement.id)
                    .values(legal_hold=reason is not None, legal_hold_reason=reason,
                            updated_at=Announcement.updated_at).execution_options(synchronize_session=False))
    session.refresh(announcement, ["legal_hold", "legal_hold_reason"])


def withdraw_notice(session: Session, *, actor: User, announcement: Announcement, reason: str | None,
                    now: datetime) -> None:
    """Take even the retraction notice off the public address, for a legal reason (audited):
    it then answers 410 saying only that the announcement is no longer available."""
    _admin(actor, "withdraw a retraction notice")
    said = _reason(reason, what="withdraw the notice")
    if announcement.state != State.retracted:
        raise Conflict(f"announcement {announcement.id} is {announcement.state}: only a retracted "
                       "announcement has a notice to withdraw")
    if announcement.notice_withdrawn_at is not None:
        raise Conflict(f"the notice of announcement {announcement.id} was withdrawn already")
    session.execute(update(Announcement).where(Announcement.id == announcement.id)
                    .values(notice_withdrawn_at=now, updated_at=Announcement.updated_at)
                    .execution_options(synchronize_session=False))
    public_site.changed(session)  # its 410 page no longer shows the notice
    session.refresh(announcement, ["notice_withdrawn_at"])
    audit.record(session, actor=actor, action="notice.withdrawn", object_type="announcement",
                 object_id=announcement.id, detail={"reason": said})


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def due(session: Session, *, now: datetime, department: Department | None = None) -> list[Due]:
    """Finished announcements past their department's retention and not on hold, the longest due first."""
    query = (select(Announcement.id, Announcement.title, Announcement.state, Announcement.updated_at,
                    Department.slug, Department.retention_years)
             .join(Department, Department.id == Announcement.department_id)
             .where(Department.retention_years.is_not(None), Announcement.state.in_(FINISHED),
                    Announcement.legal_hold.is_(False)))
    if department is not None:
        query = query.where(Department.id == department.id)
    found = []
    for row in session.execute(query):
        at = _add_years(row.updated_at, row.retention_years)
        if at <= now:
            found.append(Due(row.id, row.slug, row.title, row.state, row.updated_at, at))
    return sorted(found, key=lambda d: (d.due_at, d.announcement_id))


def dispose(session: Session, *, actor: User, announcement_ids: Sequence[int], reason: str | None,
            now: datetime) -> list[Due]:
    """Delete these announcements, all or none: each must be past its retention and not on hold."""
    _admin(actor, "dispose of records")
    said = _reason(reason, what="dispose of these records")
    wanted = sorted(set(announcement_ids))
    if not wanted:
        raise Invalid("name the announcements to dispose of", errors=[{"field": "ids", "message": "required"}])
    rows = {a.id: a for a in session.scalars(select(Announcement).where(Announcement.id.in_(wanted)))}
    if missing := [i for i in wanted if i not in rows]:
        raise NotFound(f"no announcement {', '.join(map(str, missing))}: nothing was disposed of")
    if held := [i for i in wanted if rows[i].legal_hold]:
        raise Conflict(f"announcement {', '.join(map(str, held))} is on legal hold: nothing was disposed of")
    ready = {d.announcement_id: d for d in due(session, now=now) if d.announcement_id in rows}
    if early := [i for i in wanted if i not in ready]:
        raise Conflict(f"announcement {', '.join(map(str, early))} has not passed its department's retention "
                       f"(or is not finished): nothing was disposed of; `civicpost records due` lists what has")
    for announcement_id in wanted:
        gone = ready[announcement_id]
        audit.record(session, actor=actor, action="record.disposed", object_type="announcement",
                     object_id=announcement_id,
                     detail={"reason": said, "title": gone.title, "department": gone.department, "state": gone.state,
                             "finished_at": gone.finished_at.isoformat(), "due_at": gone.due_at.isoformat()})
    # The insights' counts are kept apart from the posts they count: take these posts out first.
    rollup.forget(session, list(session.scalars(select(Delivery.id).where(Delivery.announcement_id.in_(wanted)))))
    session.execute(delete(Announcement).where(Announcement.id.in_(wanted)).execution_options(
        synchronize_session=False))
    public_site.changed(session)  # a disposed record's 410 page goes with it
    return [ready[i] for i in wanted]
