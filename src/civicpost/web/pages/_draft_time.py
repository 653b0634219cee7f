"""Wall-clock times in the city's zone, both ways, with daylight saving handled on purpose.

A <input type=datetime-local> sends a time without a zone; it means the city's
zone. Twice a year a wall-clock time is odd: in the spring gap it never
happens, and in the autumn overlap it happens twice.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from civicpost.schemas import MAX_YEARS_AHEAD, check_horizon, horizon
from civicpost.web.dates import clock_words, day_words, human, zone_label

__all__ = ["LocalTime", "from_local_input", "human", "to_local_input", "zone_label"]

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True)
class LocalTime:
    instant: datetime | None = None  # aware UTC
    error: str | None = None
    note: str | None = None


def to_local_input(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime(LOCAL_FORMAT) if value else ""


def from_local_input(text: str, zone: ZoneInfo) -> LocalTime:
    text = text.strip()
    if not text:
        return LocalTime()
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        return LocalTime(error="Enter a date and time, for example 2026-12-01 09:00.")
    if naive.tzinfo is not None:
        naive = naive.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    try:
        check_horizon(first)
    except ValueError:
        # Year 9999 and the like: a typo, and at the calendar's edge not even convertible to UTC.
        return LocalTime(error=f"Choose a date within the next {MAX_YEARS_AHEAD} years, before "
                               f"{day_words(horizon())}.")
    round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:
        # The spring gap: guessing an hour either way could publish at the wrong time, so ask.
        return LocalTime(error=(
            f"{clock_words(naive)} does not exist on {day_words(naive.date())} in {zone.key}: the clocks jump "
            "forward an hour that night. Choose a time outside the skipped hour."
        ))
    instant = first.astimezone(UTC)
    if first.utcoffset() != second.utcoffset():
        return LocalTime(instant=instant, note=(
            f"{clock_words(naive)} happens twice on {day_words(naive.date())} in {zone.key}, because the clocks go "
            f"back that night; civicpost uses the first one, {human(instant, zone)}."
        ))
    return LocalTime(instant=instant)
