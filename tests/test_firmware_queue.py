"""The band's flash queue and state files under MicroPython (its VFS is the band's flash)."""

from __future__ import annotations

import itertools
from typing import Any

from simulators.mpy import MicroPython

_dirs = itertools.count()

SETUP = """
from firmware.storage import Store
from firmware.flashq import FlashQueue
from protocol import frame
from protocol.counter import Counter
def fake(ftype, counter):
    # A well-formed frame with a dummy signature: the queue never looks at signatures.
    fields = {'reason': 1} if ftype == 'sos' else {}
    return frame.encode(ftype, 7, counter, 0, fields, lambda body: bytes(64))
def counters(frames):
    return [int.from_bytes(f[7:11], 'big') for f in frames]
st = Store(DIR)
"""


def run(mpy: MicroPython, expr: str, setup: str, directory: str | None = None) -> Any:
    d = directory or f"/tmp/flash{next(_dirs)}"
    return mpy.eval_json(expr, f"DIR = {d!r}\n" + SETUP + setup)


def test_frames_wait_until_acknowledged_and_survive_a_restart(mpy: MicroPython) -> None:
    d = f"/tmp/flash{next(_dirs)}"
    got = run(
        mpy,
        "[q.depth(), counters(q.pending(limit=10)), q.ack(3), q.ack(3), q.ack(99)]",
        "q = FlashQueue(st)\nfor c in range(5):\n    q.append(fake('heartbeat', c))\n",
        d,
    )
    assert got == [5, [0, 1, 2, 3, 4], True, False, False]
    # A new queue over the same flash (a reset) sees exactly what was not acknowledged.
    got = run(mpy, "[q.depth(), counters(q.pending(limit=10))]", "q = FlashQueue(st)\n", d)
    assert got == [4, [0, 1, 2, 4]]


def test_sos_goes_first_and_skip_excludes_frames_in_flight(mpy: MicroPython) -> None:
    got = run(
        mpy,
        "[counters(q.pending(limit=3)), counters(q.pending(skip=[5, 0], limit=3))]",
        "q = FlashQueue(st)\n"
        "for c in range(4):\n    q.append(fake('activity', c))\n"
        "q.append(fake('sos', 5), sos=True)\n",
    )
    assert got == [[5, 0, 1], [1, 2, 3]]


def test_bound_drops_oldest_ordinary_frames_counts_them_keeps_sos(mpy: MicroPython) -> None:
    got = run(
        mpy,
        "[q.depth(), q.depth('s'), q.dropped, counters(q.pending(limit=400))[:3],"
        " len(os.listdir(DIR + '/q'))]",
        "import os\n"
        "q = FlashQueue(st, max_frames=128, max_sos=100)\n"
        "for c in range(300):\n"
        "    q.append(fake('activity', c))\n"
        "    if c % 10 == 0:\n"
        "        q.append(fake('sos', 1000 + c), sos=True)\n",
    )
    depth, sos_depth, dropped, first, files = got
    assert sos_depth == 30  # every SOS kept
    assert depth - sos_depth <= 128 and depth - sos_depth + dropped == 300  # nothing unaccounted
    assert dropped == 192  # whole 64-frame segments, oldest first
    assert first == [1000, 1010, 1020]
    assert files <= 4  # two ordinary segments and one SOS segment (plus no stray files)


def test_sos_queue_full_refuses_rather_than_drops(mpy: MicroPython) -> None:
    got = run(
        mpy,
        "[q.sos_full(), refused, q.depth('s')]",
        "q = FlashQueue(st, max_sos=3)\n"
        "for c in range(3):\n    q.append(fake('sos', c), sos=True)\n"
        "try:\n    q.append(fake('sos', 9), sos=True)\n    refused = False\n"
        "except OSError:\n    refused = True\n",
    )
    assert got == [True, True, 3]


def test_fully_acknowledged_segments_leave_flash(mpy: MicroPython) -> None:
    got = run(
        mpy,
        "[len(os.listdir(DIR + '/q')), q.depth(), counters(q.pending(limit=5))]",
        "import os\nq = FlashQueue(st)\n"
        "for c in range(70):\n    q.append(fake('activity', c))\n"
        "for c in range(64):\n    q.ack(c)\n",
    )
    assert got == [1, 6, [64, 65, 66, 67, 68]]


def test_counter_ceiling_is_written_ahead_and_resumed(mpy: MicroPython) -> None:
    got = run(
        mpy,
        "[first, st.read_u32('ctr'), second]",
        "c = Counter(lambda: st.read_u32('ctr'), lambda v: st.write_u32('ctr', v))\n"
        "first = [c.next() for _ in range(300)][-1]\n"
        "c2 = Counter(lambda: st.read_u32('ctr'), lambda v: st.write_u32('ctr', v))\n"
        "second = c2.next()\n",
    )
    assert got == [299, 768, 512]


def test_state_files_are_replaced_atomically(mpy: MicroPython) -> None:
    got = run(
        mpy,
        "[st.read_json('s', None), st.read_json('missing', 'dflt'), sorted(os.listdir(DIR))]",
        "import os\nst.write_json('s', {'a': 1})\nst.write_json('s', {'a': 2})\n"
        "with open(DIR + '/bad', 'wb') as f:\n    f.write(b'{not json')\n"
        "assert st.read_json('bad', 'fallback') == 'fallback'\n",
    )
    assert got == [{"a": 2}, "dflt", ["bad", "s"]]  # no temporary left behind
