"""Issuing, publishing and exporting signed anchors of the audit chain; checking held ones."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from cloud.domain import anchors as rules
from cloud.domain.roles import Actor
from cloud.runtime import Runtime
from cloud.services.common import RefusedError
from cloud.store import Row


def _record(row: Row) -> dict[str, Any]:
    return {**json.loads(row["body"]), "signature": row["signature"]}


def latest(rt: Runtime) -> dict[str, Any] | None:
    """The newest anchor issued, or None."""
    row = rt.store.latest_anchor()
    return _record(row) if row else None


def issue(rt: Runtime, actor: Actor | None = None) -> dict[str, Any]:
    """Sign the chain's head now, keep the anchor, publish it retained for the procuratorate.

    Asked for by a person, the request itself is then audited (and so covered by the next).
    """
    s, now, key = rt.store, rt.now(), rt.anchor_key()
    with s.tx():
        head = s.audit_head()
        if head is None:
            raise RefusedError("the audit log is empty: nothing to anchor")
        record = rules.make(
            rt.settings.county_name,
            int(head["seq"]),
            str(head["hash"]),
            now,
            latest(rt),
            key.public,
            key.sign,
        )
        s.insert(
            "audit_anchors",
            {
                "seq": record["seq"],
                "head": record["head"],
                "at": now,
                "body": rules.canonical(record).decode(),
                "signature": record["signature"],
                "key_id": record["key_id"],
                "requested_by": actor.name if actor else "system",
            },
        )
        if actor is not None:
            s.audit(actor, "audit.anchor", "audit", record["seq"], {"head": record["head"]}, at=now)
    rt.publish(rt.settings.anchor_topic, json.dumps(record, ensure_ascii=False), retain=True)
    return record


def issue_if_due(rt: Runtime, now: int) -> bool:
    """The job: a new anchor when the last is older than the interval and the log has grown."""
    last = rt.store.latest_anchor()
    head = rt.store.audit_head()
    if head is None:
        return False
    if last is not None and (
        now - int(last["at"]) < rt.settings.anchor_interval_s or int(head["seq"]) == last["seq"]
    ):
        return False
    issue(rt)
    return True


def export(rt: Runtime) -> dict[str, Any]:
    """Every anchor with the public key, as the file the procuratorate keeps in its system."""
    key = rt.anchor_key()
    rows = rt.store.anchor_rows()
    return {
        "format": rules.EXPORT_FORMAT,
        "county": rt.settings.county_name,
        "public_key": key.public.hex(),
        "key_id": rules.key_id(key.public),
        "exported_at": rt.now(),
        "anchors": [_record(r) for r in rows],
    }


def _rows(rt: Runtime, page: int = 5000) -> Iterator[Row]:
    after = 0
    while True:
        rows = rt.store.audit_rows(after, page)
        if not rows:
            return
        yield from rows
        after = int(rows[-1]["seq"])


def check_held(rt: Runtime, held: Sequence[dict[str, Any]], public_key: bytes) -> dict[str, Any]:
    """Check this server's chain against anchors the caller holds, with the key it holds."""
    report = rules.check(_rows(rt), held, public_key)
    return {
        "ok": report.ok,
        "entries": report.entries,
        "anchors_checked": report.anchors_checked,
        "findings": [f._asdict() for f in report.findings],
        "key_id": rules.key_id(public_key),
    }
