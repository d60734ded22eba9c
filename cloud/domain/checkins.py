"""Reporting (check-in) obligations per classification, and whether one was missed.

Neither the Law nor the 2020 Measures fix how often a person reports: the classification
(严管/普管/宽管) and its obligations are set by provincial rules, so the periods are settings
(docs/cloud.md, "Check-in periods", says where each default comes from).
"""

from __future__ import annotations

from typing import NamedTuple

DAY = 86400


class CheckinPolicy(NamedTuple):
    """Days between required check-ins per class (defaults: see docs/cloud.md)."""

    strict: int = 7  # 严管
    normal: int = 14  # 普管
    lenient: int = 30  # 宽管

    def days(self, class_level: str) -> int:
        """The period of a class; an unclassified case is held to the normal one."""
        return int(getattr(self, class_level, self.normal))


class Obligations(NamedTuple):
    """Monthly study and community-service hours per class (used by the next issue's routers)."""

    study_hours_month: int
    service_hours_month: int


DEFAULT_OBLIGATIONS = {
    "strict": Obligations(12, 12),  # 严管
    "normal": Obligations(8, 8),  # 普管
    "lenient": Obligations(6, 6),  # 宽管
}


def next_checkin_due(
    last_checkin: int | None,
    supervision_start: int,
    class_level: str,
    policy: CheckinPolicy | None = None,
) -> int:
    """UTC seconds by which the next check-in is due."""
    period = (policy or CheckinPolicy()).days(class_level) * DAY
    return (last_checkin if last_checkin is not None else supervision_start) + period


def missed(
    last_checkin: int | None,
    supervision_start: int,
    class_level: str,
    now: int,
    policy: CheckinPolicy | None = None,
) -> bool:
    """True when the check-in period has run out."""
    return now > next_checkin_due(last_checkin, supervision_start, class_level, policy)
