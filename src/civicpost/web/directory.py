"""The public directory of the city's official accounts, printable, with a QR code to itself."""

import io
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlparse

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from civicpost.models import Channel, Delivery, DeliveryStatus, Department
from civicpost.platforms import SPECS, spec
from civicpost.web.deps import SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)

# Accounts a resident can follow (a spec with a profile), in the registry's
# order; email lists and webhooks are plumbing, not public accounts.
LISTED = [name for name, spec in SPECS.items() if spec.profile is not None]
LABELS = [SPECS[name].label for name in LISTED]
QR_SCALE = 4


@dataclass
class Link:
    label: str
    url: str

    @property
    def shown(self) -> str:
        parsed = urlparse(self.url)
        return (parsed.netloc + parsed.path).rstrip("/")


@dataclass
class Account:
    name: str
    platform: str  # as its owner writes it
    kind: str  # the platform's name in civicpost, which picks its icon
    links: list[Link] = field(default_factory=list)


@dataclass
class Section:
    department: str
    accounts: list[Account]


def directory_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/directory"


@cache  # the same address, the same code: made once per process (2 ms a time)
def qr_code(base_url: str) -> segno.QRCode:
    return segno.make(directory_url(base_url), error="m", micro=False)


def qr_svg(base_url: str) -> str:
    out = io.BytesIO()
    qr_code(base_url).save(out, kind="svg", scale=QR_SCALE, border=4, dark="#000000", light="#ffffff",
                           title="QR code: " + directory_url(base_url), xmldecl=True)
    return out.getvalue().decode()


def _http(url: str | None) -> bool:
    return bool(url) and urlparse(url).scheme in ("http", "https") and bool(urlparse(url).netloc)


def profile_url(platform: str, settings: dict, remote_url: str | None) -> str | None:
    """The account's public page, where what civicpost knows reveals it; else None."""
    profile = spec(platform).profile
    url = profile(settings, remote_url if _http(remote_url) else None) if profile else None
    return url if _http(url) else None


# Each channel's newest published post with a URL: one step down ix_deliveries_latest_post per channel.
# The status is written into the SQL, not bound: only then may a planner (SQLite's, or PostgreSQL's for a
# prepared statement) use the partial index.
_LATEST_POST = (
    select(Delivery.remote_url)
    .where(Delivery.channel_id == Channel.id,
           Delivery.status == bindparam("published", DeliveryStatus.published.value, literal_execute=True),
           Delivery.remote_url.is_not(None))
    .order_by(Delivery.id.desc())
    .limit(1)
    .correlate(Channel)
    .scalar_subquery()
)


def latest_post_urls(session: Session, channel_ids: list[int]) -> dict[int, str]:
    rows = session.execute(select(Channel.id, _LATEST_POST).where(Channel.id.in_(channel_ids))).all()
    return {channel_id: url for channel_id, url in rows if url}


def public_links(channel: Channel, latest_post_url: str | None, *, base_url: str) -> list[Link]:
    """Where residents find the account: the city's site and feed, or the account's profile; none
    when nothing civicpost knows reveals the profile yet (the staff directory says so)."""
    base = base_url.rstrip("/")
    if spec(channel.platform).capabilities.city_site:
        given = channel.settings.get("url")
        site = given if isinstance(given, str) and _http(given) else f"{base}/"
        return [Link("Website", site), Link("Atom feed", f"{base}/feed.atom")]
    url = profile_url(channel.platform, channel.settings, latest_post_url)
    return [Link("Profile", url)] if url else []


def sections(session: Session, *, base_url: str) -> list[Section]:
    base = base_url.rstrip("/")
    rows = session.execute(
        select(Channel, Department)
        .join(Department, Department.id == Channel.department_id)
        .where(Channel.active.is_(True), Channel.platform.in_(LISTED))
        .order_by(Department.name, Department.id)
    ).all()
    posts = latest_post_urls(session, [c.id for c, _ in rows]) if rows else {}
    grouped: dict[int, Section] = {}
    for channel, department in rows:
        section = grouped.setdefault(department.id, Section(department.name, []))
        section.accounts.append(Account(channel.name, spec(channel.platform).label, channel.platform,
                                        public_links(channel, posts.get(channel.id), base_url=base)))
    for section in grouped.values():
        section.accounts.sort(key=lambda a: (LABELS.index(a.platform), a.name))
    return list(grouped.values())


@router.get("/directory", response_class=HTMLResponse)
def directory(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    qr = qr_code(settings.base_url)
    width, height = qr.symbol_size(scale=QR_SCALE, border=4)
    context = {
        "sections": sections(session, base_url=settings.base_url),
        "directory_url": directory_url(settings.base_url),
        "qr_width": width,
        "qr_height": height,
    }
    return request.app.state.pages.TemplateResponse(request, "public/directory.html", context)


@router.get("/directory/qr.svg")
def directory_qr(settings: SettingsDep) -> Response:
    return Response(qr_svg(settings.base_url), media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})
