"""Hub configuration fan-out: messages and bytes the cloud publishes while bands are enrolled.

`python -m simulators.config_fanout --bands 1000 --hubs 20` enrols the bands one at a time
through the cloud's real services (challenge, signed answer, confirm tag) into a county with
that many hubs, counting every retained record published to the hubs, then one reconnect's
full publication. The same counts for the single retained config per hub that this replaced
(every hub's whole keyring after every change, docs/scaling.md item 2) are computed from the
same bands in that format, since that code is gone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from typing import Any

from cloud import models
from cloud.domain.roles import SYSTEM
from cloud.services import devices
from cloud.testkit import BandSim, County
from protocol import topics


def _whole_config(hub: dict[str, Any], bands: Sequence[BandSim], version: int) -> int:
    """Bytes of the former retained config: settings plus every band, as it was published."""
    cfg = {
        "version": version,
        "issued_at": version,
        "hub_id": hub["hub_id"],
        "name": hub["name"],
        "presence_interval_s": 60,
        "bands": [
            {
                "band_id": b.band_id,
                "public_key": b.public.hex(),
                "presence_until": 0,
                "sos_location": False,
            }
            for b in bands
        ],
    }
    return len(json.dumps(cfg, ensure_ascii=False).encode())


def _enrol(county: County, hub: dict[str, Any], band: BandSim) -> None:
    ch = devices.start_enrolment(
        county.rt, hub, models.EnrolmentStart(band_id=band.band_id, public_key=band.public.hex())
    )
    answer = band.enrol_answer(bytes.fromhex(ch["nonce"]), bytes.fromhex(ch["cloud_public"]))
    devices.complete_enrolment(
        county.rt, hub, ch["enrolment_id"], models.EnrolmentComplete(frame=answer.hex())
    )


def measure(n_bands: int, n_hubs: int) -> dict[str, Any]:
    """Enrol n_bands one by one into a county with n_hubs hubs; count what is published."""
    county = County()
    sent: list[tuple[str, bytes]] = []
    county.rt.publish = lambda t, p, retain=False: sent.append((t, str(p).encode()))
    try:
        for i in range(1, n_hubs):
            devices.create_hub(
                county.rt,
                SYSTEM,
                models.HubCreate(
                    hub_id=100 + i,
                    name=f"村级网关 {i}",
                    unit_id=county.ids["units"]["village"],
                    lat=34.2,
                    lon=108.9,
                    address=f"第 {i} 号村委会",
                ),
            )
        hubs = county.rt.store.hubs()
        assert len(hubs) == n_hubs
        bands = [BandSim(1_000_000 + i, seed=i.to_bytes(32, "big")) for i in range(n_bands)]
        sent.clear()
        seconds = []
        for band in bands:
            start = time.perf_counter()
            _enrol(county, hubs[0], band)
            seconds.append(time.perf_counter() - start)
        records = [(t, p) for t, p in sent if "/down/" not in t]
        before = sum(_whole_config(h, bands[:k], k) for k in range(1, n_bands + 1) for h in hubs)
        sent.clear()
        county.rt.resync_configs()
        resync = [(t, p) for t, p in sent if "/down/" not in t]
        largest = max(len(p) for _, p in records)
        return {
            "bands": n_bands,
            "hubs": n_hubs,
            "before": {
                "messages": n_bands * n_hubs,
                "bytes": before,
                "last_message_bytes": _whole_config(hubs[0], bands, n_bands),
                "reconnect_messages": n_hubs,
                "reconnect_bytes": sum(_whole_config(h, bands, n_bands) for h in hubs),
            },
            "after": {
                "messages": len(records),
                "bytes": sum(len(p) for _, p in records),
                "largest_message_bytes": largest,
                "band_records_per_enrolment": sum(1 for t, _ in records if "/bands/" in t)
                / n_bands,
                "settings_records": sum(1 for t, _ in records if t.endswith("/config")),
                "reconnect_messages": len(resync),
                "reconnect_bytes": sum(len(p) for _, p in resync),
            },
            "enrolment_ms_median": round(statistics.median(seconds) * 1000, 2),
            "enrolment_ms_last_100": round(statistics.median(seconds[-100:]) * 1000, 2),
            "topics_example": topics.band(bands[0].band_id),
        }
    finally:
        county.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Print the measurement as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bands", type=int, default=1000)
    ap.add_argument("--hubs", type=int, default=20)
    args = ap.parse_args(argv)
    print(json.dumps(measure(args.bands, args.hubs), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
