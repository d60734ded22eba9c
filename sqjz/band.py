"""`sqjz band`: run one simulated band (the real firmware under MicroPython) and print its frames.

Every frame is collected over the band's GATT service by a simulated hub, verified against the
band's public key with `cryptography`, acknowledged, and printed as one JSON line (decoded
fields plus the raw hex). The simulated hub visits when the band's advert asks for it and
otherwise every --visit-every seconds, as a village hub would.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ACTIVITIES = ("rest", "walk", "labour", "sleep")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--band-id", type=int, default=66051, help="factory serial (u32)")
    parser.add_argument("--seconds", type=float, default=3600, help="simulated seconds to run")
    parser.add_argument("--seed", help="hex of the 32 bytes the band's RNG yields first (key)")
    parser.add_argument("--activity", choices=ACTIVITIES, help="the wearer does only this")
    parser.add_argument("--profile", help="wearer profile as JSON (see simulators/band.py)")
    parser.add_argument("--recording", type=Path, help="CSV t_ms,ax,ay,az[,ppg] to play")
    parser.add_argument("--flash-dir", type=Path, help="keep the band's flash here")
    parser.add_argument("--mtu", type=int, default=247, help="ATT MTU the hub negotiates")
    parser.add_argument("--visit-every", type=float, default=600, help="routine hub visits (s)")
    parser.add_argument("--enrol", action="store_true", help="enrol and sync time first")
    parser.add_argument("--sos-at", type=float, help="hold the SOS button at this second")
    parser.add_argument("--status", action="store_true", help="print firmware status at the end")


def run(args: argparse.Namespace) -> int:
    from protocol import gatt
    from simulators.band import SimBand
    from simulators.band_central import Central

    try:
        profile: dict[str, Any] = json.loads(args.profile) if args.profile else {}
    except json.JSONDecodeError as exc:
        print(f"--profile is not JSON: {exc}", file=sys.stderr)
        return 2
    seed = bytes.fromhex(args.seed) if args.seed else None
    with SimBand(
        args.band_id,
        seed,
        profile=profile,
        recording=args.recording,
        flash_dir=args.flash_dir,
    ) as band:
        if args.activity:
            band.set_activity(args.activity)
        hub = Central(band)

        printed = 0

        def visit() -> None:
            nonlocal printed
            if band.advertisement() is not None:
                hub.connect(args.mtu)
            hub.drain()
            band.disconnect()
            for f in hub.received[printed:]:
                out = f.to_dict()
                out["raw"] = f.raw.hex()
                print(json.dumps(out, ensure_ascii=False), flush=True)
            printed = len(hub.received)

        if args.enrol:
            hub.connect(args.mtu)
            hub.enrol()
            hub.downlink("time_sync", {"tz_offset_min": 480})
        visit()
        elapsed = 0.0
        last_visit = 0.0
        sos_pending = args.sos_at is not None
        while elapsed < args.seconds:
            step = min(10.0, args.seconds - elapsed)
            if sos_pending and elapsed + step >= args.sos_at:
                step = max(0.0, args.sos_at - elapsed)
                band.advance(step)
                elapsed += step
                band.press_button(3.5)
                sos_pending = False
                continue
            band.advance(step)
            elapsed += step
            adv = band.advertisement()
            status = (
                gatt.unpack_adv_status(adv["manufacturer_data"][gatt.MANUFACTURER_ID])
                if adv is not None
                else None
            )
            asked = status is not None and status[1] & (
                gatt.ADV_FRAMES_QUEUED | gatt.ADV_SOS_PENDING
            )
            if asked or elapsed - last_visit >= args.visit_every:
                visit()
                last_visit = elapsed
        visit()
        if args.status:
            print(json.dumps({"status": band.status()}, ensure_ascii=False))
    return 0
