"""Deadlines in working days: Monday to Friday, minus configured holiday dates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def holidays_from(values: Iterable[str | date]) -> frozenset[date]:
    """Holiday dates from configuration (ISO strings or dates); ValueError on a bad one."""
    return frozenset(v if isinstance(v, date) else date.fromisoformat(v) for v in values)


def is_working_day(day: date, holidays: frozenset[date] = frozenset()) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: date, days: int, holidays: frozenset[date] = frozenset()) -> date:
    """The date `days` working days after `start` (the start day itself never counts)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    while days:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            days -= 1
    return day


def working_days_between(start: date, end: date, holidays: frozenset[date] = frozenset()) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day, holidays)
    return count
