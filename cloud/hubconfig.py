"""The hubs' retained records (docs/mqtt.md "config"): one per band, one of settings per hub.

Pure: rows in, JSON text out. The runtime keeps what it last published and sends only the
difference, so enrolling a band is one small message per hub instead of every hub's keyring.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from protocol import topics

REMOVED = ""  # an empty retained payload deletes the record at the broker


@dataclass
class HubRecords:
    """What one hub should hold: its settings (unstamped) and each band's record text."""

    settings: dict[str, Any]
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
) -> dict[int, HubRecords]:
    """Every hub's records: each hub holds every active band of the county (a wearer may
    walk past any village, and an order's presence must be kept wherever he is heard).

    The hubs share one dict of band records: nothing changes a plan once it is made.
    """
    records = {
        int(b["band_id"]): band_record(b, presence_until.get(int(b["band_id"]), 0), generation)
        for b in bands
    }
    return {
        int(h["hub_id"]): HubRecords(settings(h, presence_interval_s, generation), records)
        for h in hubs
    }


def _band_changes(old: Mapping[int, str], new: Mapping[int, str]) -> list[tuple[int, str]]:
    return [
        (band_id, new.get(band_id, REMOVED))
        for band_id in sorted(set(old) | set(new))
        if old.get(band_id, REMOVED) != new.get(band_id, REMOVED)
    ]


def changes(
    last: Mapping[int, HubRecords], want: Mapping[int, HubRecords]
) -> tuple[list[tuple[str, str]], list[int]]:
    """(band topics to publish, REMOVED to delete; hubs whose settings must be stamped anew).

    A hub's band records go before its settings: a hub that sees a new generation's settings
    has already seen that generation's records and drops older ones (hub/cloudconfig.py).
    Hubs sharing one plan's band dict are compared once, not once per hub.
    """
    out: list[tuple[str, str]] = []
    restamp: list[int] = []
    none: dict[int, str] = {}
    seen: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for hub_id in sorted(set(last) | set(want)):
        old = last.get(hub_id)
        new = want.get(hub_id)
        pair = (old.bands if old else none, new.bands if new else none)
        key = (id(pair[0]), id(pair[1]))
        if key not in seen:
            seen[key] = _band_changes(*pair)
        out.extend((topics.band(hub_id, band_id), text) for band_id, text in seen[key])
        if new is None:
            out.append((topics.config(hub_id), REMOVED))
        elif old is None or old.settings != new.settings:
            restamp.append(hub_id)
    return out, restamp
