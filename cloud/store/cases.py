"""Queries over cases and their legal process: events, deadlines, leave, sanctions, orders."""

from __future__ import annotations

from collections.abc import Iterable

from cloud.store.base import BaseStore, Row


def _marks(ids: Iterable[int]) -> tuple[str, list[int]]:
    values = sorted(ids) or [-1]
    return ",".join("?" * len(values)), values


class CaseStore(BaseStore):
    """Case-related reads; writes go through the generic helpers inside a transaction."""

    def cases_in(self, scope: frozenset[int], stage: str | None = None) -> list[Row]:
        """Cases of the region, with the person's name, newest first."""
        marks, ids = _marks(scope)
        sql = (
            "SELECT c.*, p.name AS person_name, p.id_number, p.gender, u.name AS office_name "
            f"FROM cases c JOIN persons p ON p.id = c.person_id JOIN units u ON u.id = c.office_id "
            f"WHERE (c.office_id IN ({marks}) OR c.village_id IN ({marks}))"
        )
        params: list[object] = [*ids, *ids]
        if stage:
            sql += " AND c.stage = ?"
            params.append(stage)
        return self.q(sql + " ORDER BY c.id DESC", params)

    def case(self, case_id: int) -> Row:
        """One case with its person's fields (prefixed person_)."""
        row = self.one(
            "SELECT c.*, p.name AS person_name, p.id_number, p.gender, p.phone, p.address, "
            "p.birth_date FROM cases c JOIN persons p ON p.id = c.person_id WHERE c.id = ?",
            (case_id,),
        )
        if row is None:
            from cloud.store.base import NotFoundError

            raise NotFoundError(f"case {case_id}")
        return row

    def rows_for_case(self, table: str, case_id: int, order: str = "id") -> list[Row]:
        """Rows of a case-owned table (events, check-ins, leave, sanctions, orders, notices)."""
        assert table in (
            "case_events",
            "checkins",
            "leave_requests",
            "sanctions",
            "positioning_orders",
            "notices",
            "deadlines",
            "residence_changes",
            "arrest_requests",
        )
        assert order in ("id", "at", "due_on")
        return self.q(f"SELECT * FROM {table} WHERE case_id = ? ORDER BY {order}", (case_id,))

    def last_checkin(self, case_id: int) -> int | None:
        """UTC seconds of the latest check-in."""
        row = self.one("SELECT max(at) AS at FROM checkins WHERE case_id = ?", (case_id,))
        return int(row["at"]) if row and row["at"] is not None else None

    def approved_leaves(self, case_id: int) -> list[Row]:
        """Approved (or completed) leaves of a case."""
        return self.q(
            "SELECT * FROM leave_requests WHERE case_id = ? AND status IN ('approved', 'returned')",
            (case_id,),
        )

    def deadlines_in(self, scope: frozenset[int], until: str) -> list[Row]:
        """Open deadlines in a region due on or before a date, soonest first."""
        marks, ids = _marks(scope)
        return self.q(
            "SELECT d.*, p.name AS person_name FROM deadlines d "
            "LEFT JOIN cases c ON c.id = d.case_id "
            "LEFT JOIN persons p ON p.id = c.person_id "
            f"WHERE d.done_at IS NULL AND d.due_on <= ? AND d.unit_id IN ({marks}) "
            "ORDER BY d.due_on",
            [until, *ids],
        )

    def close_deadlines(
        self,
        case_id: int | None,
        kinds: Iterable[str],
        now: int,
        assessment_id: int | None = None,
        source: str | None = None,
        met_on: str | None = None,
    ) -> int:
        """Mark a case's (or an assessment's) open deadlines of these kinds done.

        `source` narrows it to the deadlines one act created (a leave, an arrest request);
        `met_on` records the day the duty was met, so lateness can be shown.
        """
        kinds = list(kinds)
        marks = ",".join("?" * len(kinds))
        owner, owner_id = (
            ("assessment_id", assessment_id) if assessment_id is not None else ("case_id", case_id)
        )
        sql = (
            f"UPDATE deadlines SET done_at = ?, met_on = ? WHERE {owner} = ? "
            f"AND kind IN ({marks}) AND done_at IS NULL"
        )
        params: list[object] = [now, met_on, owner_id, *kinds]
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        return self.x(sql, params).rowcount

    def due_deadlines(self, today: str) -> list[Row]:
        """Open deadlines due by `today` that have not yet raised an alert."""
        return self.q(
            "SELECT * FROM deadlines WHERE done_at IS NULL AND alerted_at IS NULL AND due_on <= ?",
            (today,),
        )

    def assessments_in(self, scope: frozenset[int]) -> list[Row]:
        """Assessment commissions of the region's offices."""
        marks, ids = _marks(scope)
        return self.q(
            f"SELECT * FROM assessments WHERE office_id IN ({marks}) ORDER BY id DESC", ids
        )

    def visits(self, assessment_id: int) -> list[Row]:
        """Field visits of an assessment."""
        return self.q(
            "SELECT * FROM assessment_visits WHERE assessment_id = ? ORDER BY id", (assessment_id,)
        )

    def orders_of_person(self, person_id: int) -> list[Row]:
        """Positioning orders over all of a person's cases."""
        return self.q(
            "SELECT o.* FROM positioning_orders o JOIN cases c ON c.id = o.case_id "
            "WHERE c.person_id = ? ORDER BY o.id",
            (person_id,),
        )

    def orders_to_expire(self, today: str) -> list[Row]:
        """Approved orders whose end date has come."""
        return self.q(
            "SELECT * FROM positioning_orders WHERE status = 'approved' AND ends_on <= ?", (today,)
        )

    def supervising_cases(self) -> list[Row]:
        """Every case in the supervision stage (for the check-in and contact jobs)."""
        return self.q("SELECT * FROM cases WHERE stage = 'supervising'")

    def correction_notices(self, county_id: int | None) -> list[Row]:
        """Correction notices filed for a county."""
        return self.q(
            "SELECT * FROM correction_notices WHERE county_id = ? ORDER BY id DESC", (county_id,)
        )

    def sanction_counts(self, case_id: int) -> dict[str, int]:
        """Uncorrected admonitions and warnings decided for a case."""
        rows = self.q(
            "SELECT kind, count(*) AS n FROM sanctions WHERE case_id = ? AND status = 'decided' "
            "AND corrected = 0 AND kind IN ('admonition', 'warning') GROUP BY kind",
            (case_id,),
        )
        return {r["kind"]: int(r["n"]) for r in rows}

    def pending_residence_changes(self, case_id: int) -> int:
        """Changes of residence of a case awaiting a decision."""
        row = self.one(
            "SELECT count(*) AS n FROM residence_changes "
            "WHERE case_id = ? AND status = 'requested'",
            (case_id,),
        )
        return int(row["n"]) if row else 0

    def move_case_units(self, case_id: int, office_id: int, village_id: int) -> None:
        """After a move: open deadlines go to the new 司法所, open alerts to the new village."""
        self.x(
            "UPDATE deadlines SET unit_id = ? WHERE case_id = ? AND done_at IS NULL",
            (office_id, case_id),
        )
        self.x(
            "UPDATE alerts SET unit_id = ? WHERE case_id = ? AND status != 'resolved'",
            (village_id, case_id),
        )

    def arrest_requests_of(self, sanction_id: int) -> int:
        """Arrest requests filed with a proposal."""
        row = self.one(
            "SELECT count(*) AS n FROM arrest_requests WHERE sanction_id = ?", (sanction_id,)
        )
        return int(row["n"]) if row else 0

    def late_return_days(self, case_id: int) -> int:
        """The longest late return from leave since the last decided 训诫 or 警告 (0 if none)."""
        row = self.one(
            "SELECT coalesce(max(l.late_days), 0) AS days FROM leave_requests l "
            "WHERE l.case_id = ? AND l.status = 'returned' AND l.returned_at > "
            "(SELECT coalesce(max(decided_at), 0) FROM sanctions WHERE case_id = ? "
            "AND status = 'decided' AND kind IN ('admonition', 'warning'))",
            (case_id, case_id),
        )
        return int(row["days"]) if row else 0
