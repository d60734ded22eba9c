"""Rewards and penalties (law Art. 28) and the thresholds that raise proposals for a human."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

KINDS = {
    "praise": "表扬",
    "admonition": "训诫",
    "warning": "警告",
    "police_penalty": "提请治安管理处罚",
    "revoke_probation": "提请撤销缓刑",
    "revoke_parole": "提请撤销假释",
    "imprison": "提请收监执行",
}
# Proposals go to another authority, which decides; the bureau records the outcome.
PROPOSALS = ("police_penalty", "revoke_probation", "revoke_parole", "imprison")
APPLIES_TO = {
    "revoke_probation": ("probation",),
    "revoke_parole": ("parole",),
    "imprison": ("medical_parole",),
}
# Who may decide a reward or penalty, and who may file a proposal (the county bureau).
DECIDER_ROLES = {
    "praise": ("office", "county_head"),
    "admonition": ("office", "county_head"),
    "warning": ("county_head",),
    "police_penalty": ("county_head",),
    "revoke_probation": ("county_head",),
    "revoke_parole": ("county_head",),
    "imprison": ("county_head",),
}


# Art. 47: with a proposal to revoke probation or parole, the bureau may ask the court to arrest.
ARREST_KINDS = ("revoke_probation", "revoke_parole")
ARREST_GROUNDS = {"flight": "可能逃跑", "danger": "可能发生社会危险"}
RULING_OUTCOMES = {"granted": "准予（裁定撤销/决定收监/予以处罚）", "refused": "不予准许"}


class SanctionError(ValueError):
    """A reward or penalty the rules do not allow; the message says why."""


def check_sanction(kind: str, case_type: str, reason: str, evidence: list[Any]) -> None:
    """Every penalty names its facts; a proposal carries evidence and fits the case type."""
    if kind not in KINDS:
        raise SanctionError(f"kind must be one of {', '.join(KINDS)}")
    if not reason.strip():
        raise SanctionError("the facts and the rule applied are required")
    if kind in APPLIES_TO and case_type not in APPLIES_TO[kind]:
        raise SanctionError(f"{KINDS[kind]} does not apply to this case type")
    if kind in PROPOSALS and not evidence:
        raise SanctionError(
            "a proposal carries its evidence (Art. 46: 说明理由，并提供有关证据材料)"
        )


def check_arrest_request(
    kind: str, status: str, ground: str, facts: str, earlier_requests: int
) -> None:
    """An arrest request goes with a filed revocation proposal, once, with its ground and facts."""
    if kind not in ARREST_KINDS:
        raise SanctionError(
            "an arrest request accompanies a proposal to revoke probation or parole (Art. 47)"
        )
    if status != "sent":
        raise SanctionError(
            "the arrest request is filed with the signed revocation proposal (Art. 47 同时提请); "
            f"this proposal is {status}"
        )
    if ground not in ARREST_GROUNDS:
        raise SanctionError("ground must be flight (可能逃跑) or danger (可能发生社会危险)")
    if not facts.strip():
        raise SanctionError("the facts showing the risk are required")
    if earlier_requests:
        raise SanctionError("an arrest has already been requested with this proposal")


def check_ruling(kind: str, status: str) -> None:
    """Only a proposal sent to its authority receives a ruling."""
    if kind not in PROPOSALS:
        raise SanctionError(f"{KINDS.get(kind, kind)} is decided by the bureau, not ruled on")
    if status != "sent":
        raise SanctionError(f"sanction is {status}, not awaiting a ruling")


class Thresholds(NamedTuple):
    """Configurable thresholds drawn from the 2020 Measures (docs/cloud.md cites each)."""

    out_of_contact_warning_days: int = 10
    out_of_contact_revocation_days: int = 30
    admonitions_for_warning: int = 2
    warnings_for_revocation: int = 2


class Suggestion(NamedTuple):
    """A proposal raised for a person to decide; never applied automatically."""

    kind: str
    rule: str


def suggestions(facts: Mapping[str, Any], t: Thresholds | None = None) -> list[Suggestion]:
    """Proposals the facts call for: out-of-contact days, uncorrected admonitions and warnings."""
    t = t or Thresholds()
    out: list[Suggestion] = []
    case_type = facts["case_type"]
    revoke = {"probation": "revoke_probation", "parole": "revoke_parole"}.get(
        case_type, "imprison" if case_type == "medical_parole" else ""
    )
    lost = int(facts.get("out_of_contact_days", 0))
    if lost > t.out_of_contact_revocation_days and revoke:
        out.append(
            Suggestion(
                revoke, f"脱离监管超过{t.out_of_contact_revocation_days}日 (实施办法第四十六条等)"
            )
        )
    elif lost > t.out_of_contact_warning_days:
        out.append(
            Suggestion(
                "warning", f"脱离监管超过{t.out_of_contact_warning_days}日 (实施办法第三十五条)"
            )
        )
    elif lost > 0:
        out.append(Suggestion("admonition", "脱离监管未超过十日 (实施办法第三十四条)"))
    late = int(facts.get("late_return_days", 0))
    if late > t.out_of_contact_warning_days:
        out.append(
            Suggestion(
                "warning",
                f"逾期未归超过{t.out_of_contact_warning_days}日，按脱离监管处理"
                " (实施办法第三十五条, check)",
            )
        )
    elif late > 0:
        out.append(Suggestion("admonition", "违反外出规定，逾期返回 (实施办法第三十四条, check)"))
    if int(facts.get("admonitions_uncorrected", 0)) >= t.admonitions_for_warning:
        out.append(Suggestion("warning", "受到两次训诫仍不改正 (实施办法第三十五条)"))
    if int(facts.get("warnings_uncorrected", 0)) >= t.warnings_for_revocation and revoke:
        out.append(Suggestion(revoke, "受到两次警告仍不改正 (实施办法第四十六、四十七、四十九条)"))
    unique: dict[str, Suggestion] = {}
    for s in out:
        unique.setdefault(s.kind, s)
    return list(unique.values())
