"""The staff dashboard: my drafts, what waits for me, deliveries that need a person."""

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import contributors, quiet
from civicpost.db import utcnow
from civicpost.drafting import break_glass
from civicpost.models import Announcement, Channel, Delivery, DeliveryStatus, State, User
from civicpost.web.deps import SessionDep
from civicpost.web.pages import live
from civicpost.web.pages.common import StaffUser, render

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, user: StaffUser) -> HTMLResponse:
    return render(request, "staff/dashboard.html", {**lists(session, user), "reviews": reviews(session, user)},
                  user=user)


def reviews(session: Session, user: User) -> list[dict[str, Any]]:
    """Break-glass publishes an approver must still sign off, with the minutes left (negative: overdue)."""
    if not user.can_approve:
        return []
    now = utcnow()
    return [{"announcement": a, "minutes_left": int((a.review_due_at - now).total_seconds() // 60)}
            for a in break_glass.awaiting_review(session) if a.review_due_at is not None]


@router.get("/dashboard/live", response_class=HTMLResponse)
def dashboard_live(request: Request, session: SessionDep, user: StaffUser) -> Response:
    return live.fragment(request, "staff/_dashboard_live.html", {**lists(session, user), "user": user})


def lists(session: Session, user: User) -> dict[str, Any]:
    """My drafts, what waits for me, and the deliveries that need a person."""
    mine = session.scalars(
        select(Announcement)
        .where(
            Announcement.author_id == user.id, Announcement.state.in_([State.draft, State.rejected, State.submitted])
        )
        .order_by(Announcement.updated_at.desc())
        .limit(50)
    ).all()
    waiting: Sequence[Announcement] = []
    if user.can_approve:
        waiting = session.scalars(
            select(Announcement)
            .where(Announcement.state == State.submitted, Announcement.author_id != user.id)
            .order_by(Announcement.emergency.desc(), Announcement.publish_at.asc().nulls_first(), Announcement.id)
            .limit(50)
        ).all()
        # Nothing they wrote or changed waits for them: a second person must approve it.
        wrote = contributors.of_many(session, list(waiting))
        waiting = [a for a in waiting if user.id not in wrote[a.id]]
    troubled = (
        select(Delivery, Announcement, Channel)
        .join(Announcement, Announcement.id == Delivery.announcement_id)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(Delivery.status.in_([DeliveryStatus.failed, DeliveryStatus.unknown]))
    )
    if not user.can_approve:
        troubled = troubled.where(Announcement.department_id.in_([d.id for d in user.departments]))
    problems = session.execute(troubled.order_by(Delivery.updated_at.desc()).limit(50)).all()
    said = [f"{len(problems)} {'delivery needs' if len(problems) == 1 else 'deliveries need'} a person"]
    if user.can_approve:
        said.append(f"{len(waiting)} waiting for your approval")
    summary = "Dashboard: " + ", ".join(said) + "."
    # Admins look after every department's channels; everyone else after their own departments'.
    surveyed = quiet.survey(session, now=utcnow(),
                            department_ids=None if user.is_admin else [d.id for d in user.departments])
    return {"mine": mine, "waiting": waiting, "problems": problems, "live_summary": summary,
            "quiet": [q for q in surveyed if q.stale], "expiring": [q for q in surveyed if q.expiring]}
