"""Band enrolment (protocol/README.md §6.1): challenge, verify the signed answer, agree K_dl."""

from __future__ import annotations

import os
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from protocol import downlink
from protocol.errors import FrameError
from protocol.frame import SIG_LEN, parse
from protocol.hmac256 import equal
from protocol.x25519 import ed25519_public_to_x25519


class EnrolError(ValueError):
    """The band's answer does not prove possession of the key; the message says which check."""


class Challenge(NamedTuple):
    """What the cloud keeps until the band answers (the private half never leaves the cloud)."""

    nonce: bytes
    cloud_private: bytes
    cloud_public: bytes


def check_public_key(public_key: bytes) -> None:
    """Refuse a key that is not a valid Ed25519 point."""
    if len(public_key) != 32:
        raise EnrolError("public_key must be 32 bytes (64 hex characters)")
    try:
        Ed25519PublicKey.from_public_bytes(public_key)
        ed25519_public_to_x25519(public_key)
    except ValueError as exc:
        raise EnrolError(f"not a usable Ed25519 public key: {exc}") from None


def challenge() -> Challenge:
    """A fresh 16-byte nonce and X25519 key pair."""
    private = X25519PrivateKey.generate()
    return Challenge(
        os.urandom(16),
        private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()),
        private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
    )


def complete(band_id: int, public_key: bytes, ch: Challenge, frame_raw: bytes) -> bytes:
    """Verify the band's enrol frame; return the downlink key K_dl or raise EnrolError."""
    try:
        frame = parse(frame_raw)
    except FrameError as exc:
        raise EnrolError(f"frame refused: {exc}") from None
    if frame.type_name != "enrol":
        raise EnrolError(f"expected an enrol frame, got {frame.type_name}")
    if frame.band_id != band_id:
        raise EnrolError(f"frame is from band {frame.band_id}, enrolment is for {band_id}")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            frame.raw[-SIG_LEN:], frame.raw[:-SIG_LEN]
        )
    except InvalidSignature:
        raise EnrolError("bad_signature: the frame is not signed by this public key") from None
    if frame.fields["nonce"] != ch.nonce:
        raise EnrolError("the frame answers another challenge (nonce differs)")
    peer = X25519PublicKey.from_public_bytes(ed25519_public_to_x25519(public_key))
    shared = X25519PrivateKey.from_private_bytes(ch.cloud_private).exchange(peer)
    key = bytes(downlink.derive_key(shared, ch.nonce, band_id))
    expect = downlink.enrol_confirm(key, ch.nonce, ch.cloud_public)
    if not equal(expect, frame.fields["confirm"]):
        raise EnrolError("confirm tag does not match: the band derived another downlink key")
    return key
