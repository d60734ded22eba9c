"""Signed anchors of the audit chain (append-only, like the chain)."""

from __future__ import annotations

from cloud.store.base import BaseStore, Row


class AnchorStore(BaseStore):
    """audit_anchors rows and the chain head they sign."""

    def audit_head(self) -> Row | None:
        """The last audit entry's seq and hash, or None for an empty log."""
        return self.one("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")

    def latest_anchor(self) -> Row | None:
        """The newest anchor row."""
        return self.one("SELECT * FROM audit_anchors ORDER BY id DESC LIMIT 1")

    def anchor_rows(self, newest_first: bool = False, limit: int = 1_000_000) -> list[Row]:
        """Anchor rows in issue order (or newest first)."""
        order = "DESC" if newest_first else "ASC"
        return self.q(f"SELECT * FROM audit_anchors ORDER BY id {order} LIMIT ?", (limit,))

    def recent_audit(self, limit: int = 200) -> list[Row]:
        """The newest audit entries."""
        return self.q("SELECT * FROM audit ORDER BY seq DESC LIMIT ?", (limit,))
