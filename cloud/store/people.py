"""Units (county, 司法所, villages, procuratorate), users, sessions and supervised persons."""

from __future__ import annotations

from typing import Any

from cloud.store.base import BaseStore, NotFoundError, Row


class PeopleStore(BaseStore):
    """Organisation tree, accounts and sessions."""

    def units(self) -> list[Row]:
        """Every unit, ordered by id."""
        return self.q("SELECT * FROM units ORDER BY id")

    def subtree(self, unit_id: int) -> frozenset[int]:
        """The unit and every unit below it."""
        rows = self.q(
            "WITH RECURSIVE t(id) AS (SELECT ? UNION SELECT u.id FROM units u JOIN t "
            "ON u.parent_id = t.id) SELECT id FROM t",
            (unit_id,),
        )
        return frozenset(int(r["id"]) for r in rows)

    def county_of(self, unit_id: int) -> int | None:
        """The county unit above (or equal to) a unit."""
        row = self.one(
            "WITH RECURSIVE up(id, kind, parent_id) AS (SELECT id, kind, parent_id FROM units "
            "WHERE id = ? UNION SELECT u.id, u.kind, u.parent_id FROM units u JOIN up "
            "ON u.id = up.parent_id) SELECT id FROM up WHERE kind = 'county'",
            (unit_id,),
        )
        return int(row["id"]) if row else None

    def scope_for(self, role: str, unit_id: int | None) -> frozenset[int]:
        """Units a user sees: their subtree; a procuratorate sees its county's."""
        if unit_id is None:
            return frozenset()
        if role == "procuratorate":
            county = self.county_of(unit_id)
            return self.subtree(county) if county else frozenset()
        return self.subtree(unit_id)

    def user_by_name(self, username: str) -> Row | None:
        """A user by login name (ID number for supervised persons)."""
        return self.one("SELECT * FROM users WHERE username = ?", (username,))

    def users(self) -> list[Row]:
        """Every account without password hashes."""
        rows = self.q("SELECT * FROM users ORDER BY id")
        for r in rows:
            r.pop("password_hash", None)
        return rows

    def count_users(self, role: str | None = None) -> int:
        """Number of accounts (of one role)."""
        if role is None:
            row = self.one("SELECT count(*) AS n FROM users")
        else:
            row = self.one("SELECT count(*) AS n FROM users WHERE role = ?", (role,))
        return int(row["n"]) if row else 0

    def count_enabled_admins(self) -> int:
        """Administrators whose accounts are not disabled."""
        row = self.one("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled = 0")
        return int(row["n"]) if row else 0

    def end_sessions(self, user_id: int) -> int:
        """Delete every session of an account; return how many."""
        return self.x("DELETE FROM sessions WHERE user_id = ?", (user_id,)).rowcount

    def record_login_failure(self, user_id: int, failures: int, locked_until: int) -> None:
        """Count a failed login (and lock the account when the limit is reached)."""
        self.x(
            "UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?",
            (failures, locked_until, user_id),
        )

    def session_get(self, token_hash: str) -> Row | None:
        """A session joined with its user."""
        return self.one(
            "SELECT s.*, u.username, u.display_name, u.role, u.unit_id, u.person_id, u.disabled, "
            "u.must_change_password FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.token_hash = ?",
            (token_hash,),
        )

    def session_touch(self, token_hash: str, now: int) -> None:
        """Record activity on a session (idle timeout counts from here)."""
        with self.tx():
            self.x("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", (now, token_hash))

    def session_delete(self, token_hash: str) -> None:
        """End a session."""
        self.x("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def person_cases(self, person_id: int) -> list[Row]:
        """A supervised person's cases, newest first."""
        return self.q("SELECT * FROM cases WHERE person_id = ? ORDER BY id DESC", (person_id,))

    def unit(self, unit_id: int) -> Row:
        """One unit."""
        return self.get("units", unit_id)

    def unit_of_kind(self, unit_id: int, kind: str) -> Row:
        """One unit, checked to be of the expected kind."""
        row = self.get("units", unit_id)
        if row["kind"] != kind:
            raise NotFoundError(f"unit {unit_id} is a {row['kind']}, not a {kind}")
        return row

    def find_units(self, kind: str, under: int) -> list[Row]:
        """Units of a kind below a unit (e.g. the police station of a county)."""
        ids = self.subtree(under)
        return [u for u in self.units() if u["kind"] == kind and u["id"] in ids]

    def set_password(self, user_id: int, password_hash: str) -> None:
        """Replace a password hash and clear the lockout."""
        self.x(
            "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = 0 WHERE id = ?",
            (password_hash, user_id),
        )

    def expire_sessions(self, now: int) -> int:
        """Delete sessions past their expiry; return how many."""
        return self.x("DELETE FROM sessions WHERE expires_at < ?", (now,)).rowcount

    def person_by_id_number(self, id_number: str) -> Row | None:
        """A supervised person by resident ID number."""
        return self.one("SELECT * FROM persons WHERE id_number = ?", (id_number,))

    def person(self, person_id: int) -> dict[str, Any]:
        """One supervised person."""
        return self.get("persons", person_id)
