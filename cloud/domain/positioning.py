"""Art. 29 electronic positioning orders: grounds, approval, three-month limit, renewal, end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from cloud.domain.deadlines import positioning_max_end

GROUNDS = {
    1: "违反人民法院禁止令的",
    2: "无正当理由，未经批准离开所居住的市、县的",
    3: "拒不按照规定报告自己的活动情况，被给予警告的",
    4: "违反监督管理规定，被给予治安管理处罚的",
    5: "拟提请撤销缓刑、假释或者暂予监外执行收监执行的",
}
APPROVER_ROLE = "county_head"  # 经县级司法行政部门负责人批准
CN = dt.timezone(dt.timedelta(hours=8))  # dates of an order are China Standard Time days


def _instant(day: object) -> dt.datetime:
    """Midnight (CST) at the start of a date given as a date or ISO string."""
    return dt.datetime.combine(dt.date.fromisoformat(str(day)), dt.time(0), CN)


class OrderError(ValueError):
    """An order the law does not allow; the message says which rule."""


def check_request(ground: int, reason: str, starts_on: dt.date, ends_on: dt.date) -> None:
    """A request names one of the five grounds, a reason, and lasts at most three months."""
    if ground not in GROUNDS:
        raise OrderError("ground must be one of the five in Art. 29 (1-5)")
    if not reason.strip():
        raise OrderError("the facts supporting the ground are required")
    if ends_on <= starts_on:
        raise OrderError("the order must end after it starts")
    if ends_on > positioning_max_end(starts_on):
        raise OrderError(
            f"at most three months (Art. 29): ends by {positioning_max_end(starts_on)}"
        )


def check_renewal(previous: Mapping[str, Any], assessment: str, starts_on: dt.date) -> None:
    """A renewal follows an approved order, carries a new assessment, and starts as it ends."""
    if previous["status"] not in ("approved", "expired"):
        raise OrderError("only an approved or expired order can be renewed")
    if not assessment.strip():
        raise OrderError("renewal needs a new assessment that it is still necessary (Art. 29)")
    prev_end = dt.date.fromisoformat(str(previous["ends_on"]))
    if starts_on > prev_end:
        raise OrderError("a renewal continues the order; after a gap file a new order")


def check_approval(order: Mapping[str, Any], approver_role: str, today: dt.date) -> None:
    """Only the county bureau head approves, and only a pending order not yet over."""
    if approver_role != APPROVER_ROLE:
        raise OrderError("only the county justice bureau head approves (Art. 29)")
    if order["status"] != "requested":
        raise OrderError(f"order is {order['status']}, not awaiting approval")
    if dt.date.fromisoformat(str(order["ends_on"])) <= today:
        raise OrderError("the requested period is already over")


def in_force(order: Mapping[str, Any], now: dt.datetime) -> bool:
    """True while an approved order covers this moment (ends_on is exclusive)."""
    if order["status"] != "approved":
        return False
    return _instant(order["starts_on"]) <= now < _instant(order["ends_on"])


def presence_until(orders: Iterable[Mapping[str, Any]], now: dt.datetime) -> int:
    """UTC seconds until which presence may be collected (0 = not allowed), for the hub config."""
    best = 0
    for order in orders:
        if in_force(order, now):
            best = max(best, int(_instant(order["ends_on"]).timestamp()))
    return best


def expired(order: Mapping[str, Any], now: dt.datetime) -> bool:
    """True when an approved order's end has passed (the expiry job ends it)."""
    if order["status"] != "approved":
        return False
    return now >= _instant(order["ends_on"])
