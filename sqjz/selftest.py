"""`sqjz selftest`: the frame protocol checked end to end on this machine."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

MP_CHECK = """
import json
from protocol import frame, errors
from protocol.ed25519 import Signer
_vectors = json.load(open('/sqjz/protocol/vectors.json'))['vectors']
_parsed = 0
for _v in _vectors:
    try:
        frame.parse(bytes.fromhex(_v['frame_hex']))
        _parsed += 1
    except errors.FrameError as _e:
        assert _e.code == _v['error'], _v['name']
_signed = []
for _v in _vectors:
    if _v['valid'] and not _v.get('duplicate'):
        _f = frame.parse(bytes.fromhex(_v['frame_hex']))
        _s = Signer(bytes.fromhex(_v['seed_hex']))
        _fields = {}
        for _k in _f.fields:
            _fields[_k] = _f.fields[_k]
        _raw = frame.encode(
            _f.type, _f.band_id, _f.counter, _f.band_time, _fields, _s.sign, _f.flags
        )
        _signed.append(_raw == _f.raw)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def check() -> dict[str, object]:
    """Run every check; return counts and an overall ok flag."""
    from protocol.gen_vectors import evaluate
    from simulators.mpy import MicroPython

    vectors = json.loads((REPO / "protocol" / "vectors.json").read_text())["vectors"]
    cpython_ok = 0
    for v in vectors:
        got = evaluate(
            bytes.fromhex(v["frame_hex"]),
            (v["band_id"], bytes.fromhex(v["public_key_hex"])),
            v.get("receiver", {}),
        )
        cpython_ok += got["valid"] == v["valid"] and got["error"] == v["error"]
    started = time.perf_counter()
    with MicroPython() as mp:
        mp.exec(MP_CHECK)
        parsed = mp.eval_json("_parsed")
        signed = mp.eval_json("_signed")
    return {
        "vectors": len(vectors),
        "cpython_receiver_agrees": cpython_ok,
        "micropython_parsed": parsed,
        "micropython_signed_identical": sum(signed),
        "micropython_signed_total": len(signed),
        "micropython_seconds": round(time.perf_counter() - started, 2),
        "ok": cpython_ok == len(vectors) and all(signed) and bool(signed),
    }


def run(args: argparse.Namespace) -> int:
    result = check()
    if getattr(args, "json", False):
        print(json.dumps(result))
    else:
        print("sqjz protocol self-test / 协议自检")
        print(f"  test vectors                      {result['vectors']}")
        print(f"  CPython receiver agrees           {result['cpython_receiver_agrees']}")
        print(f"  MicroPython parsed (valid struct) {result['micropython_parsed']}")
        print(
            "  MicroPython signatures identical  "
            f"{result['micropython_signed_identical']}/{result['micropython_signed_total']}"
        )
        print(
            "  result / 结果                      " + ("OK 通过" if result["ok"] else "FAILED 失败")
        )
    return 0 if result["ok"] else 1
