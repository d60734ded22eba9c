"""The cloud's retained records for this hub: band keys, Art. 29 presence orders, settings (pure).

The cloud publishes one record per band of the county (`county/bands/{band}`, empty when the band
is removed), read by every hub, and one settings record per hub (`config`); docs/mqtt.md
"config". The hub merges them into one CloudConfig.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any


class ConfigError(ValueError):
    """A record the hub cannot use; what was applied before stays in force."""


@dataclass(frozen=True)
class BandEntry:
    """One enrolled band as the cloud describes it."""

    band_id: int
    public_key: bytes
    presence_until: int = 0  # end of an Art. 29 positioning order, UTC seconds; 0 = none
    sos_location: bool = False
    key_epoch: int = 0  # protocol/README.md §6.1: a new key starts a new epoch
    generation: int = 0  # the cloud's publication round that sent this record


@dataclass(frozen=True)
class CloudConfig:
    """Settings in force and the bands known so far (docs/mqtt.md "config")."""

    version: int  # 0 until a settings record arrived
    issued_at: int
    hub_id: int
    name: str = ""
    presence_interval_s: int = 60
    generation: int = 0
    bands: dict[int, BandEntry] = field(default_factory=dict)
    complete: bool = False  # bands were listed inline: they are the whole set

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


def _json(payload: bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ConfigError(f"{what} must be a JSON object")
    return obj


def _entry(b: Any, where: str) -> BandEntry:
    if not isinstance(b, dict):
        raise ConfigError(f"{where} must be an object")
    try:
        key = bytes.fromhex(str(b.get("public_key", "")))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{where}.public_key must be 64 hex characters")
    return BandEntry(
        _int(b, "band_id"),
        key,
        _int(b, "presence_until", 0),
        bool(b.get("sos_location", False)),
        _int(b, "key_epoch", 0),
        _int(b, "generation", 0),
    )


def parse(payload: bytes, hub_id: int) -> CloudConfig:
    """Parse a settings record for this hub; ConfigError says what is wrong.

    A `bands` list inline (the form the hub saves, and the one clouds sent before per-band
    records) is the complete set of bands.
    """
    obj = _json(payload, "config")
    if _int(obj, "hub_id") != hub_id:
        raise ConfigError(f"config is for hub {obj.get('hub_id')}, this is hub {hub_id}")
    bands_raw = obj.get("bands")
    if bands_raw is not None and not isinstance(bands_raw, list):
        raise ConfigError("bands must be a list")
    bands = {}
    for i, b in enumerate(bands_raw or []):
        entry = _entry(b, f"bands[{i}]")
        bands[entry.band_id] = entry
    return CloudConfig(
        version=_int(obj, "version"),
        issued_at=_int(obj, "issued_at", 0),
        hub_id=hub_id,
        name=str(obj.get("name", "")),
        presence_interval_s=max(10, _int(obj, "presence_interval_s", 60)),
        generation=_int(obj, "generation", 0),
        bands=bands,
        complete=bands_raw is not None,
    )


def parse_band(payload: bytes, band_id: int) -> BandEntry | None:
    """Parse the record of one band (None: the band was removed)."""
    if not payload:
        return None
    entry = _entry(_json(payload, "band record"), "band record")
    if entry.band_id != band_id:
        raise ConfigError(f"record of band {entry.band_id} under band {band_id}'s topic")
    return entry


def newer(current: CloudConfig | None, candidate: CloudConfig) -> bool:
    """Apply `candidate`? Only a higher version replaces the one in force (docs/mqtt.md)."""
    return current is None or candidate.version > current.version


def with_settings(current: CloudConfig | None, settings: CloudConfig) -> CloudConfig:
    """Settings applied: bands sent before this generation are leftovers and go."""
    if settings.complete:
        return settings
    kept = current.bands if current else {}
    bands = {b: e for b, e in kept.items() if e.generation >= settings.generation}
    return replace(settings, bands=bands)


def with_bands(
    current: CloudConfig | None, hub_id: int, entries: dict[int, BandEntry | None]
) -> CloudConfig:
    """Bands' records applied (None: removed) with one copy; `current` itself if they change
    nothing (a subscribe brings every retained record again)."""
    cfg = current or CloudConfig(version=0, issued_at=0, hub_id=hub_id)
    bands: dict[int, BandEntry] | None = None
    for band_id, entry in entries.items():
        if entry is not None and entry.generation < cfg.generation:
            continue  # a leftover of an earlier publication, e.g. a broker restored from backup
        if cfg.bands.get(band_id) == entry:
            continue
        if bands is None:
            bands = dict(cfg.bands)
        if entry is None:
            bands.pop(band_id, None)
        else:
            bands[band_id] = entry
    return cfg if bands is None else replace(cfg, bands=bands)


def without_bands(current: CloudConfig | None) -> CloudConfig | None:
    """Settings kept, bands forgotten: the broker will send every current record again."""
    return None if current is None else replace(current, bands={}, complete=False)


def dump(cfg: CloudConfig) -> bytes:
    """The merged config as one settings record with its bands inline (what the hub saves)."""
    return json.dumps(
        {
            "version": cfg.version,
            "issued_at": cfg.issued_at,
            "hub_id": cfg.hub_id,
            "name": cfg.name,
            "presence_interval_s": cfg.presence_interval_s,
            "generation": cfg.generation,
            "bands": [
                {
                    "band_id": e.band_id,
                    "public_key": e.public_key.hex(),
                    "presence_until": e.presence_until,
                    "sos_location": e.sos_location,
                    "key_epoch": e.key_epoch,
                    "generation": e.generation,
                }
                for e in cfg.bands.values()
            ],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
