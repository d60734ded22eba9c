"""Cloud-side replay rules (protocol/README.md §5) and what a verified frame means for alerts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protocol import replay
from protocol.schema import (
    BATTERY_CRITICAL,
    BATTERY_LOW,
    TAMPER_CASE_OPEN,
    TAMPER_OFF_SKIN,
    TAMPER_STRAP_OPEN,
)

ACCEPT = "accept"  # new, or new-late from history
DUPLICATE = "duplicate"  # the same bytes again: acknowledge and drop
REPLAY = "replay"  # refused
CONFLICT = "conflict"  # same counter, different bytes: refused and a security alarm

U64 = 1 << 64


def to_db(seen: int) -> int:
    """The unsigned 64-bit seen-bitmap as SQLite's signed INTEGER."""
    return seen - U64 if seen >= 1 << 63 else seen


def from_db(value: int) -> int:
    """Back to the unsigned bitmap."""
    return value & (U64 - 1)


def window(state: tuple[int, int], counter: int) -> tuple[str, tuple[int, int], int]:
    """First step: the window verdict (protocol.replay) and the state it would leave."""
    verdict, new_state, gap = replay.check(state, counter)
    return verdict, new_state, gap


def with_history(
    window_verdict: str, counter: int, floor: int, raw: bytes, stored: bytes | None
) -> str:
    """Second step for a duplicate or stale counter, given the stored bytes (None if absent).

    `floor` is the highest counter whose frames retention has deleted (-1 for none): below it
    absence proves nothing, so the frame is refused.
    """
    if stored is not None:
        return DUPLICATE if stored == raw else CONFLICT
    if window_verdict == replay.DUPLICATE:
        # The window says seen but nothing is stored: only possible after deletion; refuse.
        return REPLAY
    return ACCEPT if counter > floor else REPLAY


def alert_for(
    ftype: str, fields: Mapping[str, Any], low_battery_pct: int
) -> tuple[str, dict[str, Any]] | None:
    """The alert a frame raises, if any: (kind, detail)."""
    if ftype == "sos":
        return "sos", {
            "sos_id": fields["sos_id"],
            "reason": fields["reason"],
            "battery_pct": fields["battery_pct"],
            "attempt": fields["attempt"],
            "band_hub_id": fields["hub_id"],
            "band_hub_age_s": fields["hub_age_s"],
        }
    if ftype == "tamper" and fields["event"] in (
        TAMPER_STRAP_OPEN,
        TAMPER_CASE_OPEN,
        TAMPER_OFF_SKIN,
    ):
        return "tamper", {"event": fields["event"], "battery_pct": fields["battery_pct"]}
    if ftype == "battery" and fields["event"] in (BATTERY_LOW, BATTERY_CRITICAL):
        return "low_battery", {"battery_pct": fields["battery_pct"], "event": fields["event"]}
    if ftype == "heartbeat" and fields["battery_pct"] <= low_battery_pct:
        return "low_battery", {"battery_pct": fields["battery_pct"]}
    return None


def battery_of(ftype: str, fields: Mapping[str, Any]) -> int | None:
    """The battery level a frame reports, if it reports one."""
    if ftype in ("sos", "tamper", "heartbeat", "battery"):
        return int(fields["battery_pct"])
    return None
