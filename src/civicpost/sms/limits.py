"""The city's texting limits, set by an administrator: the monthly SMS cap and the quiet hours.

Stored as one JSON value in the instance settings (`texting`); until an administrator saves them,
CIVICPOST_SMS_MONTHLY_CAP and CIVICPOST_SMS_QUIET_HOURS are the values. They are read when a
delivery's texts are made and again right before each text goes (civicpost.fanout.queue.hold_texts):
a cap lowered or quiet hours begun since then still hold. Emergencies are exempt from both.
"""

import json
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.config import Settings
from civicpost.errors import Invalid
from civicpost.models import InstanceValue, User

KEY = "texting"
MAX_CAP = 100_000_000
_HOURS = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]")


@dataclass(frozen=True)
class Limits:
    monthly_cap: int  # SMS segments a calendar month, city time; 0: no cap
    quiet_hours: str  # "21:00-08:00" in the city's time zone; "": none
    source: str  # "admin" (saved in the app) or "environment" (the settings' defaults)


def effective(session: Session, settings: Settings) -> Limits:
    row = session.get(InstanceValue, KEY)
    if row is None:
        return Limits(settings.sms_monthly_cap, settings.sms_quiet_hours, "environment")
    stored = json.loads(row.value)
    return Limits(int(stored["monthly_cap"]), str(stored["quiet_hours"]), "admin")


def check(*, monthly_cap: int, quiet_hours: str) -> tuple[int, str]:
    """The values as stored, or 422 naming each field to fix."""
    errors = []
    if not 0 <= monthly_cap <= MAX_CAP:
        errors.append({"field": "monthly_cap",
                       "message": f"give a whole number of SMS from 0 (no cap) to {MAX_CAP:,}"})
    hours = "".join(quiet_hours.split())
    if hours and not _HOURS.fullmatch(hours):
        errors.append({"field": "quiet_hours",
                       "message": "write the hours as HH:MM-HH:MM in the city's time, for example 21:00-08:00, "
                                  "or leave it empty for none"})
    elif hours and hours[:5] == hours[6:]:
        errors.append({"field": "quiet_hours", "message": "the quiet hours must end at another time than they start"})
    if errors:
        raise Invalid("; ".join(e["message"] for e in errors), errors=errors)
    return monthly_cap, hours


def save(session: Session, settings: Settings, *, monthly_cap: int, quiet_hours: str, actor: User) -> Limits:
    cap, hours = check(monthly_cap=monthly_cap, quiet_hours=quiet_hours)
    before = effective(session, settings)
    value = json.dumps({"monthly_cap": cap, "quiet_hours": hours}, sort_keys=True)
    InstanceValue.store(session, KEY, value)
    session.flush()
    audit.record(session, actor=actor, action="texting.limits", object_type="instance", object_id=0,
                 detail={"monthly_cap": cap, "quiet_hours": hours, "before": {
                     "monthly_cap": before.monthly_cap, "quiet_hours": before.quiet_hours}})
    return Limits(cap, hours, "admin")
