"""An emergency announcement's alert: its CAP 1.2 document and whether it is still current.

The status rule (docs/cap.md): `Exercise` when the alert is marked as a
drill; else `Test` when the announcement goes to at least one sandbox channel
and to nothing else outside the city's own web page and feeds; else `Actual`.
A channel is a sandbox channel when its platform has a sandbox (the spec's
`sandbox`) and its settings send posts there: `api_base` is exactly what the
spec's sandbox settings give for an origin on this machine (127.0.0.1,
localhost or ::1), as `civicpost demo` sets it up. Anything else, a gateway
that merely looks alike included, counts as real: an alert wrongly marked
Test would be ignored by the systems that read it.
"""

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session, aliased, lazyload

from civicpost import cap
from civicpost.config import Settings
from civicpost.errors import ServiceError
from civicpost.feed import CITY_SITE
from civicpost.models import Announcement, Channel, Delivery, DeliveryStatus, State
from civicpost.platforms import spec

log = logging.getLogger(__name__)

ENDED_STATES = (State.retracted, State.cancelled)
# A follow-up's kind (drafting/follow_ups.py) and the CAP message it is.
MSG_TYPES: dict[str | None, cap.MsgType] = {None: "Alert", "update": "Update", "all_clear": "Update",
                                           "correction": "Cancel"}
ENDING_KINDS = ("all_clear", "correction")


@dataclass(frozen=True)
class Current:
    """A published alert as the public pages show it."""

    id: int
    title: str
    event: str
    severity: str
    instruction: str | None
    area_desc: str
    expires: datetime
    exercise: bool
    # Published on the city's own site, so its public page exists.
    on_site: bool = False


def expires(announcement: Announcement) -> datetime | None:
    return datetime.fromisoformat(announcement.alert["expires"]) if announcement.alert else None


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ip_address(host).is_loopback
    except ValueError:
        return False


def is_sandbox(channel: Channel) -> bool:
    """Whether the channel posts to the local sandbox (see the module's note)."""
    sandbox = spec(channel.platform).sandbox
    given = channel.settings.get("api_base")
    if sandbox is None or not isinstance(given, str):
        return False
    parts = urlsplit(given)
    if parts.scheme not in ("http", "https") or not _loopback(parts.hostname):
        return False
    return sandbox.settings(f"{parts.scheme}://{parts.netloc}").get("api_base") == given


def status(announcement: Announcement) -> cap.Status:
    if announcement.alert and announcement.alert.get("exercise"):
        return "Exercise"
    outside = [t.channel for t in announcement.targets if not spec(t.channel.platform).capabilities.city_site]
    if outside and all(is_sandbox(c) for c in outside):
        return "Test"
    return "Actual"


def identifier(announcement: Announcement, settings: Settings) -> str:
    """The same for every request for this alert, and unlike any other city's (the sender is in it)."""
    return f"{settings.cap_sender_name}-announcement-{announcement.id}-alert"


def first_published(session: Session, announcement: Announcement) -> datetime | None:
    return session.scalar(
        select(Delivery.published_at)
        .where(Delivery.announcement_id == announcement.id, Delivery.published_at.is_not(None))
        .order_by(Delivery.published_at)
        .limit(1)
    )


def is_published(session: Session, announcement: Announcement) -> bool:
    """Published at least once on some channel, and neither retracted nor cancelled since."""
    if announcement.state in ENDED_STATES:
        return False
    return bool(session.scalar(select(exists().where(
        Delivery.announcement_id == announcement.id, Delivery.status == DeliveryStatus.published))))


def follow_ups(session: Session, alert: Announcement) -> list[Announcement]:
    """The alert's updates, all-clear and correction, oldest first."""
    return list(session.scalars(select(Announcement).where(Announcement.follows_id == alert.id)
                                .order_by(Announcement.id)))


def root(session: Session, announcement: Announcement) -> Announcement:
    """The alert a follow-up follows; an alert itself otherwise."""
    if announcement.follows_id is None:
        return announcement
    return session.get_one(Announcement, announcement.follows_id)


def sent(session: Session, announcement: Announcement, *, now: datetime) -> datetime:
    """The message's `sent`, the same on every request so that later messages can reference it.

    An alert: when it first went out (before that: its publish time, or now for a preview). A follow-up: when
    it was released, which is also when its deliveries fell due.
    """
    if announcement.follows_id is not None and announcement.approved_at is not None:
        return announcement.approved_at
    return first_published(session, announcement) or announcement.publish_at or now


def message(session: Session, announcement: Announcement, settings: Settings, *, now: datetime) -> cap.Message:
    alert: dict[str, Any] = announcement.alert or {}
    first = root(session, announcement)
    base = settings.base_url.rstrip("/")
    wording = [(announcement.language, announcement.title, announcement.body)]
    wording += [(t.language, t.title, t.body) for t in announcement.translations]
    references: tuple[cap.Reference, ...] = ()
    if announcement.follows_id is not None:
        earlier = [first] + [f for f in follow_ups(session, first) if f.id < announcement.id]
        references = tuple(cap.Reference(settings.cap_sender_name, identifier(m, settings), sent(session, m, now=now))
                           for m in earlier)
    infos = tuple(
        cap.Info(
            language=language, category=alert["category"], event=alert["event"], urgency=alert["urgency"],
            severity=alert["severity"], certainty=alert["certainty"], headline=title, description=body,
            instruction=alert.get("instruction"), expires=expires(announcement),
            sender_name=f"{settings.city_name}, {announcement.department.name}",
            web=f"{base}/announcements/{first.id}" + ("" if n == 0 else f"?lang={language}"),
            area=cap.Area(alert["area_desc"], (alert["polygon"],) if alert.get("polygon") else ()),
            response_type="AllClear" if announcement.follow_kind == "all_clear" else None,
        )
        for n, (language, title, body) in enumerate(wording)
    )
    return cap.Message(identifier=identifier(announcement, settings), sender=settings.cap_sender_name,
                       sent=sent(session, announcement, now=now), status=status(first),
                       msg_type=MSG_TYPES[announcement.follow_kind], infos=infos, references=references)


def _pem(path: Path, name: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        log.error("cannot read %s (%s): %s", name, path, exc)
        raise ServiceError.with_status(
            500, f"the CAP signing files cannot be read; the administrator should check {name}") from None


def document(session: Session, announcement: Announcement, settings: Settings, *, now: datetime) -> bytes:
    """The alert as CAP 1.2 XML, signed when the city gave a key, and always validated before it leaves."""
    data = cap.to_bytes(cap.build(message(session, announcement, settings, now=now), settings.zone))
    if settings.cap_signing_key is not None and settings.cap_signing_cert is not None:
        data = cap.sign(data, key_pem=_pem(settings.cap_signing_key, "CIVICPOST_CAP_SIGNING_KEY"),
                        cert_pem=_pem(settings.cap_signing_cert, "CIVICPOST_CAP_SIGNING_CERT"))
    try:
        cap.validate(data)
    except cap.CapInvalid as exc:
        log.error("CAP document of announcement %s does not validate: %s", announcement.id, exc)
        raise ServiceError.with_status(
            500, "civicpost made a CAP document that does not validate, so it was not served; this is a bug: "
                 "tell the administrator (the details are in the log)") from None
    return data


# `current`'s three statements, built once: building them cost more than running them (a page with
# the alerts is rendered again at every change during a surge, web/public_cache.py).
_ENDER = aliased(Announcement)
_CURRENT = (
    # Only the alert's own columns: none of its translations, targets, media, department or author.
    select(Announcement).options(lazyload("*"))
    .where(Announcement.emergency.is_(True), Announcement.alert.is_not(None),
           Announcement.follows_id.is_(None), Announcement.state.not_in(ENDED_STATES),
           exists().where(Delivery.announcement_id == Announcement.id,
                          Delivery.status == DeliveryStatus.published),
           ~exists().where(_ENDER.follows_id == Announcement.id, _ENDER.follow_kind.in_(ENDING_KINDS)))
    .order_by(Announcement.id.desc())
    .limit(200)
)
_ON_SITE = (
    select(Delivery.announcement_id).join(Channel, Channel.id == Delivery.channel_id)
    .where(Delivery.announcement_id.in_(bindparam("ids", expanding=True)),
           Delivery.status == DeliveryStatus.published, Channel.platform.in_(CITY_SITE))
)
_UPDATES = (
    select(Announcement.alert)
    .where(Announcement.follows_id == bindparam("alert_id"), Announcement.follow_kind == "update")
    .order_by(Announcement.id)
)


def current(session: Session, *, now: datetime) -> list[Current]:
    """Published emergencies whose alert has neither expired nor been ended by an all-clear, newest first.

    Expiry and the other details are the newest update's.
    """
    shown = [of(a, latest_details(session, a)) for a in session.scalars(_CURRENT)]
    found = [c for c in shown if c.expires > now]
    on_site = set(session.scalars(_ON_SITE, {"ids": [c.id for c in found]})) if found else set()
    return [replace(c, on_site=c.id in on_site) for c in found]


def latest_details(session: Session, alert: Announcement) -> dict[str, Any]:
    """The alert's details as its newest update left them."""
    updates = [details for details in session.scalars(_UPDATES, {"alert_id": alert.id}) if details]
    return dict(updates[-1] if updates else alert.alert or {})


def ended_by(session: Session, alert: Announcement) -> Announcement | None:
    """The all-clear or correction that ended the alert, if one did."""
    return next((f for f in follow_ups(session, alert) if f.follow_kind in ENDING_KINDS), None)


def of(announcement: Announcement, details: dict[str, Any] | None = None) -> Current:
    alert = details or announcement.alert or {}
    assert alert  # callers pass announcements with alert details
    return Current(id=announcement.id, title=announcement.title, event=alert["event"], severity=alert["severity"],
                   instruction=alert.get("instruction"), area_desc=alert["area_desc"],
                   expires=datetime.fromisoformat(alert["expires"]), exercise=bool(alert.get("exercise")))
