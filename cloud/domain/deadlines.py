"""Statutory time limits as pure functions of dates (law and 2020 Measures; see docs/cloud.md)."""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from typing import NamedTuple

from cloud.domain.calendar import Calendar


class Deadline(NamedTuple):
    """A computed due date, the rule it comes from, and whether the calendar was provisional."""

    kind: str
    due: dt.date
    basis: str
    provisional: bool = False


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day-of-month `months` later, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, _cal.monthrange(year, month)[1]))


def calendar_days(start: dt.date, days: int, cal: Calendar) -> dt.date:
    """A period of `days` days from start, start not counted; a last day off moves to a working day.

    The counting rule is the Criminal Procedure Law's (Art. 105): the day the period starts is
    not counted, and a period ending on a holiday ends on the first working day after it.
    """
    return cal.next_working_day(start + dt.timedelta(days=days))


def _provisional(cal: Calendar, start: dt.date, due: dt.date) -> bool:
    return not (cal.covers(start) and cal.covers(due))


def assessment_due(received_on: dt.date, fast_track: bool, cal: Calendar) -> Deadline:
    """调查评估: opinion within 10 working days of the commission, 5 in fast-track (速裁) cases."""
    n = 5 if fast_track else 10
    due = cal.add_working_days(received_on, n)
    return Deadline(
        "assessment_opinion",
        due,
        "实施办法第十四条 (10/5 个工作日)",
        _provisional(cal, received_on, due),
    )


def report_due(effective_on: dt.date, cal: Calendar) -> Deadline:
    """报到: within 10 days of the judgment or ruling taking effect (law Art. 21)."""
    due = calendar_days(effective_on, 10, cal)
    return Deadline("report", due, "社区矫正法第二十一条", _provisional(cal, effective_on, due))


def documents_due(effective_on: dt.date, cal: Calendar) -> list[Deadline]:
    """The deciding authority notifies within 5 days and delivers documents within 10 (Art. 20)."""
    out = []
    for kind, days in (("authority_notice", 5), ("documents", 10)):
        due = calendar_days(effective_on, days, cal)
        out.append(Deadline(kind, due, "社区矫正法第二十条", _provisional(cal, effective_on, due)))
    return out


def court_ruling_due(proposed_on: dt.date, kind: str, cal: Calendar) -> Deadline:
    """The court rules on revocation, or the authority on 收监, within 30 days (Arts. 48, 49)."""
    basis = {
        "revoke_probation": "第四十八条",
        "revoke_parole": "第四十八条",
        "imprison": "第四十九条",
    }
    if kind not in basis:
        raise ValueError(f"{kind} has no ruling deadline")
    due = calendar_days(proposed_on, 30, cal)
    return Deadline(
        f"{kind}_ruling", due, "社区矫正法" + basis[kind], _provisional(cal, proposed_on, due)
    )


def arrest_decision_due(requested_at: dt.datetime) -> dt.datetime:
    """A court decides on a requested arrest within 48 hours (law Art. 47)."""
    return requested_at + dt.timedelta(hours=48)


def custody_limit(arrested_on: dt.date) -> Deadline:
    """Custody after an arrest under Art. 47 lasts at most 30 days.

    Not moved past holidays: a period of custody ends when it ends (Criminal Procedure Law
    Art. 105: 在押期间...不得因节假日而延长).
    """
    return Deadline("custody_limit", arrested_on + dt.timedelta(days=30), "社区矫正法第四十七条")


def residence_report_due(decided_on: dt.date, days: int, cal: Calendar) -> Deadline:
    """After an approved move within the county, report to the new 司法所 (period configured)."""
    due = calendar_days(decided_on, days, cal)
    return Deadline(
        "residence_report",
        due,
        "社区矫正法第二十七条 (迁居；报到期限可配置)",
        _provisional(cal, decided_on, due),
    )


def leave_return_due(ends_on: dt.date) -> Deadline:
    """Back from leave, and reported, by the leave's last day (Measures, check article)."""
    return Deadline("leave_return", ends_on, "实施办法第二十八条 (外出期满前返回并报告)")


def correction_reply_due(filed_on: dt.date, days: int, cal: Calendar) -> Deadline:
    """Written reply to a procuratorate correction notice (law Art. 62; period configured)."""
    due = calendar_days(filed_on, days, cal)
    return Deadline(
        "correction_reply",
        due,
        "社区矫正法第六十二条 (期限可配置)",
        _provisional(cal, filed_on, due),
    )


def transfer_deadlines(decided_on: dt.date, cal: Calendar) -> list[Deadline]:
    """Change of execution place: report to the new county in 7 days, file in 5 (Measures)."""
    return [
        Deadline("transfer_report", calendar_days(decided_on, 7, cal), "实施办法第三十条"),
        Deadline("transfer_file", calendar_days(decided_on, 5, cal), "实施办法第三十条"),
    ]


def release_due(term_end: dt.date) -> Deadline:
    """解除 on the day the term expires (law Art. 44)."""
    return Deadline("release", term_end, "社区矫正法第四十四条")


def positioning_max_end(starts_on: dt.date) -> dt.date:
    """The latest end of an electronic-positioning order or renewal: three months (Art. 29)."""
    return add_months(starts_on, 3)


def days_overdue(due: dt.date, today: dt.date) -> int:
    """Days past due (0 when not yet due)."""
    return max(0, (today - due).days)
