"""protocol/vectors.json is the contract: CPython and MicroPython must both honour it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from protocol import errors, frame, gen_vectors
from simulators.mpy import MicroPython

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(gen_vectors.__file__).with_name("vectors.json")).read_text()
)["vectors"]
PARSE_CODES = {
    errors.TRUNCATED,
    errors.BAD_LENGTH,
    errors.BAD_VERSION,
    errors.BAD_ALG,
    errors.UNKNOWN_TYPE,
    errors.BAD_FLAGS,
    errors.BAD_FIELD,
}


def test_vectors_file_is_what_the_generator_writes() -> None:
    assert gen_vectors.main(["--check"]) == 0


def test_vectors_cover_every_type_and_every_error_code() -> None:
    types = {v["fields"]["type"] for v in VECTORS if v["valid"]}
    assert types == {spec[0] for spec in frame.PAYLOADS.values()}
    assert {v["error"] for v in VECTORS if not v["valid"]} == set(errors.CODES)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_cpython_receiver_matches_vector(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["frame_hex"])
    key = (vector["band_id"], bytes.fromhex(vector["public_key_hex"]))
    result = gen_vectors.evaluate(raw, key, vector.get("receiver", {}))
    assert result["valid"] == vector["valid"]
    assert result["error"] == vector["error"]
    assert result["fields"] == vector["fields"]
    assert result.get("duplicate", False) == vector.get("duplicate", False)


MP_DECODE_ALL = """
import json
from protocol import frame, errors
_out = []
for _v in json.load(open('/sqjz/protocol/vectors.json'))['vectors']:
    try:
        _out.append(['ok', frame.parse(bytes.fromhex(_v['frame_hex'])).to_dict()])
    except errors.FrameError as _e:
        _out.append(['err', _e.code])
"""


def test_micropython_decodes_every_vector(mpy: MicroPython) -> None:
    results = mpy.eval_json("_out", setup=MP_DECODE_ALL)
    assert len(results) == len(VECTORS)
    for vector, (kind, value) in zip(VECTORS, results, strict=True):
        if vector["fields"] is None:
            assert kind == "err", vector["name"]
            assert value == vector["error"], vector["name"]
            assert value in PARSE_CODES
        else:
            assert kind == "ok", vector["name"]
            assert value == vector["fields"], vector["name"]


def test_cpython_parser_agrees_on_structure() -> None:
    for vector in VECTORS:
        raw = bytes.fromhex(vector["frame_hex"])
        if vector["fields"] is None:
            with pytest.raises(errors.FrameError) as info:
                frame.parse(raw)
            assert info.value.code == vector["error"]
        else:
            assert frame.parse(raw).to_dict() == vector["fields"]


MP_SIGN_AND_VERIFY = """
import json
from protocol import frame, errors, ed25519
_signed = []
_verified = []
for _v in json.load(open('/sqjz/protocol/vectors.json'))['vectors']:
    _raw = bytes.fromhex(_v['frame_hex'])
    _pub = bytes.fromhex(_v['public_key_hex'])
    try:
        _f = frame.parse(_raw)
    except errors.FrameError:
        _signed.append(None)
        _verified.append(None)
        continue
    _verified.append(ed25519.verify(_pub, _f.signed_part, _f.signature))
    _s = ed25519.Signer(bytes.fromhex(_v['seed_hex']))
    _again = frame.encode(
        _f.type, _f.band_id, _f.counter, _f.band_time, _f.fields, _s.sign, _f.flags)
    _signed.append(_again.hex())
"""


def test_micropython_signer_reproduces_every_frame_and_rejects_tampering(mpy: MicroPython) -> None:
    mpy.exec(MP_SIGN_AND_VERIFY)
    signed = mpy.eval_json("_signed")
    verified = mpy.eval_json("_verified")
    for vector, again, ok in zip(VECTORS, signed, verified, strict=True):
        if vector["fields"] is None:
            continue
        tampered = vector["error"] == errors.BAD_SIGNATURE
        assert ok is (not tampered), vector["name"]
        if not tampered:
            # Same seed, same fields: the pure-Python band signer gives the same bytes as
            # cryptography gave when the vector was generated.
            assert again == vector["frame_hex"], vector["name"]
