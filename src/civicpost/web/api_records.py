"""The record under /api/v1: every version of what an announcement said, how long a
department's records are kept, legal holds, and what has passed its retention."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from civicpost import accounts, retention
from civicpost.db import utcnow
from civicpost.drafting import access, versions
from civicpost.schemas import Strict
from civicpost.web import views
from civicpost.web.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, one_trip
from civicpost.web.params import IdPath, SlugPath, SlugQuery
from civicpost.web.quick_route import QuickRoute
from civicpost.web.shapes import ERRORS, DepartmentOut, Instant, Shape
from civicpost.web.views import instant

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=QuickRoute)


class VersionOut(Shape):
    number: int
    created_at: Instant
    author: str | None  # the person's email; None for a change no person made
    author_name: str | None
    reason: str  # create or edit
    fingerprint: str  # what an approval of this version signed
    content: dict[str, Any]  # title, body, link, language, publish_at, emergency, alert, translations,
    # channels (with override_text), media (with alt_text) and every channel's rendition


@router.get("/announcements/{announcement_id}/versions", response_model=list[VersionOut])
@one_trip
def list_versions(announcement_id: IdPath, session: SessionDep, user: CurrentUser,
                  settings: SettingsDep) -> list[VersionOut]:
    """Every version of the announcement, the first first: nothing is overwritten."""
    announcement = access.get_visible(session, announcement_id, viewer=user)
    return [VersionOut(number=v.number, created_at=instant(v.created_at, settings.zone) or "",
                       author=v.author.email if v.author else None, author_name=v.author.name if v.author else None,
                       reason=v.reason, fingerprint=v.fingerprint, content=v.content)
            for v in versions.of(session, announcement.id)]


class RetentionIn(Strict):
    retention_years: int | None = Field(description="years a finished announcement is kept before it may be "
                                                    "disposed of (1-100); null: kept until one is set")


class HoldIn(Strict):
    reason: str = Field(max_length=retention.MAX_REASON, description="why; kept in the audit trail")


class HoldOut(Shape):
    announcement_id: int
    legal_hold: bool
    legal_hold_reason: str | None


class DueOut(Shape):
    announcement_id: int
    department: str
    title: str
    state: str
    finished_at: Instant
    due_at: Instant


@router.patch("/departments/{slug}", response_model=DepartmentOut)
@one_trip
def change_department(slug: SlugPath, body: RetentionIn, session: SessionDep, admin: AdminUser) -> dict[str, Any]:
    """Set how many years the department's finished announcements are kept (audited); nothing is deleted by it."""
    department = accounts.department_by_slug(session, slug)
    retention.set_retention(session, actor=admin, department=department, years=body.retention_years)
    return views.department(department)


@router.put("/announcements/{announcement_id}/legal-hold", response_model=HoldOut)
@one_trip
def place_hold(announcement_id: IdPath, body: HoldIn, session: SessionDep, admin: AdminUser) -> HoldOut:
    """Place a legal hold (audited): the announcement is never disposed of while it lasts."""
    announcement = access.get_visible(session, announcement_id, viewer=admin)
    retention.hold(session, actor=admin, announcement=announcement, reason=body.reason)
    return HoldOut(announcement_id=announcement.id, legal_hold=True, legal_hold_reason=announcement.legal_hold_reason)


@router.delete("/announcements/{announcement_id}/legal-hold", response_model=HoldOut)
@one_trip
def lift_hold(announcement_id: IdPath, session: SessionDep, admin: AdminUser,
              reason: Annotated[str, Query(max_length=retention.MAX_REASON, description="why; audited")] = "",
              ) -> HoldOut:
    """Lift a legal hold (audited); `reason` is required."""
    announcement = access.get_visible(session, announcement_id, viewer=admin)
    retention.lift(session, actor=admin, announcement=announcement, reason=reason)
    return HoldOut(announcement_id=announcement.id, legal_hold=False, legal_hold_reason=None)


@router.post("/announcements/{announcement_id}/withdraw-notice", response_model=HoldOut)
@one_trip
def withdraw_notice(announcement_id: IdPath, body: HoldIn, session: SessionDep, admin: AdminUser) -> HoldOut:
    """Withdraw a retracted announcement's public notice for a legal reason (audited): its address then
    answers 410 without the date or the reason. The record itself is kept."""
    announcement = access.get_visible(session, announcement_id, viewer=admin)
    retention.withdraw_notice(session, actor=admin, announcement=announcement, reason=body.reason, now=utcnow())
    return HoldOut(announcement_id=announcement.id, legal_hold=announcement.legal_hold,
                   legal_hold_reason=announcement.legal_hold_reason)


@router.get("/records/due", response_model=list[DueOut])
@one_trip
def records_due(session: SessionDep, admin: AdminUser, settings: SettingsDep,
                department: SlugQuery = None) -> list[DueOut]:
    """Finished announcements past their department's retention and not on hold, the longest due first.
    Nothing is deleted by civicpost on its own: `civicpost records dispose` does it, deliberately."""
    chosen = accounts.department_by_slug(session, department) if department else None
    return [DueOut(announcement_id=d.announcement_id, department=d.department, title=d.title, state=d.state,
                   finished_at=instant(d.finished_at, settings.zone) or "",
                   due_at=instant(d.due_at, settings.zone) or "")
            for d in retention.due(session, now=utcnow(), department=chosen)]
