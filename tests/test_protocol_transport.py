"""GATT framing, hub envelope and topic helpers, on CPython and under MicroPython."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import envelope, gatt, topics
from simulators.mpy import MicroPython


@given(st.binary(min_size=1, max_size=111), st.sampled_from([23, 27, 50, 100, 115, 247]))
def test_fragments_reassemble_at_any_mtu(frame: bytes, mtu: int) -> None:
    parts = gatt.fragments(frame, mtu)
    assert all(len(p) <= mtu - 3 for p in parts)
    r = gatt.Reassembler()
    out = [r.feed(p) for p in parts]
    assert out[-1] == frame and all(o is None for o in out[:-1]) and r.malformed == 0


def test_one_notification_per_frame_from_mtu_115() -> None:
    assert len(gatt.fragments(bytes(111), 115)) == 1
    assert len(gatt.fragments(bytes(111), 114)) == 2


def test_lost_fragment_drops_only_that_frame() -> None:
    a, b = bytes(range(100)), bytes(range(100, 200))
    pa, pb = gatt.fragments(a, 23), gatt.fragments(b, 23)
    r = gatt.Reassembler()
    got = [r.feed(p) for p in pa[:2] + pa[3:]] + [r.feed(p) for p in pb]
    assert got[-1] == b
    assert a not in got
    assert r.malformed >= 1


def test_garbage_notifications_are_counted() -> None:
    r = gatt.Reassembler()
    assert r.feed(b"") is None and r.feed(b"\x05") is None and r.feed(b"\x03xyz") is None
    assert r.malformed == 3


def test_identity_round_trip_and_length_check() -> None:
    raw = gatt.pack_identity(7, bytes(range(32)), 0x0102, 3, True)
    assert len(raw) == gatt.IDENTITY_LEN
    assert gatt.unpack_identity(raw) == (7, bytes(range(32)), 0x0102, 3, True)
    with pytest.raises(ValueError, match="identity"):
        gatt.unpack_identity(raw[:-1])


def test_envelope_keeps_frame_bytes_and_hides_rssi_without_permission() -> None:
    frame = bytes(range(92))
    raw = envelope.wrap(12, 1_764_460_800_123, -67, frame, envelope.FLAG_HUB_VERIFIED)
    assert envelope.unwrap(raw) == (12, 1_764_460_800_123, None, 1, frame)
    raw = envelope.wrap(12, 5, -67, frame, envelope.FLAG_PRESENCE_OK)
    assert envelope.unwrap(raw)[2] == -67
    for bad in (raw[:10], b"\x02" + raw[1:], raw[:14] + b"\xf0" + raw[15:]):
        with pytest.raises(envelope.EnvelopeError):
            envelope.unwrap(bad)


def test_topics() -> None:
    assert topics.up(12) == "sqjz/v1/hubs/12/up"
    assert topics.hub_of(topics.status(12)) == 12
    assert topics.hub_of("other/v1/hubs/12/up") is None
    assert topics.band_of_down(topics.down(3, 4711)) == 4711
    assert topics.band_of_down(topics.up(3)) is None


def test_gatt_helpers_run_under_micropython(mpy: MicroPython) -> None:
    got = mpy.eval_json(
        "[len(_p), _r.feed(_p[0]) is None, list(_r.feed(_p[1])) == list(range(30)), _r.malformed]",
        setup=(
            "from protocol import gatt\n"
            "_p = gatt.fragments(bytes(range(30)), 23)\n"
            "_r = gatt.Reassembler()\n"
        ),
    )
    assert got == [2, True, True, 0]
