"""Sliding-window replay check: pure function over (highest counter, 64-bit seen-bitmap)."""

WINDOW = 64
_MASK = (1 << WINDOW) - 1

NEW = "new"  # never seen: accept
DUPLICATE = "duplicate"  # inside the window and already seen: same frame again
STALE = "stale"  # below the window: only a receiver with full history can tell

EMPTY = (-1, 0)  # state of a receiver that has accepted nothing from this band


def check(state, counter, window=WINDOW):
    """Classify a counter; return (verdict, new_state, gap) without mutating anything.

    state is (hi, seen): hi is the highest counter accepted (-1 for none), bit i of
    seen marks counter hi - i as accepted. gap counts counters skipped by a jump
    forward (they may still arrive late); it is 0 unless the verdict is NEW. The band
    and the hub keep 64 counters; the cloud passes a wider window of its own.
    """
    hi, seen = state
    mask = _MASK if window == WINDOW else (1 << window) - 1
    if counter > hi:
        shift = counter - hi
        gap = shift - 1 if hi >= 0 else 0
        seen = ((seen << shift) | 1) & mask if shift < window else 1
        return NEW, (counter, seen), gap
    back = hi - counter
    if back >= window:
        return STALE, state, 0
    bit = 1 << back
    if seen & bit:
        return DUPLICATE, state, 0
    return NEW, (hi, seen | bit), 0
