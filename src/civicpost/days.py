"""Whole days in a filter (`from`, `to`), as the API and the pages read them: the
city's own days, written 2026-03-08, within what civicpost accepts."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from civicpost.errors import Invalid
from civicpost.schemas import horizon

EARLIEST = date(1970, 1, 1)


def day_param(value: str | None, field: str) -> date | None:
    """The day a filter names, or None when it names none; 422 in words for anything else."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value) if value.isascii() and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise Invalid(f"the '{field}' date '{value[:40]}' is not a date; use the form 2026-03-08",
                      errors=[{"field": field, "message": "not a date"}])
    if not EARLIEST <= day <= horizon():
        raise Invalid(f"the '{field}' date must be between 1970-01-01 and {horizon():%Y-%m-%d}",
                      errors=[{"field": field, "message": "out of range"}])
    return day


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of the city's day, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
