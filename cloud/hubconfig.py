"""The hubs' retained records (docs/mqtt.md "config"): one per band for the county, one of
settings per hub.

Pure: rows in, JSON text out. The runtime keeps what it last published and sends only the
difference, so enrolling a band is one small message instead of every hub's keyring.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from protocol import topics

REMOVED = ""  # an empty retained payload deletes the record at the broker


@dataclass
class Plan:
    """What the county's hubs should hold: each hub's settings (unstamped), and the county's
    band records, which every hub reads from one topic per band."""

    settings: dict[int, dict[str, Any]] = field(default_factory=dict)
    bands: dict[int, str] = field(default_factory=dict)


def _text(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def settings(hub: Mapping[str, Any], presence_interval_s: int, generation: int) -> dict[str, Any]:
    """A hub's settings record without its version stamp (compared to find changes)."""
    return {
        "hub_id": int(hub["hub_id"]),
        "name": hub["name"],
        "presence_interval_s": presence_interval_s,
        "generation": generation,
    }


def stamp(unstamped: Mapping[str, Any], version: int, issued_at: int) -> str:
    """The settings record as published: a higher version replaces the one in force."""
    return _text({"version": version, "issued_at": issued_at, **unstamped})


def band_record(band: Mapping[str, Any], presence_until: int, generation: int) -> str:
    """One band's record: key, key epoch, Art. 29 permission, SOS-location opt-in."""
    return _text(
        {
            "band_id": int(band["band_id"]),
            "public_key": bytes(band["public_key"]).hex(),
            "key_epoch": int(band.get("epoch") or 0),
            "presence_until": int(presence_until),
            "sos_location": bool(band["sos_location"]),
            "generation": generation,
        }
    )


def plan(
    hubs: Iterable[Mapping[str, Any]],
    bands: Sequence[Mapping[str, Any]],
    presence_until: Mapping[int, int],
    presence_interval_s: int,
    generation: int,
) -> Plan:
    """Every hub's settings and every active band's record: each hub reads every band of the
    county (a wearer may walk past any village, and an order's presence must be kept wherever
    he is heard)."""
    return Plan(
        {int(h["hub_id"]): settings(h, presence_interval_s, generation) for h in hubs},
        {
            int(b["band_id"]): band_record(b, presence_until.get(int(b["band_id"]), 0), generation)
            for b in bands
        },
    )


def changes(last: Plan, want: Plan) -> tuple[list[tuple[str, str]], list[int]]:
    """(topics to publish, REMOVED to delete; hubs whose settings must be stamped anew).

    Band records go before any settings: a hub that sees a new generation's settings has
    already seen that generation's records and drops older ones (hub/cloudconfig.py).
    """
    out = [
        (topics.band(band_id), want.bands.get(band_id, REMOVED))
        for band_id in sorted(set(last.bands) | set(want.bands))
        if last.bands.get(band_id, REMOVED) != want.bands.get(band_id, REMOVED)
    ]
    out += [(topics.config(h), REMOVED) for h in sorted(set(last.settings) - set(want.settings))]
    restamp = [h for h in sorted(want.settings) if last.settings.get(h) != want.settings[h]]
    return out, restamp
