"""Minimal MATLAB v5 .mat reader for numeric matrices (the TROIKA recordings), on numpy."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

# MAT v5 data types (MATLAB "MAT-File Format", Level 5) -> numpy dtype.
_NUMERIC = {
    1: "i1",  # miINT8
    2: "u1",  # miUINT8
    3: "i2",  # miINT16
    4: "u2",  # miUINT16
    5: "i4",  # miINT32
    6: "u4",  # miUINT32
    7: "f4",  # miSINGLE
    9: "f8",  # miDOUBLE
    12: "i8",  # miINT64
    13: "u8",  # miUINT64
}
_MATRIX, _COMPRESSED = 14, 15
_NUMERIC_CLASSES = range(6, 16)  # mxDOUBLE_CLASS .. mxUINT64_CLASS


class MatFileError(ValueError):
    """The file is not a MAT v5 file this reader understands."""


def _elements(buf: bytes, endian: str) -> list[tuple[int, bytes]]:
    """Split a buffer into (type, payload) data elements, honouring the small-element form."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos + 8 <= len(buf):
        (word,) = struct.unpack_from(endian + "I", buf, pos)
        if word >> 16:  # small data element: size in the upper half, payload in 4 bytes
            dtype, size = word & 0xFFFF, word >> 16
            out.append((dtype, buf[pos + 4 : pos + 4 + size]))
            pos += 8
            continue
        dtype, size = struct.unpack_from(endian + "II", buf, pos)
        payload = buf[pos + 8 : pos + 8 + size]
        if len(payload) != size:
            raise MatFileError("truncated data element")
        out.append((dtype, payload))
        pos += 8 + size
        if dtype != _COMPRESSED:
            pos += (-size) % 8  # elements are padded to 8 bytes, compressed ones are not
    return out


def _matrix(payload: bytes, endian: str) -> tuple[str, np.ndarray] | None:
    """Decode one miMATRIX element; None for classes other than numeric arrays."""
    parts = _elements(payload, endian)
    if len(parts) < 4:
        raise MatFileError("matrix element has too few parts")
    flags = struct.unpack_from(endian + "I", parts[0][1])[0]
    if flags & 0xFF not in _NUMERIC_CLASSES or flags & 0x800:  # 0x800: complex
        return None
    dims = np.frombuffer(parts[1][1], dtype=endian + _NUMERIC[parts[1][0]])
    name = parts[2][1].decode("ascii")
    dtype, data = parts[3]
    if dtype not in _NUMERIC:
        raise MatFileError(f"unsupported numeric type {dtype} in {name!r}")
    values = np.frombuffer(data, dtype=endian + _NUMERIC[dtype]).astype(np.float64)
    return name, values.reshape(tuple(int(d) for d in dims), order="F")


def load(path: Path) -> dict[str, np.ndarray]:
    """Every real numeric matrix in a MAT v5 file, by variable name, as float64."""
    raw = path.read_bytes()
    if len(raw) < 128 or not raw.startswith(b"MATLAB 5.0 MAT-file"):
        raise MatFileError(f"{path}: not a MATLAB 5.0 MAT-file")
    endian = {b"IM": "<", b"MI": ">"}.get(raw[126:128])
    if endian is None:
        raise MatFileError(f"{path}: bad endian indicator")
    found: dict[str, np.ndarray] = {}
    pending = _elements(raw[128:], endian)
    while pending:
        dtype, payload = pending.pop(0)
        if dtype == _COMPRESSED:
            pending[:0] = _elements(zlib.decompress(payload), endian)
        elif dtype == _MATRIX:
            got = _matrix(payload, endian)
            if got is not None:
                found[got[0]] = got[1]
    return found
