"""Preview cards: what each channel would receive, from a stored announcement or a form
being typed; nothing is stored."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import announcements, uploads, workflow
from civicpost.content import Draft, MediaRef, Rendition
from civicpost.models import Announcement, Channel, Department, Media, User
from civicpost.platforms import SPECS
from civicpost.rendering import Renderer
from civicpost.web.pages._draft_form import DraftForm


@dataclass(frozen=True)
class Card:
    channel_id: int
    name: str
    platform: str
    label: str
    r: dict[str, Any]

    @property
    def errors(self) -> int:
        return sum(1 for p in self.r["problems"] if p["severity"] == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.r["problems"] if p["severity"] != "error")


def cards_for(renditions: list[Rendition], channels: dict[int, Channel]) -> list[Card]:
    cards = []
    for rendition in renditions:
        channel = channels.get(rendition.channel_id)
        cards.append(Card(
            channel_id=rendition.channel_id,
            name=channel.name if channel else f"Channel {rendition.channel_id}",
            platform=rendition.platform,
            label=SPECS[rendition.platform].label,
            r=rendition.as_dict(),
        ))
    return cards


def announcement_cards(renderer: Renderer, announcement: Announcement) -> list[Card]:
    return cards_for(workflow.render(renderer, announcement), {t.channel_id: t.channel for t in announcement.targets})


def drafting_departments(session: Session, user: User) -> list[Department]:
    """Where this person may draft: what announcements.create allows."""
    if user.is_admin:
        return list(session.scalars(select(Department).order_by(Department.name)))
    return sorted(user.departments, key=lambda d: d.name)


def may_preview(user: User, department: Department) -> bool:
    return user.can_approve or user.is_member(department.id)


def channel_groups(session: Session, departments: list[Department]) -> list[dict[str, Any]]:
    """Active channels per department, then per platform, in a stable order."""
    rows = session.scalars(
        select(Channel)
        .where(Channel.department_id.in_([d.id for d in departments]), Channel.active.is_(True))
        .order_by(Channel.name, Channel.id)
    ).all()
    groups = []
    for department in departments:
        mine = [c for c in rows if c.department_id == department.id]
        platforms = [
            {"platform": p, "label": spec.label, "channels": [c for c in mine if c.platform == p]}
            for p, spec in SPECS.items()
            if any(c.platform == p for c in mine)
        ]
        groups.append({"department": department, "platforms": platforms})
    return groups


def form_department(session: Session, form: DraftForm) -> Department | None:
    slug = form.department.strip()
    return session.scalar(select(Department).where(Department.slug == slug)) if slug else None


def media_rows(session: Session, ids: list[str], *, department: Department | None, user: User) -> dict[str, Media]:
    """The form's images that its department may use; any other id is shown as nothing at all."""
    if department is None:
        return {}
    return uploads.usable(session, ids, department_id=department.id, actor=user)


def form_cards(session: Session, renderer: Renderer, user: User, form: DraftForm) -> list[Card]:
    """Render the form as it stands, forgiving what is missing: a preview is for half-written drafts too."""
    department = form_department(session, form)
    if department is None or not may_preview(user, department) or not form.channels:
        return []
    channels = {
        c.id: c
        for c in session.scalars(select(Channel).where(Channel.id.in_(form.channels)))
        if c.department_id == department.id and c.active
    }
    files = media_rows(session, [m["id"] for m in form.media], department=department, user=user)
    draft = Draft(
        title=form.title.strip(),
        body=form.body.strip(),
        department=department.name,
        language=form.language.strip() or "en",
        link=form.link.strip() or None,
        translations={
            t["language"].strip(): (t["title"].strip(), t["body"].strip())
            for t in form.translations
            if t["language"].strip()
        },
        media=[
            MediaRef(id=m["id"], alt_text=m["alt_text"].strip(), mime_type=files[m["id"]].mime_type,
                     size_bytes=files[m["id"]].size_bytes, width=files[m["id"]].width, height=files[m["id"]].height)
            for m in form.media
            if m["id"] in files
        ],
        emergency=form.emergency,
        publish_at=form.time.instant,
    )
    views = [announcements.channel_view(channels[cid], form.overrides.get(cid)) for cid in form.channels if cid in channels]
    return cards_for(renderer.render_all(draft, views), channels)
