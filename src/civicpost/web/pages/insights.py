"""/staff/insights: engagement medians as charts drawn on the server, each with its numbers in a table.

The filters are a GET form (a reading is a link to keep); the same filters
give the CSV at /staff/insights.csv. Charts are SVG with a title and a
description, and every number they show is in a table beside them.
"""

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from civicpost.insights import export, sketch
from civicpost.insights import filters as insight_filters
from civicpost.insights.summary import Group, Summary, posts, summarize
from civicpost.platforms.registry import SPECS
from civicpost.web.deps import SessionDep, SettingsDep
from civicpost.web.pages.common import StaffUser, render

router = APIRouter(prefix="/staff", include_in_schema=False)

# The heat map's shades: a slot's median as a share of the busiest slot's, in five steps.
LEVELS = 5


@dataclass(frozen=True)
class Bar:
    label: str
    group: Group
    share: float  # of the longest bar, 0..1


@dataclass(frozen=True)
class Cell:
    weekday: int
    hour: int
    group: Group | None
    level: int  # 0 (lowest) .. LEVELS - 1; -1 for no posts


def _share(value: float | None, top: float) -> float:
    return (value or 0) / top if top else 0.0


def heat_cells(summary: Summary) -> list[list[Cell]]:
    top = max((g.median or 0 for g in summary.slots.values()), default=0)
    rows = []
    for weekday in range(7):
        row = []
        for hour in range(24):
            group = summary.slots.get((weekday, hour))
            level = -1 if group is None else min(LEVELS - 1, int(_share(group.median, top) * LEVELS))
            row.append(Cell(weekday, hour, group, level))
        rows.append(row)
    return rows


@dataclass(frozen=True)
class WeekBar:
    monday: date
    short: str  # "2 Mar", under the bar
    group: Group
    share: float


def week_bars(summary: Summary) -> list[WeekBar]:
    top = max((g.median or 0 for g in summary.weeks.values()), default=0)
    return [WeekBar(monday, f"{monday.day} {monday:%b}", g, _share(g.median, top))
            for monday, g in sorted(summary.weeks.items())]


def platform_bars(summary: Summary) -> list[Bar]:
    top = max((g.median or 0 for g in summary.by_platform.values()), default=0)
    rows = sorted(summary.by_platform.items(), key=lambda item: (-(item[1].median or 0), item[0]))
    return [Bar(SPECS[p].label if p in SPECS else p, g, _share(g.median, top)) for p, g in rows]


def _asked(request: Request) -> dict[str, str]:
    # `from` and `to` are Python keywords: read them by name. Only short values are kept for the form.
    return {name: request.query_params.get(name, "").strip()[:64]
            for name in ("department", "platform", "from", "to")}


def _read(request: Request, session, settings, user):
    asked = _asked(request)
    filters = insight_filters.read(session, user=user, zone=settings.zone, department=asked["department"],
                                   platform=asked["platform"], first=asked["from"], last=asked["to"])
    return asked, filters


@router.get("/insights", response_class=HTMLResponse)
def insights_page(request: Request, session: SessionDep, settings: SettingsDep, user: StaffUser) -> HTMLResponse:
    asked, filters = _read(request, session, settings, user)
    summary = summarize(session, filters, zone=settings.zone)
    given = {name: value for name, value in asked.items() if value}
    context = {
        "active": "insights",
        "asked": asked,
        "filtered": bool(given),
        "filters": filters,
        "summary": summary,
        "rows": sorted(
            ((summary.departments[d], SPECS[p].label if p in SPECS else p, g)
             for (d, p), g in summary.by_department_platform.items()),
            key=lambda row: (row[0].name, row[1])),
        "heat": heat_cells(summary),
        "weeks": week_bars(summary),
        "platform_bars": platform_bars(summary),
        "departments": insight_filters.visible_departments(session, user),
        "platforms": [(name, spec.label) for name, spec in SPECS.items()],
        "csv_url": "/staff/insights.csv" + (f"?{urlencode(given)}" if given else ""),
        "zone_name": settings.timezone,
        "levels": LEVELS,
        "median_error_percent": round(sketch.ERROR * 100),
    }
    return render(request, "staff/insights.html", context, user=user)


@router.get("/insights.csv")
def insights_csv(request: Request, session: SessionDep, settings: SettingsDep, user: StaffUser) -> Response:
    _, filters = _read(request, session, settings, user)
    summary = summarize(session, filters, zone=settings.zone)
    body = export.to_csv(summary, posts(session, filters), zone=settings.zone, base_url=settings.base_url)
    name = f"insights-{filters.first_day}-{filters.last_day}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
