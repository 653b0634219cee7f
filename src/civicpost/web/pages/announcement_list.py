"""/staff/announcements: every announcement a person may see, with search, filters and pages.

The filters are a GET form, so a search is a link that can be kept and shared.
Every value is checked here, and a bad one answers a page saying what to
change; an author or a word that matches nothing is simply an empty list.
"""

import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.days import day_param, local_midnight
from civicpost.drafting import listing, search
from civicpost.errors import Invalid
from civicpost.models import Department, State, User
from civicpost.platforms.registry import SPECS
from civicpost.web.deps import SessionDep, SettingsDep
from civicpost.web.pages.common import StaffUser, render

router = APIRouter(prefix="/staff", include_in_schema=False)

PAGE_SIZE = 25
MAX_AUTHOR = 320
MAX_CURSOR = 100


@dataclass
class Asked:
    """The form's values as the person sent them (empty when not given), to fill the form again."""

    q: str = ""
    department: str = ""
    state: str = ""
    platform: str = ""
    author: str = ""
    written_from: str = ""
    written_to: str = ""

    def query(self) -> dict[str, str]:
        names = {"written_from": "from", "written_to": "to"}
        return {names.get(key, key): value for key, value in vars(self).items() if value}


def _plain(value: str | None, field: str, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise Invalid(f"the {field} is {len(value)} characters long; use at most {limit}",
                      errors=[{"field": field, "message": "too long"}])
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise Invalid(f"the {field} contains a control character; type it again as plain text",
                      errors=[{"field": field, "message": "control character"}])
    return value


def visible_departments(session: Session, user: User) -> list[Department]:
    if user.can_approve:
        return list(session.scalars(select(Department).order_by(Department.name)))
    return sorted(user.departments, key=lambda d: d.name)


def _department(slug: str, choices: list[Department]) -> int | None:
    if not slug:
        return None
    for department in choices:
        if department.slug == slug:
            return department.id
    raise Invalid(f"'{slug[:63]}' is not a department you can see; choose one from the list",
                  errors=[{"field": "department", "message": "unknown department"}])


def _state(value: str) -> State | None:
    if not value:
        return None
    if value not in State.__members__:
        raise Invalid(f"'{value[:40]}' is not a state; choose one of {', '.join(State)}",
                      errors=[{"field": "state", "message": "unknown state"}])
    return State(value)


def _platform(value: str) -> str | None:
    if not value:
        return None
    if value not in SPECS:
        raise Invalid(f"'{value[:40]}' is not a platform civicpost knows; choose one of {', '.join(SPECS)}",
                      errors=[{"field": "platform", "message": "unknown platform"}])
    return value




def read_filters(asked: Asked, *, departments: list[Department], zone: ZoneInfo) -> listing.Filters:
    first, last = day_param(asked.written_from, "from"), day_param(asked.written_to, "to")
    if first and last and last < first:
        raise Invalid("the 'to' date is before the 'from' date; swap them or change one",
                      errors=[{"field": "to", "message": "before from"}])
    return listing.Filters(
        words=tuple(search.words(asked.q)) if asked.q else (),
        department_id=_department(asked.department, departments),
        state=_state(asked.state),
        platform=_platform(asked.platform),
        author=asked.author or None,
        written_from=local_midnight(first, zone) if first else None,
        written_before=local_midnight(last + timedelta(days=1), zone) if last else None,
    )


def page_url(asked: Asked, cursor: str | None = None) -> str:
    values = asked.query() | ({"cursor": cursor} if cursor else {})
    return "/staff/announcements" + (f"?{urlencode(values)}" if values else "")


@router.get("/announcements", response_class=HTMLResponse)
def announcement_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: StaffUser,
    q: str | None = None,
    department: str | None = None,
    state: str | None = None,
    platform: str | None = None,
    author: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    # `from` and `to` are Python keywords: read them by name.
    params = request.query_params
    asked = Asked(
        q=_plain(q, "search", search.MAX_QUERY),
        department=_plain(department, "department", 63),
        state=_plain(state, "state", 40),
        platform=_plain(platform, "platform", 40),
        author=_plain(author, "author", MAX_AUTHOR),
        written_from=_plain(params.get("from"), "'from' date", 40),
        written_to=_plain(params.get("to"), "'to' date", 40),
    )
    departments = visible_departments(session, user)
    filters = read_filters(asked, departments=departments, zone=settings.zone)
    cursor = _plain(cursor, "cursor", MAX_CURSOR) or None
    window = listing.browse(session, user=user, filters=filters, limit=PAGE_SIZE, cursor=cursor)
    context = {
        "active": "announcements",
        "asked": asked,
        "filtered": bool(asked.query()),
        "rows": window.items,
        "zone": settings.zone,
        "zone_name": settings.timezone,
        "departments": departments,
        "states": list(State),
        "platforms": [(name, spec.label) for name, spec in SPECS.items()],
        "older_url": page_url(asked, window.older) if window.older else None,
        "newer_url": page_url(asked, window.newer) if window.newer else None,
        "newest_url": page_url(asked) if cursor else None,
    }
    return render(request, "staff/announcements.html", context, user=user)
