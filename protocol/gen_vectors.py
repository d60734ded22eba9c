"""Generate protocol/vectors.json, the contract every frame implementation is checked against.

Run: python -m protocol.gen_vectors [--check]. Output is deterministic (Ed25519 is).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import struct
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from protocol import errors, frame, replay
from protocol.verify import Keyring, WindowReceiver

OUT = Path(__file__).with_name("vectors.json")
T0 = 1_764_460_800  # 2025-11-30 00:00:00 UTC


def seed_for(name: str) -> bytes:
    """A fixed per-band seed, so the file is reproducible."""
    return hashlib.sha256(b"sqjz test vector band " + name.encode()).digest()


class Band:
    """A test band: seed, id, and a signer from `cryptography`."""

    def __init__(self, name: str, band_id: int) -> None:
        self.seed = seed_for(name)
        self.band_id = band_id
        self.key = Ed25519PrivateKey.from_private_bytes(self.seed)
        self.public = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def frame(self, ftype: str, counter: int, fields: dict[str, Any], flags: int = 0) -> bytes:
        return frame.encode(
            ftype, self.band_id, counter, T0 + counter * 60, fields, self.key.sign, flags
        )

    def signed(self, body: bytes) -> bytes:
        """Sign arbitrary header+payload bytes (to make structurally bad frames validly signed)."""
        return body + self.key.sign(body)


VALID: list[tuple[str, str, dict[str, Any], int]] = [
    (
        "enrol",
        "enrol",
        {
            "nonce": bytes(range(16)),
            "confirm": bytes.fromhex("0102030405060708"),
            "fw_version": 0x0100,
            "hw_rev": 2,
            "capabilities": 3,
        },
        frame.FLAG_TIME_UNSYNCED,
    ),
    (
        "activity",
        "activity",
        {
            "window_s": 300,
            "steps": 412,
            "kcal_x10": 187,
            "hr_mean": 96,
            "hr_min": 78,
            "hr_max": 121,
            "hr_valid_s": 280,
            "worn_s": 300,
            "rest_s": 40,
            "walk_s": 200,
            "labour_s": 60,
            "session_id": 0,
        },
        0,
    ),
    (
        "activity-session-queued",
        "activity",
        {
            "window_s": 300,
            "steps": 97,
            "kcal_x10": 402,
            "hr_mean": 118,
            "hr_min": 101,
            "hr_max": 139,
            "hr_valid_s": 300,
            "worn_s": 300,
            "labour_s": 270,
            "walk_s": 30,
            "session_id": 4711,
        },
        frame.FLAG_SESSION | frame.FLAG_QUEUED,
    ),
    (
        "sos-button",
        "sos",
        {
            "sos_id": 12,
            "reason": 1,
            "battery_pct": 64,
            "attempt": 1,
            "hub_id": 0x01020304,
            "hub_rssi": -71,
            "hub_age_s": 9,
        },
        0,
    ),
    ("sos-no-location", "sos", {"sos_id": 13, "reason": 2, "battery_pct": 63, "attempt": 3}, 0),
    (
        "tamper-strap-open",
        "tamper",
        {"event": 1, "strap_closed": 0, "on_skin": 1, "battery_pct": 50},
        0,
    ),
    (
        "tamper-on-skin",
        "tamper",
        {"event": 4, "strap_closed": 1, "on_skin": 1, "battery_pct": 50, "duration_s": 95},
        0,
    ),
    (
        "heartbeat",
        "heartbeat",
        {
            "uptime_s": 86_400,
            "battery_pct": 71,
            "battery_mv": 3890,
            "mode": 0,
            "config": 1,
            "queue_depth": 0,
            "dropped_total": 2,
            "last_downlink": 17,
            "fw_version": 0x0100,
        },
        0,
    ),
    (
        "battery-low",
        "battery",
        {"event": 1, "battery_pct": 19, "battery_mv": 3610, "temp_c": -3, "est_hours": 20},
        0,
    ),
    (
        "session-end",
        "session",
        {
            "session_id": 4711,
            "event": 2,
            "elapsed_s": 7_200,
            "steps": 3_120,
            "kcal_x10": 4_870,
            "hr_mean": 112,
            "hr_max": 151,
            "labour_s": 6_300,
            "worn_s": 7_200,
        },
        frame.FLAG_SESSION,
    ),
    ("cmd-result", "cmd_result", {"downlink_counter": 17, "downlink_type": 0x84, "result": 0}, 0),
]


def _entry(name: str, band: Band, raw: bytes, receiver: dict[str, Any]) -> dict[str, Any]:
    """One vector: identity, bytes, receiver state, and what the receiver concluded."""
    out: dict[str, Any] = {
        "name": name,
        "band_id": band.band_id,
        "seed_hex": band.seed.hex(),
        "public_key_hex": band.public.hex(),
        "frame_hex": raw.hex(),
    }
    if receiver:
        out["receiver"] = receiver
    out.update(evaluate(raw, (band.band_id, band.public), receiver))
    return out


def _invalid(band: Band, other: Band) -> list[tuple[str, bytes, dict[str, Any]]]:
    good = band.frame("sos", 500, {"sos_id": 1, "reason": 1, "battery_pct": 90})
    body = good[: -frame.SIG_LEN]

    def header(va: int = 0x11, ftype: int = 3, flags: int = 0, plen: int = 12) -> bytes:
        return struct.pack(">BBBIIIB", va, ftype, flags, band.band_id, 500, T0, plen)

    def flip(raw: bytes, index: int) -> bytes:
        b = bytearray(raw)
        b[index] ^= 0x01
        return bytes(b)

    payload = body[frame.HEADER_LEN :]
    return [
        ("truncated-header", good[:10], {}),
        ("truncated-empty", b"", {}),
        ("truncated-signature", good[:-1], {}),
        ("bad-length-trailing-byte", good + b"\x00", {}),
        ("bad-length-payload-length", band.signed(header(plen=13) + payload + b"\x00"), {}),
        ("bad-version-2", band.signed(header(va=0x21) + payload), {}),
        ("bad-version-0", band.signed(header(va=0x01) + payload), {}),
        ("bad-alg-p256-not-accepted", band.signed(header(va=0x12) + payload), {}),
        ("bad-alg-0", band.signed(header(va=0x10) + payload), {}),
        ("unknown-type", band.signed(header(ftype=0x7F) + payload), {}),
        ("unknown-type-downlink-range", band.signed(header(ftype=0x81) + payload), {}),
        ("bad-flags-reserved", band.signed(header(flags=0x80) + payload), {}),
        ("bad-field-sos-reason", band.signed(header() + payload[:2] + b"\x09" + payload[3:]), {}),
        (
            "bad-field-tamper-bool",
            band.signed(
                struct.pack(">BBBIIIB", 0x11, 4, 0, band.band_id, 501, T0, 6)
                + bytes([1, 2, 1, 50, 0, 0])
            ),
            {},
        ),
        ("unknown-band", good, {"known_band": False}),
        ("bad-signature-flipped-sig", flip(good, len(good) - 1), {}),
        ("bad-signature-flipped-payload", flip(good, frame.HEADER_LEN + 3), {}),
        ("bad-signature-flipped-counter", flip(good, 10), {}),
        ("bad-signature-other-key", body + other.key.sign(body), {}),
        ("replay-below-window", good, {"accepted_counters": list(range(500, 700))}),
    ]


def evaluate(
    raw: bytes, band_id_key: tuple[int, bytes], receiver: dict[str, Any]
) -> dict[str, Any]:
    """Run the CPython receiver on one vector; return valid/error/fields/duplicate."""
    keyring = Keyring()
    if receiver.get("known_band", True):
        keyring.add(*band_id_key)
    window = WindowReceiver(keyring)
    fields = None
    with contextlib.suppress(errors.FrameError):
        fields = frame.parse(raw).to_dict()
    for counter in receiver.get("accepted_counters", []):
        state = replay.check(window.state(band_id_key[0]), counter)[1]
        window.restore(band_id_key[0], state)
    try:
        receipt = window.receive(raw, now=T0)
    except errors.FrameError as exc:
        return {"valid": False, "error": exc.code, "fields": fields}
    out: dict[str, Any] = {"valid": True, "error": None, "fields": receipt.frame.to_dict()}
    if receipt.verdict == "duplicate":
        out["duplicate"] = True
    return out


def build() -> dict[str, Any]:
    band = Band("A", 0x00010203)
    other = Band("B", 0x00010204)
    vectors: list[dict[str, Any]] = []
    counter = 1
    for name, ftype, fields, flags in VALID:
        raw = band.frame(ftype, counter, fields, flags)
        vectors.append(_entry(name, band, raw, {}))
        counter += 1
    dup = band.frame("heartbeat", 42, {"uptime_s": 5, "battery_pct": 99})
    receiver = {"accepted_counters": [40, 41, 42]}
    vectors.append(_entry("duplicate-same-counter", band, dup, receiver))
    for name, raw, receiver in _invalid(band, other):
        vectors.append(_entry(name, band, raw, receiver))
    _check_coverage(vectors)
    return {"version": 1, "vectors": vectors}


def _check_coverage(vectors: list[dict[str, Any]]) -> None:
    seen_types = {v["fields"]["type"] for v in vectors if v["valid"]}
    missing_types = {p[0] for p in frame.PAYLOADS.values()} - seen_types
    missing_codes = set(errors.CODES) - {v["error"] for v in vectors if not v["valid"]}
    if missing_types or missing_codes:
        raise SystemExit(f"vectors miss types {missing_types} or codes {missing_codes}")


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if vectors.json is out of date")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        if OUT.read_text() != text:
            print("protocol/vectors.json is out of date: run python -m protocol.gen_vectors")
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
