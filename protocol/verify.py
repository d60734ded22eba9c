"""Receiving side (CPython): key lookup, Ed25519 verification, window replay state, skew."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from protocol import replay
from protocol.errors import BAD_SIGNATURE, REPLAY, UNKNOWN_BAND, FrameError
from protocol.frame import FLAG_QUEUED, FLAG_TIME_UNSYNCED, SIG_LEN, Frame, parse

SKEW_REPORT_S = 120  # a band clock further than this from the first receiver's is reported


def verify_sodium(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Ed25519 verify with libsodium (PyNaCl): 2.2x OpenSSL's rate on our reference machine."""
    try:
        crypto_sign_open(signature + message, public_key)
    except BadSignatureError:
        return False
    return True


def verify_openssl(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Ed25519 verify with OpenSSL (cryptography): the reference the vectors were made with."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


BACKENDS = {"sodium": verify_sodium, "openssl": verify_openssl}


class Keyring:
    """Public keys (32 raw bytes) by band_id."""

    def __init__(self, keys: Mapping[int, bytes] | None = None) -> None:
        self._keys: dict[int, bytes] = {}
        for band_id, public in (keys or {}).items():
            self.add(band_id, public)

    def add(self, band_id: int, public_key: bytes) -> None:
        """Enrol or replace the key of a band; refuses anything that is not a valid point."""
        # Parsing through cryptography rejects encodings that are not curve points.
        Ed25519PublicKey.from_public_bytes(public_key)
        self._keys[band_id] = bytes(public_key)

    def remove(self, band_id: int) -> None:
        """Forget a band (revoked or retired)."""
        self._keys.pop(band_id, None)

    def get(self, band_id: int) -> bytes | None:
        """The band's public key, or None."""
        return self._keys.get(band_id)

    def __contains__(self, band_id: object) -> bool:
        return band_id in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def band_ids(self) -> Iterable[int]:
        """Every enrolled band."""
        return self._keys.keys()


def verify_frame(raw: bytes, keyring: Keyring, backend: str = "sodium") -> Frame:
    """Parse strictly, look up the key, check the signature; raise FrameError on any fault."""
    frame = parse(raw)
    key = keyring.get(frame.band_id)
    if key is None:
        raise FrameError(UNKNOWN_BAND, f"band {frame.band_id}")
    if not BACKENDS[backend](key, frame.raw[-SIG_LEN:], frame.raw[:-SIG_LEN]):
        raise FrameError(BAD_SIGNATURE, f"band {frame.band_id} counter {frame.counter}")
    return frame


def clock_skew(frame: Frame, heard_at_s: float) -> int | None:
    """Band clock minus `heard_at_s` (when the frame left the band live), or None if not judged.

    `heard_at_s` must be the clock of the first receiver (the hub's `received_at_ms`), not the
    time of ingest: a frame held in a hub's outbox would otherwise look like a slow band clock.
    QUEUED frames waited in the band's flash, and unsynced clocks count from boot: neither says
    anything about the band's clock.
    """
    if frame.flags & (FLAG_TIME_UNSYNCED | FLAG_QUEUED):
        return None
    return frame.band_time - int(heard_at_s)


class Receipt:
    """What a receiver concluded about one verified frame."""

    __slots__ = ("frame", "gap", "skew_s", "verdict")

    def __init__(self, frame: Frame, verdict: str, gap: int, skew_s: int | None) -> None:
        self.frame = frame
        self.verdict = verdict
        self.gap = gap
        self.skew_s = skew_s

    @property
    def skew_reported(self) -> bool:
        """True when the band's clock is far enough off to report."""
        return self.skew_s is not None and abs(self.skew_s) > SKEW_REPORT_S


class WindowReceiver:
    """Verifier with in-memory window replay state per band (a receiver without history)."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._state: dict[int, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def receive(self, raw: bytes, now: float) -> Receipt:
        """Verify then classify; NEW and DUPLICATE return a Receipt, a stale counter raises."""
        frame = verify_frame(raw, self.keyring)
        with self._lock:
            state = self._state.get(frame.band_id, replay.EMPTY)
            verdict, new_state, gap = replay.check(state, frame.counter)
            if verdict == replay.STALE:
                raise FrameError(
                    REPLAY, f"band {frame.band_id} counter {frame.counter} below window"
                )
            self._state[frame.band_id] = new_state
        return Receipt(frame, verdict, gap, clock_skew(frame, now))

    def restore(self, band_id: int, state: tuple[int, int]) -> None:
        """Load a band's replay state saved earlier (e.g. from disk after a restart)."""
        with self._lock:
            self._state[band_id] = state

    def state(self, band_id: int) -> tuple[int, int]:
        """(highest counter, seen bitmap) for a band."""
        return self._state.get(band_id, replay.EMPTY)
