"""clock_skew: the band's clock against the time its frame was first heard, never ingest time."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol import frame
from protocol.verify import SKEW_REPORT_S, clock_skew

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
BAND = 0xC0FFEE
T = 1_764_460_800  # when the hub heard the frame


def heartbeat(band_time: int, flags: int = 0) -> frame.Frame:
    return frame.parse(frame.encode("heartbeat", BAND, 7, band_time, {}, KEY.sign, flags))


def test_a_truly_off_clock_is_measured_against_the_hub() -> None:
    assert clock_skew(heartbeat(T - 900), T) == -900
    assert clock_skew(heartbeat(T + 600), T) == 600


def test_a_frame_held_at_the_hub_is_judged_by_when_the_hub_heard_it() -> None:
    # Heard 2 s after the band stamped it, ingested an hour later: the hour is not the band's.
    skew = clock_skew(heartbeat(T - 2), T)
    assert skew == -2 and abs(skew) <= SKEW_REPORT_S
    assert clock_skew(heartbeat(T - 2), T + 3600) == -3602  # what ingest time would have said


def test_queued_and_unsynced_frames_are_not_judged() -> None:
    assert clock_skew(heartbeat(T - 7200, frame.FLAG_QUEUED), T) is None
    assert clock_skew(heartbeat(55, frame.FLAG_TIME_UNSYNCED), T) is None
    both = frame.FLAG_QUEUED | frame.FLAG_TIME_UNSYNCED
    assert clock_skew(heartbeat(55, both), T) is None


def test_milliseconds_are_not_rounded_up_into_a_report() -> None:
    assert clock_skew(heartbeat(T), T + 0.999) == 0
