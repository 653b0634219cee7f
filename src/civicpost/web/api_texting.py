"""The city's texting limits under /api/v1: the monthly SMS cap and quiet hours (admins change them)."""

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from civicpost.db import utcnow
from civicpost.schemas import Strict
from civicpost.sms import limits, plan
from civicpost.web.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, one_trip
from civicpost.web.quick_route import QuickRoute
from civicpost.web.shapes import ERRORS, Shape

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=QuickRoute)


class TextingIn(Strict):
    monthly_cap: int = Field(description="SMS segments the city may send in a calendar month (city time); 0: no cap")
    quiet_hours: str = Field(max_length=40, description="HH:MM-HH:MM in the city's time zone, e.g. 21:00-08:00, "
                                                        "when ordinary texts wait; empty: none")


class TextingOut(Shape):
    monthly_cap: int = Field(description="SMS segments a calendar month; 0: no cap")
    quiet_hours: str = Field(description="HH:MM-HH:MM, city time; empty: none")
    source: str = Field(description="`admin`: saved in the app; `environment`: CIVICPOST_SMS_MONTHLY_CAP and "
                                    "CIVICPOST_SMS_QUIET_HOURS, until an admin saves values")
    used_this_month: int = Field(description="SMS segments sent or waiting to be sent this month")
    sms_ready: bool = Field(description="whether the city has an SMS account to send from")


def _shown(session, settings) -> dict[str, Any]:
    found = limits.effective(session, settings)
    return {"monthly_cap": found.monthly_cap, "quiet_hours": found.quiet_hours, "source": found.source,
            "used_this_month": plan.used_this_month(session, settings, utcnow()), "sms_ready": plan.ready(settings)}


@router.get("/texting", response_model=TextingOut)
@one_trip
def get_texting(session: SessionDep, settings: SettingsDep, _: CurrentUser) -> dict[str, Any]:
    """The monthly SMS cap and quiet hours in force (emergencies are exempt from both), and this month's use."""
    return _shown(session, settings)


@router.put("/texting", response_model=TextingOut)
@one_trip
def put_texting(body: TextingIn, session: SessionDep, settings: SettingsDep, admin: AdminUser) -> dict[str, Any]:
    """Set the monthly SMS cap and quiet hours (admins; audited as `texting.limits`). They hold from the next
    text sent, including texts already waiting."""
    limits.save(session, settings, monthly_cap=body.monthly_cap, quiet_hours=body.quiet_hours, actor=admin)
    return _shown(session, settings)
