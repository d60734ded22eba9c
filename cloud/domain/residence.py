"""Change of residence within the county (law Art. 27 迁居), not a transfer between counties."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

# Only a received case has a 司法所 responsible for it; a closed case moves nowhere.
OPEN_FOR_MOVE = ("received", "announced", "supervising")
# 迁居 is approved by the 社区矫正机构 (Art. 27), i.e. the county bureau, not by a 司法所.
DECIDER_ROLE = "county_head"
STATUSES = {
    "requested": "待审批",
    "approved": "已批准",
    "refused": "不批准",
    "withdrawn": "已撤回",
}


class ResidenceError(ValueError):
    """A change of residence the rules refuse; the message says why."""


def check_request(
    stage: str,
    current_village_id: int,
    target: Mapping[str, Any],
    same_county: bool,
    moves_on: dt.date,
    today: dt.date,
    pending: int,
) -> None:
    """Refuse a move that is not a move within this county, or that comes too late or twice."""
    if stage not in OPEN_FOR_MOVE:
        raise ResidenceError(
            f"a change of residence is decided for a received case under supervision, "
            f"not in stage {stage}"
        )
    if target.get("kind") != "village":
        raise ResidenceError("the new residence is a village or community (村（居）) unit")
    if int(target["id"]) == current_village_id:
        raise ResidenceError("the person already lives in this village / 已在该村（居）居住")
    if not same_county:
        raise ResidenceError(
            "the new residence is in another county: that is a change of execution place "
            "(变更执行地, Art. 27 para. 2), recorded with the transfer act"
        )
    if moves_on < today:
        raise ResidenceError(
            "a move is approved before it happens (Art. 27 应当报经批准); a move already made "
            "without approval is a violation to record as such"
        )
    if pending:
        raise ResidenceError("another change of residence is awaiting a decision")


def check_decision(status: str, role: str) -> None:
    """Only a pending request is decided, and only by the county bureau."""
    if status != "requested":
        raise ResidenceError(f"the request is {status}")
    if role != DECIDER_ROLE:
        raise PermissionError("a change of residence is approved by the county bureau (Art. 27)")
