"""Downlink messages: authenticated per band, refused when tampered, forged or replayed."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from protocol import downlink, errors, replay
from protocol.hmac256 import hkdf_sha256, hmac_sha256
from simulators.mpy import MicroPython

KEY = bytes(range(32))
BAND = 4711


def test_hmac_and_hkdf_match_cryptography() -> None:
    for n in (0, 1, 63, 64, 65, 200):
        mac = HMAC(bytes(range(n)), hashes.SHA256())
        mac.update(b"message")
        assert hmac_sha256(bytes(range(n)), b"message") == mac.finalize()
    expect = HKDF(hashes.SHA256(), 32, b"salt", b"info").derive(b"secret")
    assert hkdf_sha256(b"secret", b"salt", b"info") == expect


def test_round_trip_every_type() -> None:
    samples = {
        "sos_ack": {"sos_id": 9, "status": downlink.SOS_DISPATCHED},
        "time_sync": {"tz_offset_min": 480},
        "mode": {"mode": 1, "session_id": 77, "max_s": 14_400},
        "config": {
            "activity_s": 300,
            "heartbeat_s": 900,
            "config": 1,
            "presence_until": 2_000_000_000,
        },
        "notify": {"pattern": 2, "reason": 1},
        "profile": {"sex": 2, "age": 34, "weight_kg": 58, "rest_hr": 64},
    }
    assert set(samples) == {spec[0] for spec in downlink.DOWNLINKS.values()}
    for counter, (name, fields) in enumerate(samples.items(), start=1):
        raw = downlink.encode(KEY, name, BAND, counter, 1_700_000_000, fields)
        msg = downlink.authenticate(raw, KEY, BAND)
        assert msg.type_name == name and msg.fields == fields and msg.counter == counter


def test_tampered_forged_misaddressed_and_replayed_are_refused() -> None:
    raw = downlink.encode(KEY, "sos_ack", BAND, 5, 1_700_000_000, {"sos_id": 1, "status": 1})
    tampered = bytearray(raw)
    tampered[17] ^= 0x01
    forged = downlink.encode(
        bytes(32), "sos_ack", BAND, 6, 1_700_000_000, {"sos_id": 1, "status": 1}
    )
    other_band = downlink.encode(
        KEY, "sos_ack", BAND + 1, 7, 1_700_000_000, {"sos_id": 1, "status": 1}
    )
    for bad in (bytes(tampered), forged, other_band, raw[:-1], raw + b"\x00"):
        with pytest.raises(errors.FrameError):
            downlink.accept(bad, KEY, BAND, replay.EMPTY)
    msg, state = downlink.accept(raw, KEY, BAND, replay.EMPTY)
    assert msg.counter == 5
    with pytest.raises(errors.FrameError) as info:
        downlink.accept(raw, KEY, BAND, state)
    assert info.value.code == errors.REPLAY


MP_DOWNLINK = """
from protocol import downlink, replay, errors
_key = bytes(range(32))
def _try(hexmsg, state):
    try:
        msg, state = downlink.accept(bytes.fromhex(hexmsg), _key, 4711, state)
        return ['ok', msg.to_dict(), list(state)]
    except errors.FrameError as e:
        return ['refused', e.code, list(state)]
"""


def test_micropython_band_refuses_tampered_forged_and_replayed(mpy: MicroPython) -> None:
    good = downlink.encode(
        KEY, "config", BAND, 3, 1_700_000_000, {"activity_s": 300, "heartbeat_s": 900, "config": 0}
    )
    forged = downlink.encode(bytes(32), "config", BAND, 4, 1_700_000_000, {"config": 1})
    tampered = bytearray(good)
    tampered[-1] ^= 0x80
    mpy.exec(MP_DOWNLINK)
    ok = mpy.eval_json(f"_try({good.hex()!r}, replay.EMPTY)")
    assert ok[0] == "ok" and ok[1]["activity_s"] == 300 and ok[2] == [3, 1]
    assert mpy.eval_json(f"_try({good.hex()!r}, (3, 1))")[:2] == ["refused", "replay"]
    assert mpy.eval_json(f"_try({forged.hex()!r}, (3, 1))")[:2] == ["refused", "bad_signature"]
    assert mpy.eval_json(f"_try({bytes(tampered).hex()!r}, (3, 1))")[:2] == [
        "refused",
        "bad_signature",
    ]
    assert mpy.eval_json(f"_try({good[:20].hex()!r}, (3, 1))")[:2] == ["refused", "truncated"]
