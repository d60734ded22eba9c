"""Coverage-guided fuzzing of the frame and downlink parsers with atheris (not part of pytest).

Run: python tests/fuzz/fuzz_frame.py -atheris_runs=1000000 [corpus_dir]
Any exception other than FrameError escaping a parser is a crash, and atheris stops on it.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from protocol import downlink, errors, frame
    from protocol.verify import Keyring, verify_frame

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "protocol" / "vectors.json").read_text()
)
KEYRING = Keyring({v["band_id"]: bytes.fromhex(v["public_key_hex"]) for v in VECTORS["vectors"]})
KEY = bytes(range(32))


def test_one_input(data: bytes) -> None:
    for parse in (frame.parse, downlink.parse):
        try:
            parse(data)
        except errors.FrameError as exc:
            if exc.code not in errors.CODES:
                raise AssertionError(f"undocumented code {exc.code}") from exc
    with contextlib.suppress(errors.FrameError):
        verify_frame(data, KEYRING)
    with contextlib.suppress(errors.FrameError):
        downlink.authenticate(data, KEY, 4711)


def seed_corpus(folder: Path) -> None:
    """Start from every test vector, so the fuzzer begins at valid frames."""
    folder.mkdir(parents=True, exist_ok=True)
    for v in VECTORS["vectors"]:
        (folder / v["name"]).write_bytes(bytes.fromhex(v["frame_hex"]))
    sample = downlink.encode(KEY, "config", 4711, 1, 0, {"activity_s": 300})
    (folder / "downlink-config").write_bytes(sample)


if __name__ == "__main__":
    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    if corpus:
        seed_corpus(Path(corpus[0]))
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
