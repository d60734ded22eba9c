"""Receipts: the codec (protocol/receipts.py) and the cloud's per-hub builder (cloud/ingest.py)."""

from __future__ import annotations

import json

import pytest

from cloud.ingest import event_seq, receipts_for
from protocol import envelope, receipts, topics
from simulators.ble.loadband import LoadBand


def test_codec_round_trip_and_size() -> None:
    frames = [(1, 2, b"abcd"), (2**32 - 1, 0, b"\x00\xff\x00\xff")]
    payload = receipts.encode(frames, [7, 2**32 - 1])
    assert len(payload) == 3 + 12 * 2 + 2 + 4 * 2
    assert receipts.decode(payload) == (frames, [7, 2**32 - 1])
    assert receipts.decode(receipts.encode([], [])) == ([], [])


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x02\x00\x00\x00\x00", b"\x01\x00\x01\x00\x00", b"\x01\x00\x00\x00\x01\x00\x00"],
    ids=["empty", "version", "short frames", "short events"],
)
def test_codec_refuses_what_does_not_decode(bad: bytes) -> None:
    with pytest.raises(receipts.ReceiptError):
        receipts.decode(bad)


def test_frame_key_names_band_counter_and_bytes() -> None:
    band = LoadBand(66051)
    raw = band.make("activity")
    key = receipts.frame_key(raw)
    assert key == (66051, band.counter - 1, receipts.tag(raw))
    assert receipts.frame_key(raw[:10]) is None
    assert receipts.tag(raw) != receipts.tag(raw[:-1] + bytes([raw[-1] ^ 1]))


def test_builder_one_receipt_per_hub_every_frame_once_whatever_its_fate() -> None:
    band = LoadBand(9)
    a, b, c = (band.make("activity") for _ in range(3))
    forged = a[:-1] + bytes([a[-1] ^ 1])  # the cloud refuses it, but it has decided about it
    ups = [
        (topics.up(12), envelope.wrap(12, 1, 0, a)),
        (topics.up(12), envelope.wrap(12, 1, 0, a)),  # a duplicate in the same batch
        (topics.up(13), envelope.wrap(13, 1, 0, b)),
        (topics.up(12), envelope.wrap(12, 1, 0, c)),
        (topics.up(12), envelope.wrap(12, 1, 0, forged)),
        (topics.up(12), b"\x09broken envelope"),  # names no frame: nothing to receipt
    ]
    out = dict(receipts_for(ups, [(14, 3), (12, 5), (12, 5)]))
    assert set(out) == {topics.receipts(12), topics.receipts(13), topics.receipts(14)}
    keys = [receipts.frame_key(x) for x in (a, c, forged)]
    assert receipts.decode(out[topics.receipts(12)]) == (keys, [5])
    assert receipts.decode(out[topics.receipts(13)]) == ([receipts.frame_key(b)], [])
    assert receipts.decode(out[topics.receipts(14)]) == ([], [3])
    assert receipts_for([], []) == []


def test_event_seq_is_read_only_from_a_well_formed_event() -> None:
    assert event_seq(json.dumps({"kind": "malformed", "seq": 41}).encode()) == 41
    for bad in (b"not json", b"[1]", b'{"seq": "41"}', b'{"seq": -1}', b'{"kind": "x"}'):
        assert event_seq(bad) is None
