"""The public directory as staff see it (/staff/directory): each account residents
are told to follow, with what keeps it trustworthy beside it: when it last posted,
when its access ends, and whether residents can find it at all."""

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from civicpost import quiet
from civicpost.db import utcnow
from civicpost.models import Channel
from civicpost.platforms import spec
from civicpost.web.deps import SessionDep, SettingsDep
from civicpost.web.directory import LISTED, Link, directory_url, latest_post_urls, public_links
from civicpost.web.pages.common import StaffUser, render

router = APIRouter(prefix="/staff", include_in_schema=False)


@dataclass
class Row:
    channel: Channel
    label: str
    quiet: quiet.Quiet
    links: list[Link]


@router.get("/directory", response_class=HTMLResponse)
def directory_care(request: Request, session: SessionDep, settings: SettingsDep, user: StaffUser) -> HTMLResponse:
    """Admins see every department; everyone else their own departments' accounts."""
    query = select(Channel).where(Channel.platform.in_(LISTED)).order_by(Channel.name, Channel.id)
    if not user.is_admin:
        query = query.where(Channel.department_id.in_([d.id for d in user.departments]))
    channels = list(session.scalars(query))
    surveyed = {q.channel_id: q for q in quiet.survey(session, now=utcnow(), channel_ids=[c.id for c in channels],
                                                      active_only=False)}
    posts = latest_post_urls(session, [c.id for c in channels]) if channels else {}
    listed: dict[str, list[Row]] = {}
    retired: list[Row] = []
    for channel in channels:
        row = Row(channel, spec(channel.platform).label, surveyed[channel.id],
                  public_links(channel, posts.get(channel.id), base_url=settings.base_url))
        (listed.setdefault(channel.department.name, []) if channel.active else retired).append(row)
    needs_care = sum(1 for rows in listed.values() for r in rows if r.quiet.stale or r.quiet.expiring or not r.links)
    return render(request, "staff/directory.html", {
        "sections": sorted(listed.items()), "retired": retired, "needs_care": needs_care,
        "directory_url": directory_url(settings.base_url)}, user=user)
