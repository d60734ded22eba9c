"""Outbox policy (pure): publishing priority and what happens when the outbox is full."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from protocol.schema import TYPE_IDS

# Lower publishes first. SOS before everything; alarms about forged frames next, since a
# forged SOS or tamper is itself an emergency for the office.
PRIORITY_SOS = 0
PRIORITY_ALARM = 1
PRIORITY_TAMPER = 2
PRIORITY_EVIDENCE = 3  # enrol, session, cmd_result: one-off records that matter in a case
PRIORITY_ROUTINE = 4  # activity, battery
PRIORITY_HEARTBEAT = 5  # superseded by the next heartbeat; the only kind ever evicted
PRIORITY_EVENT = 6  # malformed / unknown-band / replay reports

_BY_TYPE = {
    TYPE_IDS["sos"]: PRIORITY_SOS,
    TYPE_IDS["tamper"]: PRIORITY_TAMPER,
    TYPE_IDS["enrol"]: PRIORITY_EVIDENCE,
    TYPE_IDS["session"]: PRIORITY_EVIDENCE,
    TYPE_IDS["cmd_result"]: PRIORITY_EVIDENCE,
    TYPE_IDS["activity"]: PRIORITY_ROUTINE,
    TYPE_IDS["battery"]: PRIORITY_ROUTINE,
    TYPE_IDS["heartbeat"]: PRIORITY_HEARTBEAT,
}


def frame_priority(frame_type: int) -> int:
    """Publishing priority of a frame by its type byte."""
    return _BY_TYPE.get(frame_type, PRIORITY_ROUTINE)


@dataclass(frozen=True)
class Limits:
    """Bounds of the outbox (see docs/hub.md, "Outbox policy")."""

    max_frames: int = 500_000  # about 60 MB of rows; weeks of a village's frames
    max_bytes: int = 200 * 1024 * 1024
    min_free_bytes: int = 50 * 1024 * 1024  # leave the SD card room for logs and the OS
    max_events: int = 10_000  # reports about refused frames, oldest evicted first


class Usage(NamedTuple):
    """What the outbox holds now and what the disk has left."""

    frames: int
    bytes: int
    heartbeats: int
    free_bytes: int


ACCEPT = "accept"
EVICT_HEARTBEAT = "evict_heartbeat"  # drop the oldest queued heartbeat, then accept
REFUSE = "refuse"  # do not store and do not acknowledge: the band keeps the frame


def admit(priority: int, size: int, usage: Usage, limits: Limits) -> str:
    """Decide whether a new frame of this priority may enter the outbox."""
    full = (
        usage.frames + 1 > limits.max_frames
        or usage.bytes + size > limits.max_bytes
        or usage.free_bytes - size < limits.min_free_bytes
    )
    if not full or priority == PRIORITY_SOS:
        # An SOS is always stored: it is small, rare, and losing one can cost a life.
        return ACCEPT
    if priority <= PRIORITY_HEARTBEAT and usage.heartbeats > 0:
        # A newer heartbeat supersedes an older one; any other frame outranks it.
        return EVICT_HEARTBEAT
    return REFUSE
