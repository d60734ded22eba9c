"""The retained per-hub config (docs/mqtt.md): county keyring and Art. 29 presence permissions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def build(
    hub: Mapping[str, Any],
    bands: Sequence[Mapping[str, Any]],
    presence_until: Mapping[int, int],
    version: int,
    issued_at: int,
    presence_interval_s: int,
) -> dict[str, Any]:
    """Config JSON for one hub: every active band in the county with its presence permission."""
    return {
        "version": version,
        "issued_at": issued_at,
        "hub_id": int(hub["hub_id"]),
        "name": hub["name"],
        "presence_interval_s": presence_interval_s,
        "bands": [
            {
                "band_id": int(b["band_id"]),
                "public_key": bytes(b["public_key"]).hex(),
                "presence_until": int(presence_until.get(int(b["band_id"]), 0)),
                "sos_location": bool(b["sos_location"]),
            }
            for b in bands
        ],
    }
