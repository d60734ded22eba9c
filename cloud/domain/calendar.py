"""Working-day calendar from a maintained table of PRC public holidays and adjusted working days."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "holidays-cn.json"


class Calendar:
    """Which days are working days: weekends and holidays off, adjusted weekend days on."""

    def __init__(
        self,
        holidays: Iterable[dt.date] = (),
        workdays: Iterable[dt.date] = (),
        years: Iterable[int] = (),
    ) -> None:
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)
        self.years = frozenset(years)

    def covers(self, day: dt.date) -> bool:
        """True when the table has the official arrangement for this day's year."""
        return day.year in self.years

    def is_working_day(self, day: dt.date) -> bool:
        """A working day (工作日): Monday-Friday unless a holiday, or an adjusted working day."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day after start (start itself is not counted)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        day = start
        left = n
        while left:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def next_working_day(self, day: dt.date) -> dt.date:
        """day itself if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]."""
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count


def _days(first: str, last: str) -> list[dt.date]:
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    if b < a:
        raise ValueError(f"holiday range {first}..{last} runs backwards")
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


def calendar_from_table(table: Mapping[str, Any]) -> Calendar:
    """A Calendar from the JSON table's structure (see cloud/data/holidays-cn.json)."""
    holidays: list[dt.date] = []
    workdays: list[dt.date] = []
    years: list[int] = []
    for year, spec in table["years"].items():
        years.append(int(year))
        for first, last, _name in spec["holidays"]:
            holidays += _days(first, last)
        workdays += [dt.date.fromisoformat(d) for d in spec["workdays"]]
    clash = set(holidays) & set(workdays)
    if clash:
        raise ValueError(f"days both holiday and working day: {sorted(clash)}")
    return Calendar(holidays, workdays, years)


def load_calendar(path: Path = DATA) -> Calendar:
    """The shipped (or a county's own) holiday table."""
    return calendar_from_table(json.loads(path.read_text(encoding="utf-8")))
