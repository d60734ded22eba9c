"""The retained config the cloud sends a hub: band keys and Art. 29 presence orders (pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A config message the hub cannot use; the one applied before stays in force."""


@dataclass(frozen=True)
class BandEntry:
    """One enrolled band as the cloud describes it."""

    band_id: int
    public_key: bytes
    presence_until: int = 0  # end of an Art. 29 positioning order, UTC seconds; 0 = none
    sos_location: bool = False


@dataclass(frozen=True)
class CloudConfig:
    """A parsed config message (docs/mqtt.md "config")."""

    version: int
    issued_at: int
    hub_id: int
    name: str = ""
    presence_interval_s: int = 60
    bands: dict[int, BandEntry] = field(default_factory=dict)

    def presence_allowed(self, band_id: int, now: float) -> bool:
        """True while an order allows recording this band's presence and RSSI."""
        entry = self.bands.get(band_id)
        return entry is not None and entry.presence_until > now

    def keys(self) -> dict[int, bytes]:
        """band_id -> Ed25519 public key."""
        return {b: e.public_key for b, e in self.bands.items()}


def _int(obj: dict[str, Any], key: str, default: int | None = None) -> int:
    value = obj.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{key} must be a non-negative integer, not {value!r}")
    return value


def parse(payload: bytes, hub_id: int) -> CloudConfig:
    """Parse and check a config message for this hub; ConfigError says what is wrong."""
    try:
        obj = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ConfigError("config must be a JSON object")
    if _int(obj, "hub_id") != hub_id:
        raise ConfigError(f"config is for hub {obj.get('hub_id')}, this is hub {hub_id}")
    bands_raw = obj.get("bands", [])
    if not isinstance(bands_raw, list):
        raise ConfigError("bands must be a list")
    bands: dict[int, BandEntry] = {}
    for i, b in enumerate(bands_raw):
        if not isinstance(b, dict):
            raise ConfigError(f"bands[{i}] must be an object")
        try:
            key = bytes.fromhex(str(b.get("public_key", "")))
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ConfigError(f"bands[{i}].public_key must be 64 hex characters")
        band_id = _int(b, "band_id")
        bands[band_id] = BandEntry(
            band_id, key, _int(b, "presence_until", 0), bool(b.get("sos_location", False))
        )
    interval = _int(obj, "presence_interval_s", 60)
    return CloudConfig(
        version=_int(obj, "version"),
        issued_at=_int(obj, "issued_at", 0),
        hub_id=hub_id,
        name=str(obj.get("name", "")),
        presence_interval_s=max(10, interval),
        bands=bands,
    )


def newer(current: CloudConfig | None, candidate: CloudConfig) -> bool:
    """Apply `candidate`? Only a higher version replaces the one in force (docs/mqtt.md)."""
    return current is None or candidate.version > current.version
