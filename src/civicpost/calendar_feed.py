"""A person's private calendar address: the publishing calendar as iCalendar
(RFC 5545), for the calendar app a communications office already lives in.

Calendar apps fetch a subscribed address without signing in, so the address
carries a key: 32 random bytes, shown once when made, kept only as its
SHA-256. It reads what its owner may see today (their departments, or all for
approvers and admins), stops working when they are deactivated, and is
replaced or revoked from /staff/account.
"""

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.db import rows_changed
from civicpost.models import CalendarFeed, State, User

# Reads this far back and ahead of the moment the app asks.
PAST = timedelta(days=31)
AHEAD = timedelta(days=366)
# An announcement is a moment; calendars show it as a short event.
LENGTH = "PT15M"
KEY_CHARACTERS = 43  # secrets.token_urlsafe(32)
_KEY = re.compile(r"[A-Za-z0-9_-]{43}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def issue(session: Session, *, user: User) -> str:
    """A new key for `user`'s calendar address; any earlier key stops working."""
    key = secrets.token_urlsafe(32)
    replaced = rows_changed(session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id)))
    session.add(CalendarFeed(user_id=user.id, key_hash=_hash(key)))
    audit.record(session, actor=user, action="calendar_feed.replace" if replaced else "calendar_feed.create",
                 object_type="user", object_id=user.id)
    return key


def revoke(session: Session, *, user: User) -> bool:
    """Stop `user`'s calendar address; False when there was none."""
    gone = rows_changed(session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id)))
    if gone:
        audit.record(session, actor=user, action="calendar_feed.revoke", object_type="user", object_id=user.id)
    return bool(gone)


def current(session: Session, *, user: User) -> CalendarFeed | None:
    return session.get(CalendarFeed, user.id)


def owner(session: Session, key: str) -> User | None:
    """The active person whose address carries `key`, or None."""
    if not _KEY.fullmatch(key):
        return None
    user = session.scalar(select(User).join(CalendarFeed, CalendarFeed.user_id == User.id)
                          .where(CalendarFeed.key_hash == _hash(key)))
    return user if user is not None and user.active else None


def window(now: datetime) -> tuple[datetime, datetime]:
    return now - PAST, now + AHEAD


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# --- iCalendar --------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    uid: str
    at: datetime
    summary: str
    description: str
    url: str
    state: str


def ics(events: Iterable[Event], *, name: str, stamp: datetime) -> str:
    """An iCalendar document of `events`, CRLF line ends, lines folded at 75 octets."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//civicpost//publishing calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{text(name)}",
        "REFRESH-INTERVAL;VALUE=DURATION:PT15M",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{utc(stamp)}",
            f"DTSTART:{utc(event.at)}",
            f"DURATION:{LENGTH}",
            f"SUMMARY:{text(event.summary)}",
            f"DESCRIPTION:{text(event.description)}",
            f"URL:{event.url}",
            f"STATUS:{'CONFIRMED' if event.state == State.published else 'TENTATIVE'}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)




def text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and line breaks escaped, other control characters dropped."""
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Split a content line into lines of at most 75 octets, never inside a UTF-8 character."""
    out: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode())
        limit = 75 if not out else 74  # a continuation line starts with one space
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
