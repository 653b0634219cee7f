"""The week as a grid: seven day columns by hour rows, in the city's wall-clock time.

A row is a wall-clock hour ("9:00 a.m."), the same for every day; on the
spring DST day one of them does not exist (the clocks skip it), and on the
autumn one an hour happens twice (both land in its row, each item saying
which by its zone's abbreviation).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from civicpost.web.dates import clock_words

if TYPE_CHECKING:
    from civicpost.web.pages.calendar import Day, Entry

# Shown unless something falls outside: 6:00 to 22:00, the hours a city posts in.
FIRST_HOUR, LAST_HOUR = 6, 21


@dataclass
class Cell:
    day: date
    hour: int
    entries: "list[Entry]"
    today: bool
    now: bool  # today, this hour
    exists: bool  # False for the hour the clocks skip in spring


@dataclass
class Row:
    hour: int
    label: str
    cells: list[Cell]


def hour_exists(day: date, hour: int, zone: ZoneInfo) -> bool:
    wall = datetime.combine(day, time(hour), tzinfo=zone)
    return wall.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None)


def hours_shown(days: "list[Day]", *, now: datetime, all_hours: bool) -> range:
    """6:00 to 22:00, widened to every item's hour and to this hour on today's column."""
    if all_hours:
        return range(0, 24)
    first, last = FIRST_HOUR, LAST_HOUR
    for day in days:
        hours = [e.at.hour for e in day.entries] + ([now.hour] if day.today else [])
        if hours:
            first, last = min(first, *hours), max(last, *hours)
    return range(first, last + 1)


def rows(days: "list[Day]", *, zone: ZoneInfo, now: datetime, all_hours: bool) -> list[Row]:
    """`now` is local; `days` are the week's seven, each with its entries."""
    result = []
    for hour in hours_shown(days, now=now, all_hours=all_hours):
        cells = [
            Cell(day=d.day, hour=hour, entries=[e for e in d.entries if e.at.hour == hour], today=d.today,
                 now=d.today and now.hour == hour, exists=hour_exists(d.day, hour, zone))
            for d in days
        ]
        result.append(Row(hour, clock_words(datetime.combine(date.min, time(hour))), cells))
    return result
