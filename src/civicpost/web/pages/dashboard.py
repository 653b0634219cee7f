"""The staff dashboard: my drafts, what waits for me, deliveries that need a person."""

from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from civicpost import contributors
from civicpost.models import Announcement, Channel, Delivery, DeliveryStatus, State
from civicpost.web.deps import SessionDep
from civicpost.web.pages.common import StaffUser, render

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, user: StaffUser) -> HTMLResponse:
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
    return render(request, "staff/dashboard.html", {"mine": mine, "waiting": waiting, "problems": problems}, user=user)
