"""Pure rules: calendar, deadlines, stages, leave, positioning, sanctions, alerts, audit."""

from __future__ import annotations

import datetime as dt

import pytest

from cloud.domain import (
    alerts,
    audit_chain,
    checkins,
    deadlines,
    frames,
    leave,
    positioning,
    sanctions,
    stages,
)
from cloud.domain.calendar import Calendar, calendar_from_table, load_calendar
from protocol import replay

D = dt.date.fromisoformat
CAL = load_calendar()


# Calendar ---------------------------------------------------------------------------------------


def test_shipped_table_has_holidays_and_adjusted_working_days() -> None:
    assert CAL.covers(D("2026-01-05")) and not CAL.covers(D("2030-01-01"))
    assert not CAL.is_working_day(D("2026-02-16"))  # 春节, a Monday
    assert CAL.is_working_day(D("2026-02-14"))  # 调休上班, a Saturday
    assert not CAL.is_working_day(D("2025-10-08"))  # 国庆/中秋, a Wednesday
    assert CAL.is_working_day(D("2025-09-28"))  # adjusted Sunday


def test_working_days_skip_weekends_and_holidays() -> None:
    # Received Friday 2025-09-26: Sun 28 Sep is a working day, Oct 1-8 off, Sat 11 Oct working.
    assert CAL.add_working_days(D("2025-09-26"), 1) == D("2025-09-28")
    assert CAL.add_working_days(D("2025-09-26"), 3) == D("2025-09-30")
    assert CAL.add_working_days(D("2025-09-26"), 4) == D("2025-10-09")
    assert CAL.working_days_between(D("2025-09-26"), D("2025-10-09")) == 4


def test_table_refuses_a_day_both_off_and_on() -> None:
    bad = {
        "years": {
            "2025": {"holidays": [["2025-01-01", "2025-01-01", "x"]], "workdays": ["2025-01-01"]}
        }
    }
    with pytest.raises(ValueError, match="both"):
        calendar_from_table(bad)


# Deadlines --------------------------------------------------------------------------------------


def test_assessment_is_ten_working_days_five_when_fast_track() -> None:
    d = deadlines.assessment_due(
        D("2026-02-10"), False, CAL
    )  # Tue; 春节 15-23 Feb; 14 Feb Sat works
    # 11,12,13 Feb, Sat 14 (调休), 24,25,26,27 Feb, Sat 28 (调休), Mon 2 Mar: ten working days.
    assert d.due == D("2026-03-02") and not d.provisional
    assert deadlines.assessment_due(D("2026-02-10"), True, CAL).due == D("2026-02-24")
    assert "第十四条" in d.basis


def test_report_within_ten_days_moves_off_a_holiday() -> None:
    assert deadlines.report_due(D("2025-11-20"), CAL).due == D("2025-12-01")  # 30 Nov is a Sunday
    assert deadlines.report_due(D("2025-11-18"), CAL).due == D("2025-11-28")
    assert deadlines.report_due(D("2025-09-25"), CAL).due == D("2025-10-09")  # 5 Oct is in 国庆


def test_documents_and_court_and_reply_deadlines() -> None:
    kinds = {d.kind: d.due for d in deadlines.documents_due(D("2025-11-03"), CAL)}
    assert kinds == {
        "authority_notice": D("2025-11-10"),
        "documents": D("2025-11-13"),
    }  # 8 Nov Sat -> Mon
    assert deadlines.court_ruling_due(D("2025-11-03"), "revoke_parole", CAL).due == D("2025-12-03")
    with pytest.raises(ValueError):
        deadlines.court_ruling_due(D("2025-11-03"), "warning", CAL)
    assert deadlines.arrest_decision_due(dt.datetime(2025, 1, 1, 9)) == dt.datetime(2025, 1, 3, 9)
    assert deadlines.correction_reply_due(D("2025-11-03"), 15, CAL).due == D("2025-11-18")
    assert [d.kind for d in deadlines.transfer_deadlines(D("2025-11-03"), CAL)] == [
        "transfer_report",
        "transfer_file",
    ]


def test_beyond_the_table_is_flagged_provisional() -> None:
    assert deadlines.report_due(D("2027-03-01"), CAL).provisional
    assert not deadlines.report_due(D("2026-03-02"), CAL).provisional


def test_months_clamp_to_month_end() -> None:
    assert deadlines.add_months(D("2025-11-30"), 3) == D("2026-02-28")
    assert deadlines.positioning_max_end(D("2025-12-31")) == D("2026-03-31")
    assert deadlines.days_overdue(D("2025-01-01"), D("2025-01-04")) == 3


# Stages -----------------------------------------------------------------------------------------

CASE = {"case_type": "probation", "term_end": "2026-06-30"}
FACTS = {
    "report": {},
    "receive": {"identity_checked": True},
    "announce": {"attendees": ["a"]},
    "start_supervision": {"class_level": "strict", "plan": "p"},
    "release": {},
    "terminate": {"reason": "revoked_probation", "document_no": "(2026)1"},
    "transfer": {"new_county": "B县"},
}


@pytest.mark.parametrize("action", list(stages.TRANSITIONS))
def test_every_transition_from_every_stage(action: str) -> None:
    sources, target = stages.TRANSITIONS[action]
    for stage in stages.STAGES:
        if stage in sources:
            assert stages.next_stage(stage, action, CASE, FACTS[action], D("2026-07-01")) == target
        else:
            with pytest.raises(stages.TransitionError, match="not allowed"):
                stages.next_stage(stage, action, CASE, FACTS[action], D("2026-07-01"))


@pytest.mark.parametrize(
    ("action", "facts", "message"),
    [
        ("receive", {"identity_checked": False}, "identity"),
        ("announce", {"attendees": []}, "attended"),
        ("start_supervision", {"class_level": "x", "plan": "p"}, "classification"),
        ("start_supervision", {"class_level": "strict", "plan": " "}, "plan"),
        ("terminate", {"reason": "revoked_parole", "document_no": "1"}, "does not apply"),
        ("terminate", {"reason": "revoked_probation"}, "document"),
        ("terminate", {"reason": "escaped"}, "must be one of"),
        ("transfer", {"new_county": ""}, "new county"),
    ],
)
def test_acts_need_their_facts(action: str, facts: dict, message: str) -> None:
    stage = stages.TRANSITIONS[action][0][-1]
    with pytest.raises(stages.TransitionError, match=message):
        stages.next_stage(stage, action, CASE, facts, D("2026-07-01"))


def test_release_only_at_expiry_and_death_needs_no_document() -> None:
    with pytest.raises(stages.TransitionError, match="expiry"):
        stages.next_stage("supervising", "release", CASE, {}, D("2026-06-29"))
    assert stages.next_stage("supervising", "release", CASE, {}, D("2026-06-30")) == "released"
    assert (
        stages.next_stage("reported", "terminate", CASE, {"reason": "died"}, D("2026-01-01"))
        == "terminated"
    )


def test_deciding_authority_fits_the_case_type() -> None:
    stages.check_case_type("medical_parole", "prison_admin")
    with pytest.raises(stages.TransitionError):
        stages.check_case_type("probation", "police")
    assert stages.allowed_actions("supervising") == ["release", "terminate", "transfer"]


# Leave ------------------------------------------------------------------------------------------


def test_leave_tiers() -> None:
    s = D("2026-03-01")
    assert leave.approval_tier(s, s + dt.timedelta(days=6), []).tier == "office"  # 7 days
    assert leave.approval_tier(s, s + dt.timedelta(days=7), []).tier == "county"  # 8 days
    t = leave.approval_tier(s, s + dt.timedelta(days=30), [])  # 31 days
    assert t.tier == "superior" and t.notify_procuratorate
    earlier = [(D("2026-01-20"), D("2026-02-14"))]  # 26 days within the 60 before
    t = leave.approval_tier(s, s + dt.timedelta(days=6), earlier)
    assert t.tier == "superior" and "within" in t.reason
    assert leave.approval_tier(s, s, [(D("2025-06-01"), D("2025-06-30"))]).tier == "office"
    with pytest.raises(ValueError):
        leave.leave_days(s, s - dt.timedelta(days=1))
    assert leave.may_decide("office", "office") and not leave.may_decide("office", "county")
    assert leave.may_decide("county_head", "superior") and not leave.may_decide("village", "office")


def test_leave_thresholds_are_configurable() -> None:
    p = leave.LeavePolicy(office_max_days=3, county_max_days=20, window_days=60)
    assert leave.approval_tier(D("2026-03-01"), D("2026-03-04"), [], p).tier == "county"


# Positioning ------------------------------------------------------------------------------------


def test_order_requests_need_a_ground_and_three_months_at_most() -> None:
    positioning.check_request(3, "警告后仍不报告", D("2026-01-31"), D("2026-04-30"))
    with pytest.raises(positioning.OrderError, match="three months"):
        positioning.check_request(3, "x", D("2026-01-31"), D("2026-05-01"))
    with pytest.raises(positioning.OrderError, match="five"):
        positioning.check_request(6, "x", D("2026-01-01"), D("2026-02-01"))
    with pytest.raises(positioning.OrderError, match="facts"):
        positioning.check_request(1, " ", D("2026-01-01"), D("2026-02-01"))


def test_only_the_bureau_head_approves_and_renewal_needs_assessment() -> None:
    order = {"status": "requested", "ends_on": "2026-03-01"}
    positioning.check_approval(order, "county_head", D("2026-01-01"))
    with pytest.raises(positioning.OrderError, match="bureau head"):
        positioning.check_approval(order, "office", D("2026-01-01"))
    with pytest.raises(positioning.OrderError, match="over"):
        positioning.check_approval(order, "county_head", D("2026-03-01"))
    prev = {"status": "approved", "ends_on": "2026-03-01"}
    positioning.check_renewal(prev, "仍有必要", D("2026-03-01"))
    with pytest.raises(positioning.OrderError, match="assessment"):
        positioning.check_renewal(prev, "", D("2026-03-01"))
    with pytest.raises(positioning.OrderError, match="gap"):
        positioning.check_renewal(prev, "ok", D("2026-03-05"))
    with pytest.raises(positioning.OrderError):
        positioning.check_renewal(
            {"status": "refused", "ends_on": "2026-03-01"}, "ok", D("2026-03-01")
        )


def test_presence_until_only_while_in_force() -> None:
    cn = positioning.CN
    orders = [
        {"status": "approved", "starts_on": "2026-01-01", "ends_on": "2026-02-01"},
        {"status": "requested", "starts_on": "2026-01-01", "ends_on": "2026-03-01"},
    ]
    inside = dt.datetime(2026, 1, 15, tzinfo=cn)
    until = positioning.presence_until(orders, inside)
    assert until == int(dt.datetime(2026, 2, 1, tzinfo=cn).timestamp())
    assert positioning.presence_until(orders, dt.datetime(2026, 2, 1, tzinfo=cn)) == 0
    assert positioning.presence_until(orders, dt.datetime(2025, 12, 31, 23, 59, tzinfo=cn)) == 0
    assert positioning.expired(orders[0], dt.datetime(2026, 2, 1, tzinfo=cn))
    assert not positioning.expired(orders[1], dt.datetime(2026, 5, 1, tzinfo=cn))


# Sanctions --------------------------------------------------------------------------------------


def test_sanction_rules() -> None:
    sanctions.check_sanction("warning", "probation", "违反外出规定", [])
    with pytest.raises(sanctions.SanctionError, match="evidence"):
        sanctions.check_sanction("revoke_probation", "probation", "两次警告", [])
    with pytest.raises(sanctions.SanctionError, match="does not apply"):
        sanctions.check_sanction("revoke_parole", "probation", "x", ["e"])
    with pytest.raises(sanctions.SanctionError, match="facts"):
        sanctions.check_sanction("praise", "probation", "  ", [])


@pytest.mark.parametrize(
    ("facts", "kinds"),
    [
        ({"case_type": "probation", "out_of_contact_days": 3}, ["admonition"]),
        ({"case_type": "probation", "out_of_contact_days": 11}, ["warning"]),
        ({"case_type": "parole", "out_of_contact_days": 31}, ["revoke_parole"]),
        ({"case_type": "medical_parole", "out_of_contact_days": 31}, ["imprison"]),
        ({"case_type": "control", "out_of_contact_days": 31}, ["warning"]),
        ({"case_type": "probation", "warnings_uncorrected": 2}, ["revoke_probation"]),
        (
            {"case_type": "probation", "admonitions_uncorrected": 2, "warnings_uncorrected": 1},
            ["warning"],
        ),
        (
            {"case_type": "probation", "out_of_contact_days": 12, "admonitions_uncorrected": 2},
            ["warning"],
        ),
        ({"case_type": "probation"}, []),
    ],
)
def test_thresholds_raise_proposals_never_acts(facts: dict, kinds: list[str]) -> None:
    assert [s.kind for s in sanctions.suggestions(facts)] == kinds


# Alerts, check-ins ------------------------------------------------------------------------------


def test_alert_rules() -> None:
    assert alerts.priority("sos") == 0 < alerts.priority("tamper") < alerts.priority("low_battery")
    assert alerts.fold_key("sos", "person:1", {"sos_id": 7}) != alerts.fold_key(
        "sos", "person:1", {"sos_id": 8}
    )
    assert alerts.fold_key("tamper", "person:1", {"event": 1}) == alerts.fold_key(
        "tamper", "person:1", {"event": 5}
    )
    policy = alerts.EscalationPolicy(sos_s=120, other_s=3600)
    row = {"status": "open", "kind": "sos", "raised_at": 1000}
    assert not alerts.escalation_due(row, 1119, policy) and alerts.escalation_due(row, 1120, policy)
    assert not alerts.escalation_due({**row, "status": "acknowledged"}, 9999, policy)
    assert not alerts.escalation_due({**row, "kind": "tamper"}, 1200, policy)
    with pytest.raises(alerts.AlertError, match="note"):
        alerts.check_resolve({"status": "open"}, " ")
    with pytest.raises(alerts.AlertError, match="cannot be suspended"):
        alerts.check_suspension("sos", "住院", 24)
    with pytest.raises(alerts.AlertError, match="reason"):
        alerts.check_suspension("low_battery", "", 24)
    with pytest.raises(alerts.AlertError):
        alerts.check_ack({"status": "resolved"})


def test_missed_checkin_by_class() -> None:
    start = 0
    assert not checkins.missed(None, start, "strict", 7 * 86400)
    assert checkins.missed(None, start, "strict", 7 * 86400 + 1)
    assert not checkins.missed(None, start, "lenient", 20 * 86400)
    assert checkins.next_checkin_due(100, start, "normal") == 100 + 14 * 86400


# Audit chain and cloud replay rules -------------------------------------------------------------


def _entries(n: int) -> list[dict]:
    out, prev = [], audit_chain.GENESIS
    for i in range(1, n + 1):
        e = {
            "seq": i,
            "at": i,
            "actor": "a",
            "role": "r",
            "action": "x",
            "object_kind": "k",
            "object_id": str(i),
            "detail": "{}",
        }
        h = audit_chain.entry_hash(prev, e)
        out.append({**e, "prev_hash": prev, "hash": h})
        prev = h
    return out


def test_audit_chain_detects_edits_and_removals() -> None:
    rows = _entries(5)
    assert audit_chain.verify(rows) == (True, None, 5)
    edited = [dict(r) for r in rows]
    edited[2]["detail"] = '{"x": 1}'
    assert audit_chain.verify(edited)[:2] == (False, 3)
    assert audit_chain.verify(rows[:2] + rows[3:])[:2] == (False, 4)


def test_cloud_replay_rules() -> None:
    raw, other = b"a" * 90, b"b" * 90
    assert (
        frames.with_history(replay.STALE, 5, -1, raw, None) == frames.ACCEPT
    )  # late, from history
    assert (
        frames.with_history(replay.STALE, 5, 10, raw, None) == frames.REPLAY
    )  # below retention floor
    assert frames.with_history(replay.STALE, 5, -1, raw, raw) == frames.DUPLICATE
    assert frames.with_history(replay.DUPLICATE, 5, -1, raw, other) == frames.CONFLICT
    assert frames.with_history(replay.DUPLICATE, 5, -1, raw, None) == frames.REPLAY
    for seen in (0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1):
        assert frames.from_db(frames.to_db(seen)) == seen
        assert -(1 << 63) <= frames.to_db(seen) < 1 << 63
    assert frames.alert_for("battery", {"event": 1, "battery_pct": 19}, 20)[0] == "low_battery"
    assert frames.alert_for("battery", {"event": 3, "battery_pct": 19}, 20) is None
    assert frames.alert_for("tamper", {"event": 2, "battery_pct": 50}, 20) is None
    assert frames.alert_for("heartbeat", {"battery_pct": 15}, 20) == (
        "low_battery",
        {"battery_pct": 15},
    )


def test_the_cloud_window_is_wider_than_the_bands() -> None:
    state = replay.EMPTY
    for counter in [*range(0, 5), *range(6, 900)]:
        verdict, state, _gap = frames.window(state, counter)
        assert verdict == replay.NEW
    # 894 counters late: new for the cloud without history, still stale in the band's 64.
    assert replay.check((state[0], frames.narrow(state[1])), 5)[0] == replay.STALE
    verdict, state, gap = frames.window(state, 5)
    assert (verdict, gap) == (replay.NEW, 0)
    assert frames.window(state, 5)[0] == replay.DUPLICATE
    assert frames.window(state, 899 - frames.WIDE)[0] == replay.STALE  # beyond 1,024: history
    # The 64-counter bitmap kept for the band's window is what the band's window would hold.
    band = replay.EMPTY
    for counter in [*range(0, 5), *range(6, 900)]:
        band = replay.check(band, counter)[1]
    assert frames.narrow(state[1]) == band[1]


def test_the_wide_bitmap_is_stored_tagged_and_rebuilt_from_history() -> None:
    hi, wide = 2000, (1 << 700) | (1 << 70) | 0b1011
    blob = frames.wide_to_db(3, hi, wide)
    assert frames.wide_from_db(blob, 3, hi, 0b1011) == wide
    assert frames.wide_from_db(blob, 4, hi, 0b1011) is None  # re-keyed since
    assert frames.wide_from_db(blob, 3, hi + 1, 0b1011) is None  # enrolment moved hi
    assert frames.wide_from_db(blob, 3, hi, 0b1111) is None  # enrolment set a bit
    assert frames.wide_from_db(None, 3, hi, 0b1011) is None  # before migration 7's first use
    # Counters 64..1,023 behind hi come from history; the band's 64 bits are kept as they are.
    assert frames.rebuild(hi, 0b1011, [hi - 700, hi - 70, hi - 3, hi - 5000]) == wide


def test_counters_at_or_below_the_floor_are_judged_on_history_as_before() -> None:
    hi = 2000
    marked = frames.below_floor(hi, 0, 1500)  # retention deleted counters up to 1500
    assert marked >> 500 == (1 << (frames.WIDE - 500)) - 1 and marked & ((1 << 500) - 1) == 0
    assert frames.window((hi, marked), 1400)[0] == replay.DUPLICATE  # -> history, refused
    assert frames.window((hi, marked), 1600)[0] == replay.NEW
    # Inside the band's 64 the band's own bits rule, as they always did.
    assert frames.below_floor(hi, 0b1, hi) == (1 << frames.WIDE) - 1 - ((1 << 64) - 2)
    assert frames.below_floor(hi, 0b1, -1) == 0b1


def test_empty_calendar_counts_weekdays() -> None:
    cal = Calendar()
    assert cal.add_working_days(D("2030-01-04"), 1) == D("2030-01-07")
