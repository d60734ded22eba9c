"""Leave (外出) approval tiers of the 2020 Measures, with the thresholds passed in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple

TIERS = {
    "office": "司法所批准 (县级机构委托)",
    "county": "县级社区矫正机构批准",
    "superior": "上一级社区矫正机构审批，通报人民检察院",
}


class LeavePolicy(NamedTuple):
    """Thresholds in days (Measures: 7 by the 司法所, 30 by the county, 30 within two months)."""

    office_max_days: int = 7
    county_max_days: int = 30
    window_days: int = 60


DEFAULT_POLICY = LeavePolicy()


class LeaveTier(NamedTuple):
    """Who must approve a leave and whether the procuratorate is told."""

    tier: str
    days: int
    notify_procuratorate: bool
    reason: str


def leave_days(start: dt.date, end: dt.date) -> int:
    """Days away, counting both the first and the last day."""
    if end < start:
        raise ValueError("leave ends before it starts")
    return (end - start).days + 1


def approval_tier(
    start: dt.date,
    end: dt.date,
    earlier: Iterable[tuple[dt.date, dt.date]],
    policy: LeavePolicy = DEFAULT_POLICY,
) -> LeaveTier:
    """The tier for a leave, given the person's earlier approved leaves (start, end)."""
    days = leave_days(start, end)
    window_start = start - dt.timedelta(days=policy.window_days)
    prior = 0
    for a, b in earlier:
        lo, hi = max(a, window_start), min(b, end)
        if hi >= lo:
            prior += (hi - lo).days + 1
    if days > policy.county_max_days:
        return LeaveTier("superior", days, True, f"over {policy.county_max_days} days at once")
    if days + prior > policy.county_max_days:
        return LeaveTier(
            "superior",
            days,
            True,
            f"{days + prior} days within {policy.window_days} days "
            f"exceeds {policy.county_max_days}",
        )
    if days > policy.office_max_days:
        return LeaveTier("county", days, False, f"over {policy.office_max_days} days")
    return LeaveTier("office", days, False, f"up to {policy.office_max_days} days")


# role -> tiers that role may decide
DECIDERS = {"office": ("office",), "county_head": ("office", "county", "superior")}


def may_decide(role: str, tier: str) -> bool:
    """True if a user of this role may record the decision for this tier.

    A 'superior' leave is decided by the next level up; the county head records that decision.
    """
    return tier in DECIDERS.get(role, ())


def return_lateness(
    starts_on: dt.date, ends_on: dt.date, returned_on: dt.date, today: dt.date
) -> int:
    """Days a return from leave came after the leave's last day (0 when on time).

    A return is recorded on or after the day the leave started and never in the future.
    """
    if returned_on > today:
        raise ValueError("a return cannot be recorded for a future date / 销假日期不能晚于今天")
    if returned_on < starts_on:
        raise ValueError("the return is before the leave started / 销假日期早于外出开始日期")
    return max(0, (returned_on - ends_on).days)
