"""Objects to JSON: times in the city's zone as RFC 3339 with offset; never a secret."""

import functools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from civicpost.content import Rendition
from civicpost.links import http_url
from civicpost.models import Announcement, AuditEvent, Channel, Delivery, Department
from civicpost.quiet import Quiet


def instant(value: datetime | None, zone: ZoneInfo) -> str | None:
    return value.astimezone(zone).isoformat() if value else None


# Zones that are UTC by name: a moment in one needs no look-up of its offset (half an Instants call).
_UTC_ZONES = (UTC, ZoneInfo("UTC"), ZoneInfo("Etc/UTC"))


class Instants:
    """instant() for many moments at once, as a list page needs (150 a page).

    Takes naive UTC datetimes (as SQLite hands them back) or aware ones. The
    city's offset is looked up once per UTC hour and kept: a page's moment is
    then an addition and an isoformat, not a trip through the zone's rules
    (a third of a list page's CPU went to its times). An hour in which the
    offset changes is never kept; its moments take instant()'s way. Same text
    as instant(), to the character.
    """

    KEPT_HOURS = 20_000  # about two years of distinct hours; then it starts again
    KEPT_TEXTS = 5_000  # about thirty list pages' moments, under a megabyte; then it starts again

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._hours: dict[int, tuple[timedelta, str] | None] = {}
        self._local_hours: dict[str, tuple[str, str] | None] = {}
        self._texts: dict[str, str] = {}

    def __call__(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            if value.tzinfo in _UTC_ZONES:  # as PostgreSQL's connections hand them back: no offset to ask for
                value = value.replace(tzinfo=None)
            else:
                offset = value.utcoffset()
                value = (value - offset if offset else value).replace(tzinfo=None)
        hour = value.toordinal() * 24 + value.hour
        try:
            shift = self._hours[hour]
        except KeyError:
            if len(self._hours) >= self.KEPT_HOURS:
                self._hours.clear()
            shift = self._hours[hour] = self._shift(value)
        if shift is None:
            return value.replace(tzinfo=UTC).astimezone(self.zone).isoformat()
        return (value + shift[0]).isoformat() + shift[1]

    def text(self, value: str | None) -> str | None:
        """The same for a moment as db.utc_text reads it ("YYYY-MM-DD HH:MM:SS.ffffff", UTC).

        Where the city's offset is whole hours all through that UTC hour (most
        zones, most hours) a moment differs from its local time only in the date
        and hour: those are kept per hour, and the text is joined from pieces
        without making a datetime (a seventh of a list page's CPU went to making
        150 of them and writing them out again). Any other text, or hour, goes
        the datetime's way. The texts written are kept too (the newest pages
        are the ones listed again and again): a moment listed before is one
        dictionary look-up.
        """
        if value is None:
            return None
        try:
            return self._texts[value]
        except KeyError:
            if len(self._texts) >= self.KEPT_TEXTS:
                self._texts.clear()
            written = self._texts[value] = self._written(value)
            return written

    def _written(self, value: str) -> str:
        if len(value) == 26 and value[19] == ".":
            hour = value[:13]
            try:
                local = self._local_hours[hour]
            except KeyError:
                if len(self._local_hours) >= self.KEPT_HOURS:
                    self._local_hours.clear()
                local = self._local_hours[hour] = self._local_hour(datetime.fromisoformat(value))
            if local is not None:
                # isoformat() leaves out a fraction of zero.
                return local[0] + (value[13:19] if value.endswith("000000") else value[13:]) + local[1]
        written = self(datetime.fromisoformat(value))
        assert written is not None  # a moment given
        return written

    def _local_hour(self, value: datetime) -> tuple[str, str] | None:
        """The local date and hour ("YYYY-MM-DDTHH") of this UTC hour and the offset's text, if whole hours."""
        shift = self._shift(value)
        if shift is None or shift[0] % timedelta(hours=1):
            return None
        return (value.replace(minute=0, second=0, microsecond=0) + shift[0]).isoformat()[:13], shift[1]

    def _shift(self, value: datetime) -> tuple[timedelta, str] | None:
        """The zone's offset through this UTC hour and how isoformat writes it; None if it changes."""
        start = value.replace(minute=0, second=0, microsecond=0, tzinfo=UTC).astimezone(self.zone)
        end = (value.replace(minute=59, second=59, microsecond=999_999, tzinfo=UTC)).astimezone(self.zone)
        offset = start.utcoffset()
        if offset is None or offset != end.utcoffset():
            return None
        return offset, start.isoformat()[len(start.replace(tzinfo=None).isoformat()):]


def department(d: Department) -> dict[str, Any]:
    return {"id": d.id, "slug": d.slug, "name": d.name, "retention_years": d.retention_years}



def channel(c: Channel, zone: ZoneInfo, quiet: Quiet) -> dict[str, Any]:
    return {
        "id": c.id,
        "department": c.department.slug,
        "platform": c.platform,
        "name": c.name,
        "language": c.language,
        "settings": c.settings,
        "has_credentials": c.credentials_encrypted is not None,
        "active": c.active,
        "track_links": c.track_links,
        "stale_after_days": c.stale_after_days,
        "health": {
            "status": c.health_status,
            "last_success_at": instant(c.last_success_at, zone),
            "last_error": c.last_error,
            "last_error_at": instant(c.last_error_at, zone),
            "paused_until": instant(c.paused_until, zone),
            "days_since_post": quiet.days_since_post,
            "stale": quiet.stale,
            "token_expires_at": instant(c.token_expires_at, zone),
        },
    }


def announcement_summary(a: Announcement, zone: ZoneInfo, *, author: str | None = None) -> dict[str, Any]:
    """`author`: the author's email when the caller has it (a.author is then not read)."""
    return {
        "id": a.id,
        "department": a.department.slug,
        "title": a.title,
        "state": a.state,
        "emergency": a.emergency,
        "language": a.language,
        "author": author if author is not None else a.author.email,
        "publish_at": instant(a.publish_at, zone),
        "created_at": instant(a.created_at, zone),
        "updated_at": instant(a.updated_at, zone),
    }


@functools.cache
def instants(zone: ZoneInfo) -> Instants:
    """One Instants per zone for the process (its hours are kept across requests)."""
    return Instants(zone)


def summary_row(row, times: Instants) -> dict[str, Any]:
    """A list item from listing.LIST_COLUMNS (unpacked: the fastest way to read a row)."""
    id_, title, state, emergency, language, publish_at, created_at, updated_at, department_slug, author = row
    return {
        "id": id_,
        "department": department_slug,
        "title": title,
        "state": state,
        "emergency": emergency,
        "language": language,
        "author": author,
        "publish_at": times.text(publish_at),
        "created_at": times.text(created_at),
        "updated_at": times.text(updated_at),
    }


def delivery(d: Delivery, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": d.id,
        "channel_id": d.channel_id,
        "platform": d.channel.platform,
        "status": d.status,
        "attempts": d.attempts,
        "due_at": instant(d.due_at, zone),
        "next_attempt_at": instant(d.next_attempt_at, zone),
        "published_at": instant(d.published_at, zone),
        "retracted_at": instant(d.retracted_at, zone),
        "remote_id": d.remote_id,
        # Checked again here: a row recorded before links were checked may hold any scheme.
        "remote_url": http_url(d.remote_url),
        "last_error": d.last_error,
    }


def announcement(
    a: Announcement, zone: ZoneInfo, *, renditions: list[Rendition], deliveries: list[Delivery], fingerprint: str,
    author: str | None = None,
) -> dict[str, Any]:
    data = announcement_summary(a, zone, author=author)
    data.update(
        body=a.body,
        link=a.link,
        translations={t.language: {"title": t.title, "body": t.body} for t in a.translations},
        channels=[t.channel_id for t in a.targets],
        overrides={str(t.channel_id): t.override_text for t in a.targets if t.override_text is not None},
        media=[{"id": m.media_id, "alt_text": m.alt_text} for m in a.media],
        alert=alert(a.alert, zone),
        rejection_reason=a.rejection_reason,
        legal_hold=a.legal_hold,
        retracted_at=instant(a.retracted_at, zone),
        retraction_reason=a.retraction_reason,
        legal_hold_reason=a.legal_hold_reason,
        fingerprint=fingerprint,
        approved_fingerprint=a.approved_fingerprint,
        approved_by=a.approved_by.email if a.approved_by else None,
        approved_at=instant(a.approved_at, zone),
        review_due_at=instant(a.review_due_at, zone),
        reviewed_by=a.reviewed_by.email if a.reviewed_by else None,
        reviewed_at=instant(a.reviewed_at, zone),
        follows_id=a.follows_id,
        follow_kind=a.follow_kind,
        event_start=instant(a.event_start, zone),
        event_end=instant(a.event_end, zone),
        location=a.location,
        renditions=[r.as_dict() for r in renditions],
        deliveries=[delivery(d, zone) for d in deliveries],
    )
    return data


def alert(details: dict[str, Any] | None, zone: ZoneInfo) -> dict[str, Any] | None:
    if details is None:
        return None
    return {**details, "expires": instant(datetime.fromisoformat(details["expires"]), zone)}


def audit_event(e: AuditEvent, zone: ZoneInfo) -> dict[str, Any]:
    data: dict[str, Any] = {"at": instant(e.at, zone), "actor": e.actor, "action": e.action}
    if e.fingerprint:
        data["fingerprint"] = e.fingerprint
    if e.detail:
        data["detail"] = e.detail
    return data
