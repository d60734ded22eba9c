"""The fleet report: what the bands signed and the hubs acknowledged against what the cloud stored.

`build_report` reads the cloud's database after the run and compares it byte for byte with the
bands' own record; `render` prints the result as a table (Chinese first, English second).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.frame import FLAG_QUEUED
from protocol.replay import WINDOW
from simulators.fleet_attack import Crafted
from simulators.fleet_band import FleetBand
from simulators.fleet_scenarios import SCENARIOS, Options, Plan

HELD = 0x02  # envelope flag: held in the hub's outbox while its uplink was down
REFUSALS = ("forged", "malformed", "unknown_band", "replay", "replay_conflict")
# Hub counters of frames not stored (unknown_band frames are stored and forwarded unverified).
HUB_REFUSALS = ("forged_total", "malformed_total", "replay_total", "refused_full_total")
HUB_COUNTERS = (
    "frames_accepted_total",
    "duplicates_total",
    "forged_total",
    "malformed_total",
    "replay_total",
    "unknown_band_total",
    "refused_full_total",
    "dropped_heartbeats_total",
    "puback_timeouts_total",
    "receipt_timeouts_total",
    "reconnect_requeued_total",
)


@dataclass
class Observed:
    """Everything the run recorded, handed to build_report."""

    opts: Options
    plan: Plan
    bands: dict[int, FleetBand]
    hub_stats: dict[int, dict[str, int]]
    at_hubs: set[tuple[int, int]]  # frames still in a hub's outbox when the run ended
    acks_lost: int
    db_path: Path
    committed: dict[tuple[int, int], float]  # when the cloud's commit became visible
    sos_seen: dict[tuple[int, int], float]  # first event on a supervisor's stream
    attacks: list[tuple[str, Crafted, str]]
    events: list[tuple[float, str]]
    timing: dict[str, Any]
    cloud_log: str


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """n, p50, p90, p99, max (nearest rank) in milliseconds."""
    if not values:
        return {"n": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None}
    s = sorted(values)

    def rank(p: float) -> float:
        return round(1000 * s[min(len(s) - 1, max(0, int(p * len(s) + 0.999999) - 1))], 1)

    return {
        "n": len(s),
        "p50_ms": rank(0.50),
        "p90_ms": rank(0.90),
        "p99_ms": rank(0.99),
        "max_ms": round(1000 * s[-1], 1),
    }


def _stored(db: Path) -> list[tuple[int, int, int, bytes, int, int]]:
    with contextlib.closing(sqlite3.connect(str(db))) as conn:
        return conn.execute(
            "SELECT id, band_id, counter, raw, hubs_heard, hub_flags FROM frames ORDER BY id"
        ).fetchall()


def _cloud_counts(db: Path) -> tuple[Counter[str], Counter[str], dict[int, int]]:
    with contextlib.closing(sqlite3.connect(str(db))) as conn:
        reports = Counter(
            {
                f"{k}:{c}" if c else k: n
                for k, c, n in conn.execute(
                    "SELECT kind, code, count(*) FROM reports GROUP BY kind, code"
                )
            }
        )
        alerts = Counter(dict(conn.execute("SELECT kind, count(*) FROM alerts GROUP BY kind")))
        skew = dict(
            conn.execute(
                "SELECT band_id, count(*) FROM reports WHERE kind = 'skew' GROUP BY band_id"
            )
        )
    return reports, alerts, skew


def build_report(ob: Observed) -> dict[str, Any]:
    """The report as a plain dict (it is also the JSON output)."""
    rows = _stored(ob.db_path)
    by_key = {
        (b, c): (row_id, raw, heard, hub_flags) for row_id, b, c, raw, heard, hub_flags in rows
    }
    reports, alerts, skew_by_band = _cloud_counts(ob.db_path)
    signed = acked = lost = at_hubs = other_bytes = unacked = 0
    lost_examples: list[str] = []
    cross_hub = folded_bad = 0
    live_lat: list[float] = []
    all_lat: list[float] = []
    held = queued = 0
    fleet_keys: set[tuple[int, int]] = set()
    for band in ob.bands.values():
        for counter, raw in enumerate(band.sent):
            key = (band.band_id, counter)
            fleet_keys.add(key)
            if counter == 0:
                continue  # the enrolment frame: set-up, not part of the run
            signed += 1
            got = by_key.get(key)
            if counter in band.acked:
                acked += 1
                if got is None and key in ob.at_hubs:
                    at_hubs += 1  # stored and acknowledged, still on its way: not lost
                elif got is None:
                    lost += 1
                    if len(lost_examples) < 10:
                        lost_examples.append(f"{band.band_id}:{counter}")
            else:
                unacked += 1
            if got is None:
                continue
            if got[1] != raw:
                other_bytes += 1
            hubs = band.accepted_by.get(counter, set())
            if len(hubs) > 1:
                cross_hub += len(hubs) - 1
                if got[2] < len(hubs):
                    folded_bad += 1
            held += bool(got[3] & HELD)
            queued += bool(raw[2] & FLAG_QUEUED)
            at = ob.committed.get(key)
            if at is not None and counter in band.signed_at:
                latency = at - band.signed_at[counter]
                all_lat.append(latency)
                if not got[3] & HELD and not raw[2] & FLAG_QUEUED:
                    live_lat.append(latency)
    foreign = sum(1 for key in by_key if key not in fleet_keys)
    cloud_dups = sum(heard - 1 for _i, _b, _c, _r, heard, _f in rows if heard > 1)
    late = _below_window(rows)
    sos = _sos(ob)
    hub_totals = {k: sum(s.get(k, 0) for s in ob.hub_stats.values()) for k in HUB_COUNTERS}
    refused_cloud = {k: n for k, n in sorted(reports.items()) if k.split(":")[0] in REFUSALS}
    drifting = {b.band_id for b in ob.bands.values() if b.far_off}
    skew = {
        "bands_far_off": len(drifting),
        "reported_far_off_bands": sum(1 for b in drifting if skew_by_band.get(b)),
        "reports_for_far_off_bands": sum(n for b, n in skew_by_band.items() if b in drifting),
        "reports_for_other_bands": sum(n for b, n in skew_by_band.items() if b not in drifting),
        "bands_that_lost_their_clock": sum(1 for b in ob.bands.values() if b.lost_clock),
        "lost_clocks_set_again_by_the_cloud": sum(b.resynced for b in ob.bands.values()),
    }
    play = ob.timing["play_s"]
    report: dict[str, Any] = {
        "scenario": ob.opts.scenario,
        "title_zh": SCENARIOS[ob.opts.scenario].zh,
        "title_en": SCENARIOS[ob.opts.scenario].en,
        "options": {k: v for k, v in vars(ob.opts).items()},
        "size": {"bands": len(ob.bands), "hubs": len(ob.plan.hubs)},
        "time": {
            "simulated_s": ob.opts.duration_s,
            "speed": ob.opts.speed,
            "setup_s": round(ob.timing["setup_s"], 1),
            "run_s": round(play, 1),
            "drain_s": round(ob.timing["drain_s"], 1),
            "drained": ob.timing["drained"],
            "cpu_s": ob.timing.get("cpu_s", {}),
        },
        "frames": {
            "sent": signed,
            "acknowledged_by_hubs": acked,
            "accepted": sum(1 for key in by_key if key in fleet_keys and key[1] > 0),
            "lost": lost,
            "lost_examples": lost_examples,
            "stored_with_other_bytes": other_bytes,
            "stored_not_signed_by_a_band": foreign,
            "still_on_bands": unacked,
            "still_at_hubs": at_hubs,
            "held_by_hubs": held,
            "queued_on_bands": queued,
            "accepted_below_window": late,
            "per_second_during_run": round(signed / play, 1) if play else None,
        },
        "duplicates": {
            "stored_by_two_hubs": cross_hub,
            "folded_by_cloud": cloud_dups,
            "not_folded": folded_bad,
            "acks_lost_on_links": ob.acks_lost,
        },
        "hub_counters": hub_totals,
        "refused": {
            "hubs": {
                k.removesuffix("_total"): hub_totals[k] for k in HUB_REFUSALS if hub_totals[k]
            },
            "cloud": refused_cloud,
        },
        "attacks": _attacks(ob.attacks, reports, acl=not ob.opts.broker),
        "latency": {
            "band_to_commit_live": percentiles(live_lat),
            "band_to_commit_all": percentiles(all_lat),
        },
        "sos": sos,
        "skew": skew,
        "alerts": dict(sorted(alerts.items())),
        "cloud_reports": dict(sorted(reports.items())),
        "events": [f"{t:8.0f}s {what}" for t, what in ob.events[:20]],
    }
    report["checks"] = _checks(report, ob)
    report["ok"] = all(c["ok"] for c in report["checks"])
    if not report["ok"]:
        report["cloud_log_tail"] = ob.cloud_log[-3000:]  # where to start looking
    return report


def _below_window(rows: list[tuple[int, int, int, bytes, int, int]]) -> int:
    """Frames the cloud stored although the band's window had passed them (history lookup)."""
    hi: dict[int, int] = {}
    n = 0
    for _id, band, counter, _raw, _heard, _flags in rows:  # rows are in commit order
        top = hi.get(band, -1)
        if counter < top - (WINDOW - 1):
            n += 1
        hi[band] = max(top, counter)
    return n


def _sos(ob: Observed) -> dict[str, Any]:
    pressed = [(b, s, at) for b in ob.bands.values() for s, at in b.sos_signed.items()]
    to_stream = [
        ob.sos_seen[(b.band_id, s)] - at for b, s, at in pressed if (b.band_id, s) in ob.sos_seen
    ]
    to_ack = [b.sos_acked[s] - at for b, s, at in pressed if s in b.sos_acked]
    return {
        "pressed": len(pressed),
        "on_supervisor_stream": len(to_stream),
        "acknowledged_at_band": len(to_ack),
        "band_to_stream": percentiles(to_stream),
        "band_to_ack_at_band": percentiles(to_ack),
    }


def _attacks(
    attacks: list[tuple[str, Crafted, str]], reports: Counter[str], acl: bool
) -> dict[str, Any]:
    """What was sent, what the hub answered, what the cloud should have refused and did.

    With the county ACL (the private broker) messages on another hub's topic never arrive;
    on a broker without it (--broker) they arrive and the cloud refuses their signature.
    """
    if not attacks:
        return {}
    sent = Counter(f"{path}:{item.kind}" for path, item, _ in attacks)
    radio = Counter(f"{item.kind}->{answer}" for path, item, answer in attacks if path == "radio")
    expect_cloud: Counter[str] = Counter()
    for path, item, _ in attacks:
        if item.expect == "acl" and not acl:
            expect_cloud["forged:bad_signature"] += 1
            continue
        if item.expect in ("duplicate", "acl") or (path == "radio" and item.kind != "unknown_band"):
            continue  # refused at the hub, dropped by the broker's ACL, or harmless
        kind = {"bad_signature": "forged", "unknown_band": "unknown_band"}.get(
            item.expect, "malformed"
        )
        expect_cloud[f"{kind}:{item.expect}"] += 1
    got = {k: reports.get(k, 0) for k in expect_cloud}
    return {
        "sent": dict(sent),
        "hub_answers": dict(radio),
        "cloud_expected": dict(expect_cloud),
        "cloud_refused": got,
    }


def _checks(r: dict[str, Any], ob: Observed) -> list[dict[str, Any]]:
    f, d, name = r["frames"], r["duplicates"], ob.opts.scenario
    checks = [
        ("lost == 0", f["lost"] == 0, f"{f['lost']} acknowledged frames missing at the cloud"),
        (
            "every frame delivered",
            f["still_on_bands"] == 0 and f["still_at_hubs"] == 0 and r["time"]["drained"],
            f"{f['still_on_bands']} still on bands, {f['still_at_hubs']} still at hubs",
        ),
        (
            "bytes identical",
            f["stored_with_other_bytes"] == 0,
            f"{f['stored_with_other_bytes']} differ",
        ),
        (
            "nothing forged stored",
            f["stored_not_signed_by_a_band"] == 0,
            f"{f['stored_not_signed_by_a_band']} foreign",
        ),
        (
            "duplicates across hubs folded",
            d["not_folded"] == 0,
            f"{d['stored_by_two_hubs']} stored by two hubs",
        ),
        (
            "every SOS on the supervisors' stream and acknowledged at the band",
            r["sos"]["on_supervisor_stream"]
            == r["sos"]["pressed"]
            == r["sos"]["acknowledged_at_band"],
            f"{r['sos']['pressed']} pressed",
        ),
    ]
    if name == "hub-offline":
        checks.append(
            (
                "held frames accepted below the window",
                f["accepted_below_window"] > 0 and f["held_by_hubs"] > 0,
                f"{f['held_by_hubs']} held, {f['accepted_below_window']} below",
            )
        )
        checks.append(
            (
                "the cloud raised hub_offline for the hub whose line was cut",
                r["alerts"].get("hub_offline", 0) >= 1,
                f"{r['alerts'].get('hub_offline', 0)} alert(s)",
            )
        )
    if name == "clock-drift":
        s = r["skew"]
        checks.append(
            (
                "every lost clock set again by the cloud's time_sync",
                s["lost_clocks_set_again_by_the_cloud"] == s["bands_that_lost_their_clock"],
                f"{s['lost_clocks_set_again_by_the_cloud']}/{s['bands_that_lost_their_clock']}",
            )
        )
        checks.append(
            (
                "every far-off clock reported",
                s["reported_far_off_bands"] == s["bands_far_off"],
                f"{s['reported_far_off_bands']}/{s['bands_far_off']}",
            )
        )
    if name == "forged":
        a = r["attacks"]
        hub_ok = all(
            not k.endswith("->accepted")
            for k in a["hub_answers"]
            if not k.startswith("unknown_band")
        )
        checks.append(
            (
                "hubs refused every forged/tampered/malformed frame",
                hub_ok,
                json.dumps(a["hub_answers"]),
            )
        )
        checks.append(
            (
                "cloud refused every crafted message by its code",
                a["cloud_refused"] == a["cloud_expected"],
                json.dumps(a["cloud_refused"]),
            )
        )
    return [{"check": c, "ok": bool(ok), "detail": detail} for c, ok, detail in checks]
