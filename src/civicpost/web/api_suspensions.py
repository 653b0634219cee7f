"""Suspensions under /api/v1: pause every ordinary scheduled post (city-wide or for departments), end the
pause, and release what it held."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, Field

from civicpost.models import Suspension
from civicpost.schemas import Id, Reason, Slug, Strict
from civicpost.suspensions import service
from civicpost.web.deps import CurrentUser, SessionDep, SettingsDep, one_trip
from civicpost.web.params import IdPath
from civicpost.web.quick_route import QuickRoute
from civicpost.web.shapes import ERRORS, Instant, Shape
from civicpost.web.views import instant

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=QuickRoute)


class SuspensionIn(Strict):
    reason: Reason = Field(description="why posts are paused; shown to staff and kept in the audit trail")
    departments: list[Slug] | None = Field(default=None, min_length=1, max_length=100,
                                           description="department slugs; leave out to pause the whole city")
    until: AwareDatetime | None = Field(default=None, description="when the suspension ends by itself (with a "
                                        "UTC offset, in the future); ending releases nothing held")


class ReleaseIn(Strict):
    deliveries: list[Id] | Literal["all"] = Field(description='ids of deliveries this suspension holds, or "all"')
    when: Literal["now", "as_scheduled", "at", "back_to_author"] = Field(
        description='"now"; "as_scheduled" (its own time, or now if that passed); "at" a new time given in `at`; '
                    '"back_to_author": the announcement returns to draft with `note` for its author')
    at: AwareDatetime | None = Field(default=None, description='the new time, with `when: "at"` only')
    note: Reason | None = Field(default=None, description='for "back_to_author": what the author should know')


class HeldItem(Shape):
    id: int
    announcement_id: int
    title: str
    channel_id: int
    platform: str
    channel: str
    due_at: Instant
    long_overdue: bool = Field(description="its time passed more than 6 hours ago: check its words still fit")


class HeldGroup(Shape):
    department: str
    department_name: str
    deliveries: list[HeldItem]


class SuspensionOut(Shape):
    id: int
    reason: str
    departments: list[str] | None = Field(description="department slugs; null: the whole city")
    started_at: Instant
    until: Instant | None
    ended_at: Instant | None
    active: bool
    held: list[HeldGroup] = Field(default_factory=list, description="what it holds, by department then time")


class ReleaseOut(Shape):
    when: str
    deliveries: list[int]
    released: int
    sent_back: list[int] = Field(description="announcements returned to their authors as drafts")


def shape(session, suspension: Suspension, zone, *, with_held: bool = True) -> SuspensionOut:
    held = service.held_report(session, suspension) if with_held else []
    for group in held:
        for item in group["deliveries"]:
            item["due_at"] = instant(item["due_at"], zone)
    return SuspensionOut(id=suspension.id, reason=suspension.reason,
                         departments=service.departments_of(session, suspension),
                         started_at=instant(suspension.started_at, zone) or "",
                         until=instant(suspension.until, zone), ended_at=instant(suspension.ended_at, zone),
                         active=service.is_in_force(suspension), held=[HeldGroup(**g) for g in held])


@router.post("/suspensions", status_code=201, response_model=SuspensionOut)
@one_trip
def start(body: SuspensionIn, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> SuspensionOut:
    """Pause scheduled posts now (approvers and admins). Emergencies still go out."""
    until: datetime | None = body.until
    suspension = service.start(session, actor=user, reason=body.reason, departments=body.departments, until=until)
    return shape(session, suspension, settings.zone)


@router.get("/suspensions", response_model=list[SuspensionOut])
@one_trip
def listing(session: SessionDep, user: CurrentUser, settings: SettingsDep,
            active: Annotated[bool | None, Query(description="true: only those not ended; false: only ended")] = None,
            ) -> list[SuspensionOut]:
    """Suspensions, the newest first, each with what it holds."""
    return [shape(session, s, settings.zone) for s in service.listing(session, active=active)]


@router.get("/suspensions/{suspension_id}", response_model=SuspensionOut)
@one_trip
def one(suspension_id: IdPath, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> SuspensionOut:
    service.end_expired(session)
    return shape(session, service.get(session, suspension_id), settings.zone)


@router.delete("/suspensions/{suspension_id}", response_model=SuspensionOut)
@one_trip
def end(suspension_id: IdPath, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> SuspensionOut:
    """End the suspension; nothing it held is released: the answer lists what it holds."""
    suspension = service.end(session, actor=user, suspension=service.get(session, suspension_id))
    return shape(session, suspension, settings.zone)


@router.post("/suspensions/{suspension_id}/release", response_model=ReleaseOut)
@one_trip
def release(suspension_id: IdPath, body: ReleaseIn, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Let held deliveries go, or send their announcements back to their authors (after the suspension ended)."""
    return service.release(session, actor=user, suspension=service.get(session, suspension_id),
                           deliveries=body.deliveries, when=body.when, at=body.at, note=body.note)
