"""The legal life of a case as a state machine: which act moves it from which stage to which."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

CASE_TYPES = {
    "control": "管制",
    "probation": "缓刑",
    "parole": "假释",
    "medical_parole": "暂予监外执行",
}
# Who decides each case type (law Art. 17): the court, or for 暂予监外执行 also prison/police.
AUTHORITY_KINDS = {
    "court": "人民法院",
    "prison_admin": "监狱管理机关",
    "police": "公安机关",
}
AUTHORITIES_BY_TYPE = {
    "control": ("court",),
    "probation": ("court",),
    "parole": ("court",),
    "medical_parole": ("court", "prison_admin", "police"),
}

STAGES = {
    "notified": "待报到",  # documents received, the person must report (Arts. 20-21)
    "reported": "已报到",
    "received": "已接收",  # identity checked, file opened (Art. 22)
    "announced": "已宣告",  # announcement held (Art. 22)
    "supervising": "监督管理",  # plan and classification in force (Arts. 24-25)
    "released": "已解除",  # term expired (Art. 44)
    "terminated": "已终止",  # revoked, imprisoned or died (Art. 45)
    "transferred": "已变更执行地",  # moved to another county (Art. 27)
}
OPEN_STAGES = ("notified", "reported", "received", "announced", "supervising")
CLOSED_STAGES = ("released", "terminated", "transferred")

# action -> (stages it may start from, stage it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "report": (("notified",), "reported"),
    "receive": (("reported",), "received"),
    "announce": (("received",), "announced"),
    "start_supervision": (("announced",), "supervising"),
    "release": (("supervising",), "released"),
    "terminate": (OPEN_STAGES[1:], "terminated"),
    "transfer": (("supervising",), "transferred"),
}

TERMINATION_REASONS = {
    "revoked_probation": ("probation",),  # Art. 45-46
    "revoked_parole": ("parole",),
    "imprisoned": ("medical_parole",),  # Art. 49
    "died": tuple(CASE_TYPES),  # Art. 51
}
CLASSES = {"strict": "严管", "normal": "普管", "lenient": "宽管"}


class TransitionError(ValueError):
    """An act that the case's stage or facts do not allow; the message says why."""


def check_case_type(case_type: str, authority_kind: str) -> None:
    """Refuse a case type or deciding authority the law does not pair."""
    if case_type not in CASE_TYPES:
        raise TransitionError(f"unknown case type {case_type!r}")
    if authority_kind not in AUTHORITIES_BY_TYPE[case_type]:
        raise TransitionError(
            f"{CASE_TYPES[case_type]} is not decided by "
            f"{AUTHORITY_KINDS.get(authority_kind, authority_kind)}"
        )


def next_stage(
    stage: str, action: str, case: Mapping[str, Any], facts: Mapping[str, Any], today: dt.date
) -> str:
    """The stage after `action`, or TransitionError; `facts` are the act's own fields."""
    if action not in TRANSITIONS:
        raise TransitionError(f"unknown action {action!r}")
    sources, target = TRANSITIONS[action]
    if stage not in sources:
        raise TransitionError(
            f"{action} is not allowed in stage {stage} ({STAGES.get(stage, '?')}); "
            f"allowed from {', '.join(sources)}"
        )
    _check_facts(action, case, facts, today)
    return target


def _check_facts(
    action: str, case: Mapping[str, Any], facts: Mapping[str, Any], today: dt.date
) -> None:
    if action == "receive" and not facts.get("identity_checked"):
        raise TransitionError("identity must be checked before reception (Art. 22)")
    if action == "announce" and not facts.get("attendees"):
        raise TransitionError("an announcement records who attended (Art. 22)")
    if action == "start_supervision":
        if facts.get("class_level") not in CLASSES:
            raise TransitionError("classification must be strict, normal or lenient")
        if not str(facts.get("plan", "")).strip():
            raise TransitionError("a correction plan is required (Art. 24)")
    if action == "release":
        term_end = dt.date.fromisoformat(str(case["term_end"]))
        if today < term_end:
            raise TransitionError(
                f"the term runs until {term_end}; release only at expiry (Art. 44)"
            )
    if action == "terminate":
        reason = facts.get("reason")
        allowed = TERMINATION_REASONS.get(str(reason))
        if allowed is None:
            raise TransitionError(
                f"termination reason must be one of {', '.join(TERMINATION_REASONS)}"
            )
        if case["case_type"] not in allowed:
            raise TransitionError(f"{reason} does not apply to {CASE_TYPES[case['case_type']]}")
        if reason != "died" and not str(facts.get("document_no", "")).strip():
            raise TransitionError("the ruling or decision's document number is required (Art. 45)")
    if action == "transfer" and not str(facts.get("new_county", "")).strip():
        raise TransitionError("the new county is required (Art. 27)")


def allowed_actions(stage: str) -> list[str]:
    """Acts that may start from this stage (for the UI's forms)."""
    return [a for a, (sources, _t) in TRANSITIONS.items() if stage in sources]
