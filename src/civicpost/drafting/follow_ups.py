"""Follow-ups of a published alert: an update, an all-clear, or the correction a retract posts.

A published alert is never edited in place. Each follow-up is an announcement
of its own (emergency, the alert's department, `follows_id` naming the alert,
`follow_kind` saying which), aimed at the channels where the alert went out
and released at once through the same path as an approval, so a worker sends
it first in line like any emergency. Its CAP document is an Update (a Cancel
for a correction) that references every earlier message of the alert.

An all-clear or a correction ends the alert. Two people racing to end it both
touch the alert's row, whose version check lets only one of them win.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from civicpost import alert_wording, alerts, audit
from civicpost.db import utcnow
from civicpost.drafting import access, previews, versions, workflow
from civicpost.errors import Conflict, Forbidden, ServiceError
from civicpost.models import Announcement, Channel, Delivery, DeliveryStatus, State, Target, Translation, User
from civicpost.rendering import Renderer

UPDATE, ALL_CLEAR, CORRECTION = "update", "all_clear", "correction"
AUDIT_ACTION = {UPDATE: "alert_update", ALL_CLEAR: "all_clear", CORRECTION: "correction"}
LIVE = (State.publishing, State.published, State.failed)


def may_follow_up(user: User, announcement: Announcement) -> bool:
    """Whether this person may post an update or an all-clear to this alert (the page offers the forms)."""
    return (user.can_approve or user.emergency_publisher and user.is_member(announcement.department_id))


def open_to(session: Session, user: User, alert: Announcement) -> bool:
    """Whether the page offers this person the update and all-clear forms for this announcement now."""
    try:
        _check(session, user, alert, action="update")
    except ServiceError:
        return False
    return bool(_published_channels(session, alert))


def _published_channels(session: Session, alert: Announcement) -> list[Channel]:
    return list(session.scalars(select(Channel).where(Channel.id.in_(
        select(Delivery.channel_id).where(Delivery.announcement_id == alert.id,
                                          Delivery.status == DeliveryStatus.published))).order_by(Channel.id)))


def _posted_channels(session: Session, alert: Announcement) -> list[Channel]:
    """Where a post of the alert is, or may be, up: published ones and sends that may have landed."""
    return list(session.scalars(select(Channel).where(Channel.id.in_(
        select(Delivery.channel_id)
        .where(Delivery.announcement_id == alert.id,
               or_(Delivery.status.in_((DeliveryStatus.published, DeliveryStatus.sending, DeliveryStatus.unknown,
                                        DeliveryStatus.retracted)),
                   Delivery.published_at.is_not(None), Delivery.remote_id.is_not(None), Delivery.reconcile.is_(True))))
    ).order_by(Channel.id)))


def _check(session: Session, actor: User, alert: Announcement, *, action: str) -> None:
    """Who, then what state: an outsider learns nothing."""
    access.ensure_can_view(actor, alert)
    if not may_follow_up(actor, alert):
        raise Forbidden(f"only an emergency publisher of {alert.department.name} or an approver may {action} "
                        "an alert; ask one of them")
    if alert.follows_id is not None:
        raise Conflict(f"announcement {alert.id} is itself a follow-up of alert {alert.follows_id}; "
                       f"{action} that alert instead")
    if not alert.emergency or alert.alert is None:
        raise Conflict(f"announcement {alert.id} is not an emergency alert; only an alert can have an {action}: "
                       "an ordinary announcement is changed by editing it before it is published")
    if alert.state == State.retracted:
        raise Conflict(f"alert {alert.id} was retracted; it has ended and takes no more follow-ups")
    if alert.state not in LIVE:
        raise Conflict(f"alert {alert.id} is {alert.state}, not published; only a published alert can have an "
                       f"{action} (edit it while it is not published)")
    ended = alerts.ended_by(session, alert)
    if ended is not None and ended.follow_kind is not None:
        raise Conflict(f"alert {alert.id} already ended with its {ended.follow_kind.replace('_', '-')} "
                       f"(announcement {ended.id}); it takes no more follow-ups")


def _words(session: Session, alert: Announcement, details: dict[str, Any], kind: str,
           bodies: dict[str, str]) -> dict[str, tuple[str, str]]:
    """(title, text) in the alert's language and each of its translations, in the city's wording for each.

    A language given no body of its own gets the main one: a follow-up must reach every channel the alert did,
    in whatever language the channel publishes.
    """
    main = bodies.get(alert.language, "")
    titles = {alert.language: alert.title, **{t.language: t.title for t in alert.translations}}
    words = {}
    for language, title in titles.items():
        body = bodies.get(language, main)
        if kind == CORRECTION and not body:
            body = _render(session, "correction_body", language, title, details, "")
        words[language] = (title, _render(session, kind, language, title, details, body))
    return words


def _render(session: Session, kind: str, language: str, headline: str, details: dict[str, Any], body: str) -> str:
    text = alert_wording.render(alert_wording.template(session, kind, language), body=body, headline=headline,
                                event=details.get("event", ""), area=details.get("area_desc", ""))
    return text.strip() if body else text.strip().rstrip(":").strip()


def _post(session: Session, *, actor: User, alert: Announcement, kind: str, words: dict[str, tuple[str, str]],
          details: dict[str, Any], channels: list[Channel], renderer: Renderer, now: datetime) -> Announcement:
    title, text = words[alert.language]
    follow_up = Announcement(
        department_id=alert.department_id, author_id=actor.id, title=title, body=text, link=None,
        language=alert.language, emergency=True, alert=details, follows_id=alert.id, follow_kind=kind,
        state=State.draft, targets=[Target(channel_id=c.id, channel=c) for c in channels],
        translations=[Translation(language=language, title=t, body=b) for language, (t, b) in words.items()
                      if language != alert.language],
    )
    session.add(follow_up)
    session.flush()
    preview = previews.of_announcement(renderer, follow_up)
    versions.record(session, announcement=follow_up, preview=preview, actor=actor, reason="create")
    deliveries = workflow.release(session, actor=actor, announcement=follow_up, renderer=renderer,
                                  renditions=preview.renditions, signed=preview.fingerprint, due=now, now=now,
                                  action="posted")
    alert.updated_at = now  # the version check: of two people ending the alert at once, one gets a 409
    session.flush()
    for object_id in (alert.id, follow_up.id):
        audit.record(session, actor=actor, action=AUDIT_ACTION[kind], object_type="announcement",
                     object_id=object_id, fingerprint=preview.fingerprint,
                     detail={"alert": alert.id, "follow_up": follow_up.id, "deliveries": len(deliveries)})
    return follow_up


def post_update(session: Session, *, actor: User, alert: Announcement, body: str, changes: dict[str, Any],
                renderer: Renderer, translations: dict[str, str] | None = None,
                now: datetime | None = None) -> Announcement:
    """An "UPDATE:" post to every channel the alert went out on; `changes` (checked already) alter its details."""
    _check(session, actor, alert, action="update")
    now = now or utcnow()
    drill = bool((alert.alert or {}).get("exercise"))
    details = {**alerts.latest_details(session, alert), **changes, "exercise": drill}
    words = _words(session, alert, details, UPDATE, {**(translations or {}), alert.language: body})
    return _post(session, actor=actor, alert=alert, kind=UPDATE, words=words, details=details,
                 channels=_channels_or_refuse(session, alert), renderer=renderer, now=now)


def all_clear(session: Session, *, actor: User, alert: Announcement, body: str | None, renderer: Renderer,
              translations: dict[str, str] | None = None, now: datetime | None = None) -> Announcement:
    """"ALL CLEAR" to every channel the alert went out on; the alert ends."""
    _check(session, actor, alert, action="all-clear")
    now = now or utcnow()
    details = {**alerts.latest_details(session, alert), "urgency": "Past"}
    words = _words(session, alert, details, ALL_CLEAR, {**(translations or {}), alert.language: (body or "").strip()})
    return _post(session, actor=actor, alert=alert, kind=ALL_CLEAR, words=words, details=details,
                 channels=_channels_or_refuse(session, alert), renderer=renderer, now=now)


def _channels_or_refuse(session: Session, alert: Announcement) -> list[Channel]:
    channels = _published_channels(session, alert)
    if not channels:
        raise Conflict(f"alert {alert.id} is not published on any channel yet, so there is nowhere to post a "
                       "follow-up; wait until a channel has it, or retract it")
    return channels


def retract(session: Session, *, actor: User, announcement: Announcement, renderer: Renderer,
            reason: str | None = None, now: datetime | None = None) -> int:
    """Retract as usual; for an alert (sent in error) also take back its updates and post a correction
    to every channel that had it. Returns how many posts of the announcement are to be taken back."""
    is_alert = announcement.emergency and announcement.alert is not None and announcement.follows_id is None
    channels = _posted_channels(session, announcement) if is_alert else []
    marked = workflow.retract(session, actor=actor, announcement=announcement, reason=reason)
    if not channels:
        return marked
    for follow_up in alerts.follow_ups(session, announcement):
        # The updates repeat what was sent in error: they go with it.
        if follow_up.follow_kind == UPDATE and follow_up.state in LIVE:
            workflow.retract(session, actor=actor, announcement=follow_up)
    now = now or utcnow()
    details = alerts.latest_details(session, announcement)
    _post(session, actor=actor, alert=announcement, kind=CORRECTION,
          words=_words(session, announcement, details, CORRECTION, {}), details=details, channels=channels,
          renderer=renderer, now=now)
    return marked
