"""How pages write a moment for people: one format for the whole city.

"Tue 8 Dec 2026, 9:00 a.m. EST": the weekday and the zone's abbreviation
make it unambiguous, even in the autumn hour that happens twice. Pages use the
`when` filter (registered by create_app with the city's zone), which also
writes the machine-readable <time datetime>.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape


def day_words(day: date) -> str:
    """'Tue 8 Dec 2026'."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def clock_words(local: datetime) -> str:
    """'9:00 a.m.' (a wall-clock time already in the city's zone)."""
    hour = local.hour % 12 or 12
    return f"{hour}:{local:%M} {'a.m.' if local.hour < 12 else 'p.m.'}"


def human(value: datetime | None, zone: ZoneInfo) -> str:
    """'Sun 1 Nov 2026, 1:30 a.m. EST'; '' for no moment."""
    if value is None:
        return ""
    local = value.astimezone(zone)
    return f"{day_words(local.date())}, {clock_words(local)} {local.tzname()}"


def zone_label(zone: ZoneInfo, at: datetime | None = None) -> str:
    """'America/New_York (EST)': the name people configure, the abbreviation they know; 'UTC' once."""
    abbreviation = (at or datetime.now(UTC)).astimezone(zone).tzname()
    return zone.key if abbreviation == zone.key else f"{zone.key} ({abbreviation})"


def when(value: datetime | date | None, zone: ZoneInfo, show: str = "full", empty: str = "") -> Markup:
    """The `when` filter: a <time> element in the city's format.

    `show` is "full" (date, time and zone), "date" (a day; a date or a moment)
    or "time" (the wall-clock time alone, under a heading that names the day).
    """
    if value is None:
        return escape(empty)
    if not isinstance(value, datetime):
        return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), day_words(value))
    local = value.astimezone(zone)
    words = {"date": day_words(local.date()), "time": clock_words(local)}.get(show) or human(value, zone)
    return Markup('<time datetime="{}">{}</time>').format(local.isoformat(), words)
