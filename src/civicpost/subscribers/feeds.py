"""What a topic's feeds and embed list: its department's announcements, and those sent to the topic
through a `subscribers` channel (whose settings name its topics), as published on the city's site."""

from datetime import datetime

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from civicpost import calendar_feed
from civicpost.feed import PublicItem
from civicpost.models import Announcement, Channel, Target, Topic

SUBSCRIBERS_PLATFORM = "subscribers"
# An event given without an end shows as this long in calendars.
DEFAULT_LENGTH = "PT1H"


def of_topic(session: Session, topic: Topic) -> ColumnElement[bool]:
    channels = [c.id for c in session.scalars(select(Channel).where(Channel.platform == SUBSCRIBERS_PLATFORM))
                if topic.slug in ((c.settings or {}).get("topics") or [])]
    by_department = Announcement.department_id == topic.department_id if topic.department_id else false()
    if not channels:
        return by_department
    return or_(by_department, Announcement.id.in_(
        select(Target.announcement_id).where(Target.channel_id.in_(channels))))


def ics(items: list[PublicItem], *, name: str, base_url: str, stamp: datetime) -> str:
    """The topic's announced events as iCalendar (RFC 5545): DTSTART, DTEND (or an hour), LOCATION."""
    base = base_url.rstrip("/")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//civicpost//topic events//EN", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{calendar_feed.text(name)}", "REFRESH-INTERVAL;VALUE=DURATION:PT1H"]
    for item in items:
        if item.event_start is None:
            continue
        url = f"{base}/announcements/{item.id}"
        end = item.event_end if item.event_end and item.event_end > item.event_start else None
        lines += [
            "BEGIN:VEVENT",
            f"UID:announcement-{item.id}-event@{base.split('://', 1)[-1].split('/', 1)[0] or 'civicpost'}",
            f"DTSTAMP:{calendar_feed.utc(stamp)}",
            f"DTSTART:{calendar_feed.utc(item.event_start)}",
            f"DTEND:{calendar_feed.utc(end)}" if end else f"DURATION:{DEFAULT_LENGTH}",
            f"SUMMARY:{calendar_feed.text(item.title)}",
            f"DESCRIPTION:{calendar_feed.text(item.text)}",
            *([f"LOCATION:{calendar_feed.text(item.location)}"] if item.location else []),
            f"URL:{url}",
            "STATUS:CONFIRMED",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(calendar_feed.fold(line) + "\r\n" for line in lines)
