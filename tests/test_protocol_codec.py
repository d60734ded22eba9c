"""Frame codec properties: round trips, strictness, bit flips, replay window, counters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import counter, errors, frame, replay
from protocol.schema import INT_RANGES, PAYLOADS
from protocol.verify import BACKENDS, Keyring, WindowReceiver, verify_frame

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
BAND = 0xC0FFEE
KEYRING = Keyring({BAND: PUBLIC})


@st.composite
def payload_fields(draw: st.DrawFn, type_id: int) -> dict[str, Any]:
    _name, _size, _fmt, names, enums, byte_fields, codes = PAYLOADS[type_id]
    out: dict[str, Any] = {}
    for field, code in zip(names, codes, strict=True):
        if code == "s":
            n = byte_fields[field]
            out[field] = draw(st.binary(min_size=n, max_size=n))
        elif field in enums:
            out[field] = draw(st.sampled_from(enums[field]))
        else:
            lo, hi = INT_RANGES[code]
            out[field] = draw(st.integers(lo, hi))
    return out


@st.composite
def frames(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    type_id = draw(st.sampled_from(sorted(PAYLOADS)))
    fields = draw(payload_fields(type_id))
    header = {
        "band_id": BAND,
        "counter": draw(st.integers(0, 2**32 - 1)),
        "band_time": draw(st.integers(0, 2**32 - 1)),
        "flags": draw(st.integers(0, frame.FLAGS_KNOWN)),
    }
    raw = frame.encode(
        type_id,
        header["band_id"],
        header["counter"],
        header["band_time"],
        fields,
        KEY.sign,
        header["flags"],
    )
    return raw, {"type": PAYLOADS[type_id][0], **header, **fields}


@settings(max_examples=300, deadline=None)
@given(frames())
def test_round_trip_keeps_every_field(case: tuple[bytes, dict[str, Any]]) -> None:
    raw, expected = case
    parsed = verify_frame(raw, KEYRING)
    assert parsed.raw == raw
    got = parsed.to_dict()
    for key, value in expected.items():
        assert got[key] == (value.hex() if isinstance(value, bytes) else value), key
    assert len(raw) == frame.HEADER_LEN + PAYLOADS[parsed.type][1] + frame.SIG_LEN


@settings(max_examples=300, deadline=None)
@given(frames(), st.data())
def test_any_single_bit_flip_is_refused(
    case: tuple[bytes, dict[str, Any]], data: st.DataObject
) -> None:
    raw, _ = case
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    flipped = bytearray(raw)
    flipped[bit // 8] ^= 1 << (bit % 8)
    codes = []
    for backend in BACKENDS:
        with pytest.raises(errors.FrameError) as info:
            verify_frame(bytes(flipped), KEYRING, backend=backend)
        codes.append(info.value.code)
    assert codes[0] in errors.CODES
    assert len(set(codes)) == 1  # libsodium and OpenSSL refuse alike


def test_backends_agree_on_every_vector() -> None:
    vectors = json.loads((Path(frame.__file__).with_name("vectors.json")).read_text())["vectors"]
    for v in vectors:
        raw = bytes.fromhex(v["frame_hex"])
        if len(raw) < frame.HEADER_LEN + frame.SIG_LEN:
            continue
        public = bytes.fromhex(v["public_key_hex"])
        results = {name: check(public, raw[-64:], raw[:-64]) for name, check in BACKENDS.items()}
        assert len(set(results.values())) == 1, (v["name"], results)


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_ever_raise_frame_error(data: bytes) -> None:
    try:
        frame.parse(data)
    except errors.FrameError as exc:
        assert exc.code in errors.CODES


@settings(max_examples=500, deadline=None)
@given(frames(), st.integers(0, 91), st.binary(min_size=1, max_size=8))
def test_mutated_frames_never_escape(
    case: tuple[bytes, dict[str, Any]], at: int, junk: bytes
) -> None:
    raw, _ = case
    for variant in (raw[:at], raw[:at] + junk + raw[at:], raw + junk, junk + raw):
        try:
            verify_frame(variant, KEYRING)
        except errors.FrameError as exc:
            assert exc.code in errors.CODES


def test_encode_refuses_values_that_would_wrap() -> None:
    with pytest.raises(ValueError, match=r"activity.steps"):
        frame.encode_body("activity", BAND, 1, 0, {"steps": 70_000})
    with pytest.raises(ValueError, match=r"sos\.reason"):
        frame.encode_body("sos", BAND, 1, 0, {"reason": 99})
    with pytest.raises(ValueError, match="no field"):
        frame.encode_body("sos", BAND, 1, 0, {"reason": 1, "latitude": 30})
    with pytest.raises(ValueError, match=r"enrol\.nonce"):
        frame.encode_body("enrol", BAND, 1, 0, {"nonce": b"short"})
    with pytest.raises(ValueError, match="header"):
        frame.encode_body("sos", BAND, 2**32, 0, {"reason": 1})


def test_unknown_band_and_error_text() -> None:
    raw = frame.encode("sos", 999, 1, 0, {"reason": 1}, KEY.sign)
    with pytest.raises(errors.FrameError) as info:
        verify_frame(raw, KEYRING)
    assert info.value.code == errors.UNKNOWN_BAND
    assert "999" in str(info.value)


def test_every_signed_part_fits_one_sha512_block() -> None:
    # Ed25519 hashes R || A || M: 64 + len(M) must stay <= 111 bytes (one 128-byte block).
    assert max(spec[1] for spec in PAYLOADS.values()) <= frame.MAX_PAYLOAD
    assert 64 + frame.HEADER_LEN + frame.MAX_PAYLOAD <= 111


class TestReplayWindow:
    def test_first_frame_sets_the_window(self) -> None:
        verdict, state, gap = replay.check(replay.EMPTY, 1000)
        assert (verdict, state, gap) == (replay.NEW, (1000, 1), 0)

    def test_jump_forward_reports_the_gap_and_late_frames_fill_it(self) -> None:
        state = replay.check(replay.EMPTY, 10)[1]
        verdict, state, gap = replay.check(state, 15)
        assert verdict == replay.NEW and gap == 4
        for late in (12, 11, 14, 13):
            verdict, state, gap = replay.check(state, late)
            assert verdict == replay.NEW and gap == 0
        assert state == (15, 0b111111)
        assert replay.check(state, 12)[0] == replay.DUPLICATE

    def test_edges_of_the_window(self) -> None:
        state = replay.check(replay.EMPTY, 100)[1]
        assert replay.check(state, 100 - 63)[0] == replay.NEW
        assert replay.check(state, 100 - 64)[0] == replay.STALE
        far = replay.check(state, 100 + 64)
        assert far[0] == replay.NEW and far[1] == (164, 1) and far[2] == 63

    def test_state_is_never_mutated(self) -> None:
        state = (50, 0b101)
        replay.check(state, 49)
        assert state == (50, 0b101)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.integers(0, 300), max_size=200))
    def test_matches_a_reference_model(self, counters: list[int]) -> None:
        state = replay.EMPTY
        accepted: set[int] = set()
        for c in counters:
            highest = max(accepted, default=-1)
            in_window = c > highest or highest - c < replay.WINDOW
            if not in_window:
                expected = replay.STALE
            elif c in accepted:
                expected = replay.DUPLICATE
            else:
                expected = replay.NEW
                accepted.add(c)
            verdict, state, _ = replay.check(state, c)
            assert verdict == expected, (c, sorted(accepted))


def test_window_receiver_duplicate_and_stale() -> None:
    rx = WindowReceiver(KEYRING)
    frames_ = [frame.encode("heartbeat", BAND, c, 1000, {}, KEY.sign) for c in range(0, 100)]
    for raw in frames_[:70]:
        assert rx.receive(raw, now=1000).verdict == replay.NEW
    assert rx.receive(frames_[69], now=1000).verdict == replay.DUPLICATE
    with pytest.raises(errors.FrameError) as info:
        rx.receive(frames_[3], now=1000)
    assert info.value.code == errors.REPLAY
    # The refusal lost nothing: later frames are still accepted.
    assert rx.receive(frames_[70], now=1000).verdict == replay.NEW


def test_clock_skew_is_reported_and_unsynced_clock_is_not_judged() -> None:
    rx = WindowReceiver(KEYRING)
    skewed = frame.encode("heartbeat", BAND, 1, 10_000, {}, KEY.sign)
    receipt = rx.receive(skewed, now=10_000 + 600)
    assert receipt.skew_s == -600 and receipt.skew_reported
    unsynced = frame.encode("heartbeat", BAND, 2, 55, {}, KEY.sign, frame.FLAG_TIME_UNSYNCED)
    receipt = rx.receive(unsynced, now=10_000)
    assert receipt.skew_s is None and not receipt.skew_reported


class TestBandCounter:
    def test_ceiling_is_written_before_a_counter_is_used(self) -> None:
        flash = {"ceiling": 0}
        writes: list[int] = []

        def save(n: int) -> None:
            writes.append(n)
            flash["ceiling"] = n

        c = counter.Counter(lambda: flash["ceiling"], save)
        first = [c.next() for _ in range(counter.RESERVE + 1)]
        assert first == list(range(counter.RESERVE + 1))
        assert writes == [counter.RESERVE, 2 * counter.RESERVE]

    def test_reset_never_reuses_a_counter(self) -> None:
        flash = {"ceiling": 0}
        c = counter.Counter(lambda: flash["ceiling"], lambda n: flash.update(ceiling=n))
        used = [c.next() for _ in range(10)]
        after_reset = counter.Counter(lambda: flash["ceiling"], lambda n: flash.update(ceiling=n))
        nxt = after_reset.next()
        assert nxt > max(used)
        assert nxt - max(used) - 1 <= counter.RESERVE  # the gap the receiver will report

    def test_exhaustion_is_an_error_not_a_wrap(self) -> None:
        c = counter.Counter(lambda: 0xFFFFFFFF - 10, lambda n: None)
        with pytest.raises(OverflowError):
            c.next()
