"""Hash chain of the audit log: each entry commits to the one before it (SHA-256)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

GENESIS = "0" * 64
FIELDS = ("seq", "at", "actor", "role", "action", "object_kind", "object_id", "detail")


def canonical(entry: Mapping[str, Any]) -> bytes:
    """The exact bytes hashed for an entry: its fields as sorted compact JSON."""
    body = {k: entry[k] for k in FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash and the entry's canonical bytes, hex."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical(entry)).hexdigest()


def verify(
    entries: Iterable[Mapping[str, Any]], start_prev: str = GENESIS
) -> tuple[bool, int | None, int]:
    """(ok, first bad seq or None, entries checked): recompute every link in order."""
    prev = start_prev
    expected_seq: int | None = None
    n = 0
    for entry in entries:
        n += 1
        if expected_seq is not None and entry["seq"] != expected_seq:
            return False, int(entry["seq"]), n  # a row was removed
        if entry["prev_hash"] != prev or entry_hash(prev, entry) != entry["hash"]:
            return False, int(entry["seq"]), n
        prev = str(entry["hash"])
        expected_seq = int(entry["seq"]) + 1
    return True, None, n
