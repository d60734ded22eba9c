"""Signed anchors of the audit chain, and checking a chain against the anchors someone holds.

An anchor says "on <at>, entry <seq> of the county's audit log had hash <head>", signed with the
cloud's Ed25519 key. The procuratorate keeps the anchors it received in its own system. Anyone
with database access can rewrite the whole chain so that it verifies internally, but not the
anchors already held elsewhere: the rewritten chain no longer reaches their heads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cloud.domain import audit_chain

FORMAT = "sqjz.audit-anchor/v1"
EXPORT_FORMAT = "sqjz.audit-anchors/v1"
FIELDS = ("format", "county", "seq", "head", "at", "prev_anchor", "key_id")


def key_id(public_key: bytes) -> str:
    """A short name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def canonical(body: Mapping[str, Any]) -> bytes:
    """The exact bytes signed: the anchor's fields as sorted compact JSON, UTF-8."""
    return json.dumps(
        {k: body[k] for k in FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def anchor_hash(record: Mapping[str, Any]) -> str:
    """What the next anchor's prev_anchor names: SHA-256 of the signed bytes and signature."""
    return hashlib.sha256(canonical(record) + bytes.fromhex(str(record["signature"]))).hexdigest()


def make(
    county: str,
    seq: int,
    head: str,
    at: int,
    previous: Mapping[str, Any] | None,
    public_key: bytes,
    sign: Callable[[bytes], bytes],
) -> dict[str, Any]:
    """A signed anchor of chain entry `seq` whose hash is `head`."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "county": county,
        "seq": seq,
        "head": head,
        "at": at,
        "prev_anchor": anchor_hash(previous) if previous else None,
        "key_id": key_id(public_key),
    }
    return {**body, "signature": sign(canonical(body)).hex()}


def signature_ok(record: Mapping[str, Any], public_key: bytes) -> bool:
    """True if the anchor is well formed and signed by this key."""
    try:
        if record.get("format") != FORMAT:
            return False
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            bytes.fromhex(str(record["signature"])), canonical(record)
        )
        return True
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False


class Finding(NamedTuple):
    """One problem found: where (an anchor's seq or a chain entry) and what."""

    seq: int | None
    problem: str


class Report(NamedTuple):
    """The outcome of checking a chain against held anchors."""

    ok: bool
    entries: int
    anchors_checked: int
    findings: list[Finding]


def check(
    rows: Iterable[Mapping[str, Any]], anchors: Sequence[Mapping[str, Any]], public_key: bytes
) -> Report:
    """Recompute the chain from its rows (in seq order) and compare it with every held anchor.

    Finds: anchors not signed by the key, a chain that does not link, an entry whose hash is not
    the head an anchor recorded (the chain was rewritten at or before that entry), and anchors
    beyond the chain's end (entries were removed).
    """
    findings: list[Finding] = []
    by_seq: dict[int, list[Mapping[str, Any]]] = {}
    for a in anchors:
        if not signature_ok(a, public_key):
            findings.append(Finding(_int(a.get("seq")), "anchor signature invalid"))
            continue
        by_seq.setdefault(int(a["seq"]), []).append(a)
    prev, expected, n, checked = audit_chain.GENESIS, 1, 0, 0
    broken = False
    for row in rows:
        n += 1
        seq = int(row["seq"])
        if not broken and (
            seq != expected
            or row["prev_hash"] != prev
            or audit_chain.entry_hash(prev, row) != row["hash"]
        ):
            findings.append(Finding(seq, "chain does not link here"))
            broken = True
        for a in by_seq.pop(seq, []):
            checked += 1
            if a["head"] != row["hash"]:
                findings.append(
                    Finding(seq, "entry differs from the anchored head: rewritten at or before")
                )
        prev, expected = str(row["hash"]), seq + 1
    for seq in sorted(by_seq):
        checked += len(by_seq[seq])
        findings.append(Finding(seq, "anchored entry missing: the chain was cut"))
    return Report(not findings, n, checked, findings)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
