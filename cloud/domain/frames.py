"""Cloud-side replay rules (protocol/README.md §5) and what a verified frame means for alerts."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
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


# The cloud's own window. The band and the hub keep protocol.replay's 64 counters; behind a
# backlog a hub's priority order delivers a band's frames hundreds of counters out of order,
# and each frame below the window costs a history lookup (docs/scaling.md, item 5).
WIDE = 1024
_NARROW = (1 << replay.WINDOW) - 1
_ALL = (1 << WIDE) - 1
_TAG = struct.Struct(">qq")  # the (epoch, hi) a stored wide bitmap belongs to


def window(state: tuple[int, int], counter: int) -> tuple[str, tuple[int, int], int]:
    """First step: the wide-window verdict (protocol.replay) and the state it would leave."""
    verdict, new_state, gap = replay.check(state, counter, WIDE)
    return verdict, new_state, gap


def narrow(wide: int) -> int:
    """The 64-counter bitmap inside a wide one: what `bands.seen` keeps for the band's window."""
    return wide & _NARROW


def wide_to_db(epoch: int, hi: int, wide: int) -> bytes:
    """The wide bitmap as stored, tagged with the key epoch and highest counter it belongs to."""
    return _TAG.pack(epoch, hi) + wide.to_bytes(WIDE // 8, "big")


def wide_from_db(blob: bytes | None, epoch: int, hi: int, seen: int) -> int | None:
    """The stored wide bitmap, or None when it is missing or stale and must be rebuilt.

    Enrolment writes `hi` and `seen` alone (a new band, a re-key, a same-key re-enrol): a tag
    or a low 64 bits that disagree with them mean the bitmap no longer describes the band.
    """
    if blob is None or len(blob) != _TAG.size + WIDE // 8:
        return None
    wide = int.from_bytes(blob[_TAG.size :], "big")
    if _TAG.unpack_from(blob) != (epoch, hi) or narrow(wide) != seen:
        return None
    return wide


def rebuild(hi: int, seen: int, stored: Iterable[int]) -> int:
    """A wide bitmap from the 64-counter one and the counters stored 64 to 1,023 behind `hi`.

    Exact because every accepted frame is stored in the same transaction, and retention
    deletes only counters at or below the floor, which `below_floor` marks.
    """
    wide = seen
    for counter in stored:
        back = hi - counter
        if replay.WINDOW <= back < WIDE:
            wide |= 1 << back
    return wide


def below_floor(hi: int, wide: int, floor: int) -> int:
    """Mark counters at or below the retention floor as seen, beyond the 64-counter window.

    There absence from history proves nothing, so such a frame must go to `with_history` and
    be refused, exactly as it was below the 64-counter window; inside it the band's own
    window rules, as before.
    """
    start = max(replay.WINDOW, hi - floor)
    if floor < 0 or start >= WIDE:
        return wide
    return wide | (_ALL ^ ((1 << start) - 1))


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
