"""A drill of the emergency lane: an Exercise alert, published by break glass to sandbox channels only, then ended.

The drill is a real announcement (it stays in the history, audited like any
break-glass publish) whose alert is marked as an exercise; it goes only to
channels that post to the local sandbox, so it never reaches residents, and
its alert ends as soon as the drill is over so it is not left "in effect".
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicpost import alerts, audit
from civicpost.config import Settings
from civicpost.drafting import break_glass, workflow
from civicpost.engine.worker import HEARTBEAT_SECONDS
from civicpost.errors import Forbidden, Invalid, NotFound
from civicpost.models import Announcement, Channel, Delivery, DeliveryStatus, Department, User, WorkerHeartbeat
from civicpost.platforms import spec
from civicpost.rendering import Renderer
from civicpost.schemas import AlertIn, AnnouncementIn

REASON = "drill: practising the emergency lane on sandbox channels"
# However the drill ends (even killed), its alert ends by itself this long after the wait.
GRACE = timedelta(minutes=10)
# Statuses a delivery leaves only by a person's hand: the drill stops waiting for it.
SETTLED = frozenset({DeliveryStatus.published, DeliveryStatus.failed, DeliveryStatus.unknown,
                     DeliveryStatus.cancelled, DeliveryStatus.retracted})


@dataclass(frozen=True)
class Row:
    channel: str
    platform: str
    seconds: float | None
    status: str
    error: str | None


def _describe(channel: Channel) -> str:
    return f"'{channel.name}' (id {channel.id}, {spec(channel.platform).label})"


def operator(session: Session, email: str, department: str) -> tuple[User, Department]:
    """The emergency publisher running the drill, and the department it is for."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email}; pass --as with the email of an emergency publisher")
    if not user.emergency_publisher:
        raise Forbidden(f"{user.email} is not an emergency publisher, and a drill publishes by break glass like a "
                        f"real emergency; run it as an emergency publisher, or have an administrator run "
                        f"`civicpost user grant {user.email} emergency_publisher`")
    found = session.scalar(select(Department).where(Department.slug == department))
    if found is None:
        slugs = ", ".join(session.scalars(select(Department.slug).order_by(Department.slug))) or "none yet"
        raise NotFound(f"unknown department '{department}'; the departments are: {slugs}")
    if not user.is_member(found.id):
        raise Forbidden(f"{user.email} is not a member of {found.slug}; run the drill for one of their departments")
    return user, found


def channels(session: Session, department: Department, wanted: list[str]) -> list[Channel]:
    """The sandbox channels the drill goes to: those named (by id or name), else all of the department's.

    Any named channel that is not a sandbox channel refuses the whole drill: it would reach residents."""
    own = list(session.scalars(select(Channel).where(Channel.department_id == department.id,
                                                      Channel.active.is_(True)).order_by(Channel.id)))
    sandbox = [c for c in own if alerts.is_sandbox(c)]
    if not wanted:
        if not sandbox:
            raise Invalid(f"{department.slug} has no sandbox channels, and a drill never reaches residents; add a "
                          "channel whose address is the sandbox's (`civicpost sandbox`), as `civicpost demo` does")
        return sandbox
    chosen: list[Channel] = []
    for name in wanted:
        match = [c for c in own if str(c.id) == name.strip() or c.name.casefold() == name.strip().casefold()]
        if not match:
            known = ", ".join(_describe(c) for c in own) or "none"
            raise Invalid(f"{department.slug} has no active channel '{name}'; its channels: {known}")
        channel = match[0]
        if not alerts.is_sandbox(channel):
            offered = ", ".join(_describe(c) for c in sandbox) or "none"
            raise Invalid(f"channel {_describe(channel)} is not a sandbox channel: a drill never reaches residents; "
                          f"leave it out. Sandbox channels of {department.slug}: {offered}")
        if channel not in chosen:
            chosen.append(channel)
    return chosen


def wording(settings: Settings, **context: str) -> tuple[str, str]:
    """The drill's title and body, from templates/drill/ (the city may reword it)."""
    env = ImmutableSandboxedEnvironment(loader=FileSystemLoader(settings.templates_dir / "drill"), autoescape=False,
                                        undefined=StrictUndefined, keep_trailing_newline=True)
    first, _, rest = env.get_template("announcement.txt.j2").render(**context).partition("\n")
    return first.removeprefix("Title:").strip(), rest.strip()


def publish(session: Session, *, actor: User, department: Department, channel_ids: list[int], settings: Settings,
            renderer: Renderer, now: datetime, wait_seconds: int) -> Announcement:
    """Write the exercise and publish it at once, as the operator, by break glass."""
    title, body = wording(settings, department=department.name, city=settings.city_name)
    alert = AlertIn(event="Emergency drill", category="Other", urgency="Immediate", severity="Minor",
                    certainty="Observed", expires=now + timedelta(seconds=wait_seconds) + GRACE,
                    instruction="None: this is a drill.", area_desc=f"{settings.city_name} (exercise)",
                    exercise=True)
    data = AnnouncementIn(department=department.slug, title=title, body=body, emergency=True, alert=alert,
                          channels=channel_ids)
    announcement, _ = workflow.create(session, author=actor, data=data, zone=settings.zone, renderer=renderer)
    break_glass.publish_now(session, actor=actor, announcement=announcement, renderer=renderer, reason=REASON,
                            review_hours=settings.emergency_review_hours, now=now)
    return announcement


def live_workers(session: Session, *, now: datetime) -> list[str]:
    """Workers that checked in within three heartbeats (as the readiness check counts them)."""
    return list(session.scalars(select(WorkerHeartbeat.name).where(
        WorkerHeartbeat.stopped_at.is_(None),
        WorkerHeartbeat.last_seen_at >= now - timedelta(seconds=3 * HEARTBEAT_SECONDS))))


def rows(session: Session, announcement_id: int, *, published_from: datetime) -> list[Row]:
    found = session.scalars(select(Delivery).where(Delivery.announcement_id == announcement_id)
                            .order_by(Delivery.channel_id, Delivery.id))
    return [Row(channel=d.channel.name, platform=spec(d.channel.platform).label,
                seconds=(d.published_at - published_from).total_seconds() if d.published_at else None,
                status=d.status, error=d.last_error) for d in found]


def end(session: Session, *, actor: User, announcement: Announcement, now: datetime, outcome: list[Row]) -> None:
    """End the exercise's alert now (it leaves the current alerts) and record how the drill went."""
    assert announcement.alert is not None
    announcement.alert = {**announcement.alert, "expires": now.isoformat()}
    session.flush()
    audit.record(session, actor=actor, action="drill_ended", object_type="announcement", object_id=announcement.id,
                 detail={"channels": [{"channel": r.channel, "status": r.status, "seconds": r.seconds}
                                      for r in outcome]})
