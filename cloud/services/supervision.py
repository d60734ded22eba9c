"""Leave requests with tiered approval, rewards and penalties with their deadlines."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cloud import models
from cloud.domain import deadlines as dl
from cloud.domain import leave as leave_rules
from cloud.domain import sanctions as rules
from cloud.domain.roles import Actor
from cloud.runtime import Runtime
from cloud.services.cases import add_deadline
from cloud.services.common import ForbiddenError, RefusedError, check_case_scope, local_date
from cloud.store import NotFoundError


def policy(rt: Runtime) -> leave_rules.LeavePolicy:
    """Leave thresholds from settings."""
    st = rt.settings
    return leave_rules.LeavePolicy(
        st.leave_office_max_days, st.leave_county_max_days, st.leave_window_days
    )


def request_leave(
    rt: Runtime, actor: Actor, case_id: int, body: models.LeaveCreate
) -> dict[str, Any]:
    """File a leave request (the person or staff for them); the tier is computed, not chosen."""
    s, now = rt.store, rt.now()
    with s.tx():
        case = s.case(case_id)
        check_case_scope(actor, case)
        if case["stage"] != "supervising":
            raise RefusedError("leave is requested during supervision")
        if body.starts_on < local_date(now):
            raise RefusedError("leave cannot start in the past")
        earlier = [
            (dt.date.fromisoformat(r["starts_on"]), dt.date.fromisoformat(r["ends_on"]))
            for r in s.approved_leaves(case_id)
        ]
        tier = leave_rules.approval_tier(body.starts_on, body.ends_on, earlier, policy(rt))
        lid = s.insert(
            "leave_requests",
            {
                "case_id": case_id,
                "starts_on": body.starts_on.isoformat(),
                "ends_on": body.ends_on.isoformat(),
                "days": tier.days,
                "destination": body.destination,
                "reason": body.reason,
                "tier": tier.tier,
                "notify_procuratorate": int(tier.notify_procuratorate),
                "created_by": actor.id,
                "created_at": now,
            },
        )
        s.audit(
            actor, "leave.request", "leave", lid, {"case_id": case_id, "tier": tier.tier}, at=now
        )
    return s.get("leave_requests", lid)


def decide_leave(
    rt: Runtime, actor: Actor, leave_id: int, body: models.LeaveDecision
) -> dict[str, Any]:
    """Approve or refuse at the leave's tier; over-30-day leaves notify the procuratorate."""
    s, now = rt.store, rt.now()
    with s.tx():
        row = s.get("leave_requests", leave_id)
        case = s.case(row["case_id"])
        check_case_scope(actor, case)
        if row["status"] != "requested":
            raise RefusedError(f"leave is {row['status']}")
        if not leave_rules.may_decide(actor.role, row["tier"]):
            raise ForbiddenError(
                f"{row['tier']} leave is not decided by {actor.role} "
                f"({leave_rules.TIERS[row['tier']]})"
            )
        status = "approved" if body.approve else "refused"
        s.update(
            "leave_requests",
            "id",
            leave_id,
            {
                "status": status,
                "decided_by": actor.id,
                "decided_at": now,
                "decision_note": body.note,
            },
        )
        if body.approve:
            add_deadline(
                rt,
                dl.leave_return_due(dt.date.fromisoformat(row["ends_on"])),
                case["office_id"],
                case_id=case["id"],
                source=f"leave:{leave_id}",
            )
            if row["notify_procuratorate"]:
                s.insert(
                    "notices",
                    {
                        "case_id": case["id"],
                        "recipient_kind": "procuratorate",
                        "recipient": "同级人民检察院",
                        "kind": "leave_superior",
                        "sent_at": now,
                        "content": {"leave_id": leave_id, "days": row["days"]},
                    },
                )
        s.audit(actor, f"leave.{status}", "leave", leave_id, {"note": body.note}, at=now)
    return s.get("leave_requests", leave_id)


def leave_returned(
    rt: Runtime, actor: Actor, leave_id: int, body: models.LeaveReturn | None = None
) -> dict[str, Any]:
    """销假: the person is back and reported in; a return after the last day is recorded late."""
    s, now = rt.store, rt.now()
    body = body or models.LeaveReturn()
    today = local_date(now)
    returned_on = body.returned_on or today
    with s.tx():
        row = s.get("leave_requests", leave_id)
        case = s.case(row["case_id"])
        check_case_scope(actor, case)
        if row["status"] != "approved":
            raise RefusedError(f"leave is {row['status']}")
        try:
            late = leave_rules.return_lateness(
                dt.date.fromisoformat(row["starts_on"]),
                dt.date.fromisoformat(row["ends_on"]),
                returned_on,
                today,
            )
        except ValueError as exc:
            raise RefusedError(str(exc)) from None
        if late and not body.note:
            raise RefusedError("a late return needs a note saying why / 逾期返回须说明原因")
        s.update(
            "leave_requests",
            "id",
            leave_id,
            {
                "status": "returned",
                "returned_at": now,
                "returned_on": returned_on.isoformat(),
                "late_days": late,
                "return_note": body.note or None,
            },
        )
        s.close_deadlines(
            row["case_id"],
            ["leave_return"],
            now,
            source=f"leave:{leave_id}",
            met_on=returned_on.isoformat(),
        )
        detail = {"leave_id": leave_id, "returned_on": returned_on.isoformat(), "late_days": late}
        s.insert(
            "case_events",
            {
                "case_id": case["id"],
                "at": now,
                "action": "leave_return_late" if late else "leave_return",
                "actor_id": actor.id,
                "detail": {**detail, "note": body.note},
            },
        )
        s.audit(actor, "leave.returned", "leave", leave_id, detail, at=now)
    return s.get("leave_requests", leave_id)


def propose(rt: Runtime, actor: Actor, case_id: int, body: models.SanctionCreate) -> dict[str, Any]:
    """Record a reward or penalty; decided at once by a role that may decide it, else proposed."""
    s, now = rt.store, rt.now()
    with s.tx():
        case = s.case(case_id)
        check_case_scope(actor, case)
        if case["closed_at"]:
            raise RefusedError("the case is closed")
        try:
            rules.check_sanction(body.kind, case["case_type"], body.reason, body.evidence)
        except rules.SanctionError as exc:
            raise RefusedError(str(exc)) from None
        decides = body.kind not in rules.PROPOSALS and actor.role in rules.DECIDER_ROLES[body.kind]
        sid = s.insert(
            "sanctions",
            {
                "case_id": case_id,
                "kind": body.kind,
                "status": "decided" if decides else "proposed",
                "reason": body.reason,
                "evidence": body.evidence,
                "proposed_by": actor.id,
                "proposed_at": now,
                "decided_by": actor.id if decides else None,
                "decided_at": now if decides else None,
            },
        )
        s.audit(
            actor,
            "sanction.propose",
            "sanction",
            sid,
            {"kind": body.kind, "case_id": case_id},
            at=now,
        )
    return s.get("sanctions", sid)


def decide(
    rt: Runtime, actor: Actor, sanction_id: int, body: models.SanctionDecision
) -> dict[str, Any]:
    """Decide a proposed penalty, or sign and send a proposal to its authority (deadline starts)."""
    s, now = rt.store, rt.now()
    with s.tx():
        row = s.get("sanctions", sanction_id)
        case = s.case(row["case_id"])
        check_case_scope(actor, case)
        if row["status"] != "proposed":
            raise RefusedError(f"sanction is {row['status']}")
        if actor.role not in rules.DECIDER_ROLES[row["kind"]]:
            raise ForbiddenError(f"{rules.KINDS[row['kind']]} is decided by the county bureau head")
        changes: dict[str, Any] = {
            "decided_by": actor.id,
            "decided_at": now,
            "outcome": body.note or None,
        }
        if not body.approve:
            changes["status"] = "refused"
        elif row["kind"] in rules.PROPOSALS:
            changes["status"] = "sent"
            if row["kind"] in ("revoke_probation", "revoke_parole", "imprison"):
                due = dl.court_ruling_due(local_date(now), row["kind"], rt.calendar)
                changes["due_on"] = due.due.isoformat()
                add_deadline(rt, due, case["office_id"], case_id=case["id"])
        else:
            changes["status"] = "decided"
        s.update("sanctions", "id", sanction_id, changes)
        s.audit(
            actor,
            f"sanction.{changes['status']}",
            "sanction",
            sanction_id,
            {"note": body.note},
            at=now,
        )
    return s.get("sanctions", sanction_id)


def rule(
    rt: Runtime, actor: Actor, sanction_id: int, body: models.SanctionRuling
) -> dict[str, Any]:
    """Record the court's, authority's or police's ruling on a proposal that was sent to it."""
    s, now = rt.store, rt.now()
    with s.tx():
        row = s.get("sanctions", sanction_id)
        check_case_scope(actor, s.case(row["case_id"]))
        try:
            rules.check_ruling(row["kind"], row["status"])
        except rules.SanctionError as exc:
            raise RefusedError(str(exc)) from None
        if body.ruled_on > local_date(now):
            raise RefusedError("a ruling cannot be dated in the future / 裁定日期晚于今天")
        s.update(
            "sanctions",
            "id",
            sanction_id,
            {
                "status": "ruled",
                "outcome": body.outcome,
                "ruling_no": body.document_no,
                "ruled_on": body.ruled_on.isoformat(),
            },
        )
        ruled_on = body.ruled_on.isoformat()
        s.close_deadlines(row["case_id"], [f"{row['kind']}_ruling"], now, met_on=ruled_on)
        # Either way custody under Art. 47 ends: prison on revocation, release on refusal (Art. 48).
        s.close_deadlines(row["case_id"], ["custody_limit"], now, met_on=ruled_on)
        s.insert(
            "case_events",
            {
                "case_id": row["case_id"],
                "at": now,
                "action": "ruling",
                "actor_id": actor.id,
                "detail": {"sanction_id": sanction_id, "kind": row["kind"]}
                | body.model_dump(mode="json"),
            },
        )
        s.audit(
            actor, "sanction.ruled", "sanction", sanction_id, body.model_dump(mode="json"), at=now
        )
    return s.get("sanctions", sanction_id)


def mark_corrected(rt: Runtime, actor: Actor, sanction_id: int) -> dict[str, Any]:
    """The person corrected the conduct (the warning no longer counts toward revocation)."""
    s, now = rt.store, rt.now()
    with s.tx():
        row = s.get("sanctions", sanction_id)
        check_case_scope(actor, s.case(row["case_id"]))
        if row["kind"] not in ("admonition", "warning") or row["status"] != "decided":
            raise RefusedError("only a decided admonition or warning can be marked corrected")
        s.update("sanctions", "id", sanction_id, {"corrected": 1})
        s.audit(actor, "sanction.corrected", "sanction", sanction_id, {}, at=now)
    return s.get("sanctions", sanction_id)


def suggestions(rt: Runtime, actor: Actor, case_id: int) -> list[dict[str, str]]:
    """Proposals the Measures' thresholds call for, for a person to decide."""
    s, now = rt.store, rt.now()
    case = s.case(case_id)
    check_case_scope(actor, case)
    counts = s.sanction_counts(case_id)
    lost = (now - case["missing_since"]) // 86400 if case["missing_since"] else 0
    facts = {
        "case_type": case["case_type"],
        "late_return_days": s.late_return_days(case_id),
        "out_of_contact_days": lost,
        "admonitions_uncorrected": counts.get("admonition", 0),
        "warnings_uncorrected": counts.get("warning", 0),
    }
    t = rules.Thresholds(out_of_contact_warning_days=rt.settings.out_of_contact_warning_days)
    return [
        {"kind": x.kind, "label": rules.KINDS[x.kind], "rule": x.rule}
        for x in rules.suggestions(facts, t)
    ]


__all__ = ["NotFoundError"]
