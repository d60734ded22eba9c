"""Bounded frame queue in flash: frames kept raw until the hub acknowledges their counter.

Records live in segment files of SEG_RECORDS slots of 112 bytes (length byte + frame padded
to the 111-byte maximum), written append-only. SOS frames have their own segments, are sent
first and are never dropped. When ordinary frames exceed MAX_FRAMES the oldest segment is
deleted and its unacknowledged frames are counted in `dropped` (reported in heartbeats).
"""

import os

from firmware.storage import exists, makedirs

SLOT = 112
SEG_RECORDS = 64  # 7 KB per segment file: two littlefs blocks
MAX_FRAMES = 2048  # 5 days of the default reporting (about 16 frames an hour): see docs/ble.md
MAX_SOS = 256  # about a day of repeats at the slowest SOS back-off; beyond it no new repeats
KIND_SOS = "s"
KIND_NORMAL = "n"


class Segment:
    """One segment file's bookkeeping in RAM."""

    def __init__(self, kind, num, count, acked, first, last):
        self.kind = kind
        self.num = num
        self.count = count  # records written
        self.acked = acked  # bitmap of acknowledged records
        self.first = first  # counter of the first record
        self.last = last  # counter of the last record

    def name(self):
        """File name of the records."""
        return "%s%06d" % (self.kind, self.num)

    def pending(self):
        """Records not yet acknowledged."""
        n = 0
        for i in range(self.count):
            if not (self.acked >> i) & 1:
                n += 1
        return n


class FlashQueue:
    """Append, iterate unsent, acknowledge by counter; survives resets."""

    def __init__(self, store, subdir="q", max_frames=MAX_FRAMES, max_sos=MAX_SOS):
        self.store = store
        self.dir = store.path(subdir)
        self.max_frames = max_frames
        self.max_sos = max_sos
        self.dropped = 0  # ordinary frames lost since boot (the caller persists the total)
        self._segs = []
        makedirs(self.dir)
        self._load()
        self._buf = bytearray(SLOT)

    def _path(self, name):
        return self.dir + "/" + name

    def _load(self):
        names = sorted(os.listdir(self.dir))
        for name in names:
            if len(name) != 7 or name[0] not in (KIND_SOS, KIND_NORMAL):
                continue
            size = os.stat(self._path(name))[6]
            count = min(SEG_RECORDS, size // SLOT)
            acked = 0
            try:
                with open(self._path(name + ".a"), "rb") as f:
                    acked = int.from_bytes(f.read(), "big")
            except OSError:
                pass
            first = last = -1
            if count:
                with open(self._path(name), "rb") as f:
                    first = _counter(f.read(SLOT))
                    f.seek((count - 1) * SLOT)
                    last = _counter(f.read(SLOT))
            self._segs.append(Segment(name[0], int(name[1:]), count, acked, first, last))
        self._segs.sort(key=lambda s: (s.kind != KIND_SOS, s.num))
        for seg in self._segs[:]:
            if seg.count == SEG_RECORDS and seg.pending() == 0:
                self._delete(seg)

    def depth(self, kind=None):
        """Frames waiting for an acknowledgement."""
        n = 0
        for seg in self._segs:
            if kind is None or seg.kind == kind:
                n += seg.pending()
        return n

    def sos_full(self):
        """True when no further SOS frame fits (repeats stop; nothing is dropped)."""
        return self.depth(KIND_SOS) >= self.max_sos

    def append(self, frame, sos=False):
        """Store one frame durably."""
        kind = KIND_SOS if sos else KIND_NORMAL
        if sos and self.sos_full():
            raise OSError(28)  # ENOSPC: the caller stops repeating
        if not sos:
            while self.depth(KIND_NORMAL) >= self.max_frames:
                self._drop_oldest()
        seg = None
        for s in self._segs:
            if s.kind == kind:
                seg = s
        if seg is None or seg.count >= SEG_RECORDS:
            num = (seg.num + 1) if seg is not None else self._next_num(kind)
            seg = Segment(kind, num, 0, 0, -1, -1)
            self._segs.append(seg)
            self._segs.sort(key=lambda s: (s.kind != KIND_SOS, s.num))
        buf = self._buf
        buf[0] = len(frame)
        buf[1 : 1 + len(frame)] = frame
        for i in range(1 + len(frame), SLOT):
            buf[i] = 0
        with open(self._path(seg.name()), "ab") as f:
            f.write(buf)
        ctr = _counter(buf)
        if seg.count == 0:
            seg.first = ctr
        seg.last = ctr
        seg.count += 1
        self.store.writes += 1

    def _next_num(self, kind):
        top = -1
        for s in self._segs:
            if s.num > top:
                top = s.num
        return top + 1

    def _drop_oldest(self):
        for seg in self._segs:
            if seg.kind == KIND_NORMAL:
                self.dropped += seg.pending()
                self._delete(seg)
                return

    def _delete(self, seg):
        for name in (seg.name(), seg.name() + ".a"):
            if exists(self._path(name)):
                os.remove(self._path(name))
        self._segs.remove(seg)

    def pending(self, skip=None, limit=8):
        """Up to limit unacknowledged frames, SOS first, oldest first, not in skip."""
        out = []
        for seg in self._segs:
            if len(out) >= limit:
                break
            if seg.pending() == 0:
                continue
            with open(self._path(seg.name()), "rb") as f:
                for i in range(seg.count):
                    if (seg.acked >> i) & 1:
                        continue
                    f.seek(i * SLOT)
                    rec = f.read(SLOT)
                    if skip is not None and _counter(rec) in skip:
                        continue
                    out.append(rec[1 : 1 + rec[0]])
                    if len(out) >= limit:
                        break
        return out

    def ack(self, counter):
        """Forget the frame with this counter; True if it was waiting."""
        for seg in self._segs:
            if seg.count == 0 or counter < seg.first or counter > seg.last:
                continue
            with open(self._path(seg.name()), "rb") as f:
                for i in range(seg.count):
                    f.seek(i * SLOT)
                    if _counter(f.read(12)) == counter and not (seg.acked >> i) & 1:
                        seg.acked |= 1 << i
                        self._ack_saved(seg)
                        return True
        return False

    def _ack_saved(self, seg):
        if seg.pending() == 0 and (seg.count == SEG_RECORDS or seg is not self._last(seg.kind)):
            self._delete(seg)
            return
        if seg.pending() == 0:
            # The open segment is fully acknowledged: start afresh rather than keep a bitmap.
            self._delete(seg)
            return
        with open(self._path(seg.name() + ".a.tmp"), "wb") as f:
            f.write(seg.acked.to_bytes(8, "big"))
        os.rename(self._path(seg.name() + ".a.tmp"), self._path(seg.name() + ".a"))
        self.store.writes += 1

    def _last(self, kind):
        last = None
        for s in self._segs:
            if s.kind == kind:
                last = s
        return last


def _counter(record):
    # Slot byte 0 is the length; the frame's counter is at frame offset 7.
    return int.from_bytes(record[8:12], "big")
