"""Alert kinds, priorities, folding, escalation and suspension rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

# kind -> (priority: 0 highest, zh, en)
KINDS: dict[str, tuple[int, str, str]] = {
    "sos": (0, "紧急求助", "SOS"),
    "tamper": (1, "腕带拆卸", "Strap tamper"),
    "out_of_contact": (1, "脱管", "Out of contact"),
    "security": (1, "安全告警", "Security alarm"),
    "band_silent": (2, "腕带失联", "Band silent"),
    "missed_checkin": (2, "未按时报告", "Missed check-in"),
    "deadline_due": (2, "期限将至", "Deadline due"),
    "low_battery": (3, "电量低", "Low battery"),
    "hub_offline": (2, "基站离线", "Hub offline"),
}
STATUSES = ("open", "acknowledged", "escalated", "resolved")
UNSUSPENDABLE = ("sos", "security")  # a person's safety and the system's integrity
SYSTEM_KINDS = ("hub_offline",)  # about equipment, not a person: nothing to suspend per person


class AlertError(ValueError):
    """An alert action the rules refuse; the message says why."""


class EscalationPolicy(NamedTuple):
    """Seconds an alert may stay unacknowledged before it escalates, per priority."""

    sos_s: int = 120
    other_s: int = 4 * 3600

    def limit(self, kind: str) -> int:
        """The limit for this kind."""
        return self.sos_s if KINDS[kind][0] == 0 else self.other_s


def priority(kind: str) -> int:
    """0 is the most urgent."""
    if kind not in KINDS:
        raise AlertError(f"unknown alert kind {kind!r}")
    return KINDS[kind][0]


def fold_key(kind: str, subject: str, detail: Mapping[str, Any]) -> str:
    """Alerts with the same key while open fold into one (an SOS per sos_id, others per subject)."""
    if kind == "sos":
        return f"sos:{subject}:{detail.get('sos_id', 0)}"
    if kind == "deadline_due":
        return f"deadline:{subject}:{detail.get('deadline_id', 0)}"
    return f"{kind}:{subject}"


def escalation_due(alert: Mapping[str, Any], now: int, policy: EscalationPolicy) -> bool:
    """True if an open alert has waited past its limit without acknowledgement."""
    if alert["status"] != "open":
        return False
    return now - int(alert["raised_at"]) >= policy.limit(str(alert["kind"]))


def check_ack(alert: Mapping[str, Any]) -> None:
    """Only an open or escalated alert can be acknowledged."""
    if alert["status"] not in ("open", "escalated"):
        raise AlertError(f"alert is {alert['status']}")


def check_resolve(alert: Mapping[str, Any], note: str) -> None:
    """Resolving needs a note saying what was done."""
    if alert["status"] == "resolved":
        raise AlertError("alert is already resolved")
    if not note.strip():
        raise AlertError("a note saying what was done is required to resolve an alert")


def check_suspension(kind: str, reason: str, hours: int) -> None:
    """Suspending one alert kind for one person needs a reason and an end; never SOS."""
    if kind not in KINDS:
        raise AlertError(f"unknown alert kind {kind!r}")
    if kind in UNSUSPENDABLE or kind in SYSTEM_KINDS:
        raise AlertError(f"{kind} alerts cannot be suspended for a person")
    if not reason.strip():
        raise AlertError("a reason is required to suspend an alert kind")
    if not 1 <= hours <= 24 * 90:
        raise AlertError("a suspension lasts 1 hour to 90 days")
