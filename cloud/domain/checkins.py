"""Reporting (check-in) obligations per classification, and whether one was missed."""

from __future__ import annotations

from typing import NamedTuple

DAY = 86400


class Obligations(NamedTuple):
    """What a class of supervision asks (defaults; provincial rules differ, so configurable)."""

    checkin_days: int
    study_hours_month: int
    service_hours_month: int


DEFAULT_OBLIGATIONS = {
    "strict": Obligations(7, 10, 10),  # 严管
    "normal": Obligations(14, 8, 8),  # 普管
    "lenient": Obligations(30, 6, 6),  # 宽管
}


def next_checkin_due(last_checkin: int | None, supervision_start: int, class_level: str) -> int:
    """UTC seconds by which the next check-in is due."""
    period = DEFAULT_OBLIGATIONS[class_level].checkin_days * DAY
    return (last_checkin if last_checkin is not None else supervision_start) + period


def missed(last_checkin: int | None, supervision_start: int, class_level: str, now: int) -> bool:
    """True when the check-in period has run out."""
    return now > next_checkin_due(last_checkin, supervision_start, class_level)
