"""GET /api/v1/insights: the engagement medians of the posts a person may see, as JSON or CSV (SPEC §8.3)."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field

from civicpost.insights import export, sketch
from civicpost.insights import filters as insight_filters
from civicpost.insights.summary import Group, Summary, posts, summarize
from civicpost.web.deps import CurrentUser, SessionDep, SettingsDep, one_trip
from civicpost.web.quick_route import QuickRoute
from civicpost.web.shapes import ERRORS, Instant, Shape
from civicpost.web.views import instant

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=QuickRoute)


class Medians(Shape):
    posts: int
    median_engagement: float | None
    median_per_follower: float | None  # over the posts whose channel's followers are known


class DepartmentPlatform(Medians):
    department: str
    department_name: str
    platform: str


class PlatformMedians(Medians):
    platform: str


class Slot(Medians):
    weekday: int  # Monday is 0, in the city's zone
    hour: int


class Week(Medians):
    week: date  # its Monday, in the city's zone


class TopPostOut(Shape):
    announcement_id: int
    title: str
    link: str
    department: str
    platform: str
    engagement: int
    published_at: Instant


class InsightsOut(Shape):
    department: str | None
    platform: str | None
    from_: date = Field(alias="from")
    to: date
    time_zone: str
    median_error: float = Field(description="every median is within this fraction of the exact one (0.05: 5%)")
    overall: Medians
    by_department_platform: list[DepartmentPlatform]
    by_platform: list[PlatformMedians]
    slots: list[Slot]
    weeks: list[Week]
    top_posts: list[TopPostOut]


def _medians(group: Group) -> dict[str, Any]:
    return {"posts": group.posts, "median_engagement": group.median, "median_per_follower": group.per_follower}


def shape(summary: Summary, filters: insight_filters.Filters, *, settings: Any) -> dict[str, Any]:
    zone = settings.zone
    return {
        "department": filters.department.slug if filters.department else None,
        "platform": filters.platform,
        "from": filters.first_day,
        "to": filters.last_day,
        "time_zone": zone.key,
        "median_error": sketch.ERROR,
        "overall": _medians(summary.overall),
        "by_department_platform": sorted(
            ({"department": summary.departments[d].slug, "department_name": summary.departments[d].name,
              "platform": p, **_medians(g)} for (d, p), g in summary.by_department_platform.items()),
            key=lambda row: (row["department"], row["platform"])),
        "by_platform": [{"platform": p, **_medians(g)} for p, g in sorted(summary.by_platform.items())],
        "slots": [{"weekday": w, "hour": h, **_medians(g)} for (w, h), g in sorted(summary.slots.items())],
        "weeks": [{"week": monday, **_medians(g)} for monday, g in sorted(summary.weeks.items())],
        "top_posts": [
            {"announcement_id": p.announcement_id, "title": p.title, "department": p.department,
             "platform": p.platform, "engagement": p.engagement, "published_at": instant(p.published_at, zone),
             "link": export.announcement_link(settings.base_url, p.announcement_id)}
            for p in summary.top
        ],
    }


DESCRIPTION = (
    "Engagement (likes + reposts + replies + quotes at the latest reading) of the posts you may see: medians "
    "per post by department and platform, by platform, by weekday and hour and by week (in the city's time "
    "zone), and the top posts. Medians are read from counts per engagement bucket and are within `median_error` "
    "(0.05: 5%) of the exact median. `from` and `to` are the city's days (2026-03-08); without `from`, the 26 weeks "
    "up to `to` (or today). With `Accept: text/csv`: one row per post, then the aggregates, each row's `kind` "
    "saying which (post, department_platform, platform, slot, week, all)."
)


@router.get("/insights", response_model=InsightsOut, response_model_by_alias=True, description=DESCRIPTION,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
@one_trip
def insights(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    department: Annotated[str | None, Query(max_length=63, description="a department's slug, such as parks")] = None,
    platform: Annotated[str | None, Query(max_length=40, description="a platform's name, such as mastodon")] = None,
    first: Annotated[str | None, Query(alias="from", max_length=40, description="the first day, 2026-03-08")] = None,
    last: Annotated[str | None, Query(alias="to", max_length=40, description="the last day, 2026-03-31")] = None,
) -> Any:
    filters = insight_filters.read(session, user=user, zone=settings.zone, department=department,
                                   platform=platform, first=first, last=last)
    summary = summarize(session, filters, zone=settings.zone)
    if "text/csv" in request.headers.get("accept", ""):
        body = export.to_csv(summary, posts(session, filters), zone=settings.zone, base_url=settings.base_url)
        name = f"insights-{filters.first_day}-{filters.last_day}.csv"
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return shape(summary, filters, settings=settings)
