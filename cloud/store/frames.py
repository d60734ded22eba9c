"""The ingest transaction: replay compare-and-set per band, frames, reports, alerts, SOS acks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from cloud.domain import frames as rules
from cloud.domain.roles import SYSTEM
from cloud.store.sos import SosStore
from protocol import replay
from protocol.frame import Frame
from protocol.verify import SKEW_REPORT_S, clock_skew


class Verified(NamedTuple):
    """A frame that passed parse and signature outside the lock, with its hub metadata."""

    frame: Frame
    hub_id: int
    hub_received_ms: int
    rssi: int | None
    hub_flags: int
    # Set when the frame verified only with a retired key of its band: that key's epoch.
    epoch: int | None = None


class Rejected(NamedTuple):
    """A message refused before the replay check (malformed, unknown band, forged)."""

    kind: str
    hub_id: int | None
    band_id: int | None
    code: str
    detail: str
    raw: bytes


class BatchResult(NamedTuple):
    """What one ingest transaction did; `publish` is sent to MQTT after the commit."""

    accepted: int
    duplicates: int
    refused: int
    alerts: list[tuple[int, bool]]  # (alert id, newly opened)
    publish: list[tuple[str, bytes]]  # (topic, payload)
    verdicts: list[str]


class CasConflictError(RuntimeError):
    """A band's state changed under us (another writer): the batch is retried whole."""


class FrameStore(SosStore):
    """Frame ingest on top of alerts, devices and SOS handling."""

    def ingest_batch(
        self,
        batch: Sequence[Verified],
        rejected: Sequence[Rejected],
        now: int,
        low_battery_pct: int = 20,
        sos_ack_topic: Any = None,
    ) -> BatchResult:
        """One transaction for a batch of verified frames and refused messages."""
        with self.tx():
            return self._ingest(batch, rejected, now, low_battery_pct, sos_ack_topic)

    def _ingest(
        self,
        batch: Sequence[Verified],
        rejected: Sequence[Rejected],
        now: int,
        low_battery_pct: int,
        sos_ack_topic: Any,
    ) -> BatchResult:
        band_ids = sorted({v.frame.band_id for v in batch})
        states: dict[int, dict[str, Any]] = {}
        for i in range(0, len(band_ids), 500):
            part = band_ids[i : i + 500]
            for r in self.q(
                "SELECT b.band_id, b.epoch, b.hi, b.seen, b.seen_wide, b.floor, b.person_id, "
                "b.battery_pct, b.sos_location, "
                "p.village_id FROM bands b LEFT JOIN persons p ON p.id = b.person_id "
                f"WHERE b.band_id IN ({','.join('?' * len(part))})",
                part,
            ):
                r["old"] = (r["hi"], r["seen"], r["seen_wide"])
                r["state"] = self._wide_state(r)
                states[r["band_id"]] = r
        inserts: list[tuple[Any, ...]] = []
        pending: dict[tuple[int, int, int], bytes] = {}
        dup_updates: list[tuple[int, int, int]] = []
        late_epoch = 0
        reports: list[tuple[Any, ...]] = []
        verdicts: list[str] = []
        accepted_frames: list[Verified] = []
        digest = hashlib.sha256()
        for v in batch:
            f = v.frame
            st = states.get(f.band_id)
            if st is None:  # key revoked between verify and now
                reports.append(
                    (now, "unknown_band", f.band_id, v.hub_id, "unknown_band", None, "", f.raw)
                )
                verdicts.append(rules.REPLAY)
                continue
            epoch = st["epoch"] if v.epoch is None else v.epoch
            key = (f.band_id, epoch, f.counter)
            if epoch != st["epoch"]:
                # A retired key's frame heard before its retirement: judged on history alone.
                verdict, new_state, gap = replay.STALE, st["state"], 0
                floor = self._epoch_floor(f.band_id, epoch)
            else:
                verdict, new_state, gap = rules.window(st["state"], f.counter)
                floor = st["floor"]
            if verdict == replay.NEW:
                st["state"] = new_state
                result = rules.ACCEPT
                if gap:
                    reports.append(
                        (now, "gap", f.band_id, v.hub_id, "", gap, f"before {f.counter}", None)
                    )
            else:
                stored = pending.get(key)
                if stored is None:
                    row = self.one(
                        "SELECT raw FROM frames WHERE band_id = ? AND epoch = ? AND counter = ?",
                        key,
                    )
                    stored = bytes(row["raw"]) if row else None
                result = rules.with_history(verdict, f.counter, floor, f.raw, stored)
            verdicts.append(result)
            if result == rules.ACCEPT:
                pending[key] = f.raw
                digest.update(f.raw)
                inserts.append(_frame_row(v, epoch, now))
                if epoch != st["epoch"]:
                    late_epoch += 1  # evidence only: no band state, no alerts, no acks
                    continue
                accepted_frames.append(v)
                skew = clock_skew(f, v.hub_received_ms // 1000)
                if skew is not None and abs(skew) > SKEW_REPORT_S:
                    reports.append((now, "skew", f.band_id, v.hub_id, "", skew, "", None))
            elif result == rules.DUPLICATE:
                dup_updates.append(key)
            else:
                reports.append(
                    (
                        now,
                        "replay" if result == rules.REPLAY else "replay_conflict",
                        f.band_id,
                        v.hub_id,
                        "replay",
                        f.counter,
                        "",
                        f.raw,
                    )
                )
        for bad in rejected:
            reports.append(
                (
                    now,
                    bad.kind,
                    bad.band_id,
                    bad.hub_id,
                    bad.code,
                    None,
                    bad.detail[:500],
                    bad.raw[:200],
                )
            )
        if inserts:
            self.conn.executemany(
                "INSERT INTO frames (band_id, epoch, counter, type, band_time, flags, raw, fields, "
                "received_at, hub_id, hub_received_ms, rssi, hub_flags) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                inserts,
            )
        if dup_updates:
            self.conn.executemany(
                "UPDATE frames SET hubs_heard = hubs_heard + 1 "
                "WHERE band_id = ? AND epoch = ? AND counter = ?",
                dup_updates,
            )
        self._update_bands(states, accepted_frames, now)
        if reports:
            self.conn.executemany(
                "INSERT INTO reports (at, kind, band_id, hub_id, code, value, detail, raw) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                reports,
            )
        alerts, publish = self._frame_alerts(
            accepted_frames, states, verdicts, batch, rejected, now, low_battery_pct, sos_ack_topic
        )
        accepted = len(accepted_frames) + late_epoch
        refused = len(batch) - accepted - len(dup_updates) + len(rejected)
        if batch or rejected:
            self.audit(
                SYSTEM,
                "ingest",
                "frames",
                f"{len(batch)}+{len(rejected)}",
                {
                    "accepted": accepted,
                    "duplicates": len(dup_updates),
                    "refused": refused,
                    "sha256": digest.hexdigest(),
                },
                at=now,
            )
        return BatchResult(accepted, len(dup_updates), refused, alerts, publish, verdicts)

    def _wide_state(self, band: dict[str, Any]) -> tuple[int, int]:
        """A band's replay state in the cloud's wide window, rebuilt from history if stale."""
        hi, seen = band["hi"], rules.from_db(band["seen"])
        wide = rules.wide_from_db(band["seen_wide"], band["epoch"], hi, seen)
        if wide is None:
            stored = self.q(
                "SELECT counter FROM frames WHERE band_id = ? AND epoch = ? "
                "AND counter BETWEEN ? AND ?",
                (band["band_id"], band["epoch"], hi - rules.WIDE + 1, hi - replay.WINDOW),
            )
            wide = rules.rebuild(hi, seen, (r["counter"] for r in stored))
        return hi, rules.below_floor(hi, wide, band["floor"])

    def _epoch_floor(self, band_id: int, epoch: int) -> int:
        """The retention floor of one of a band's retired key epochs."""
        row = self.one(
            "SELECT floor FROM band_keys WHERE band_id = ? AND epoch = ?", (band_id, epoch)
        )
        return int(row["floor"]) if row else -1

    def _update_bands(
        self, states: dict[int, dict[str, Any]], accepted: Sequence[Verified], now: int
    ) -> None:
        last: dict[int, Verified] = {}
        battery: dict[int, int] = {}
        for v in accepted:
            last[v.frame.band_id] = v
            level = rules.battery_of(v.frame.type_name, v.frame.fields)
            if level is not None:
                battery[v.frame.band_id] = level
        for band_id, v in last.items():
            st = states[band_id]
            hi, wide = st["state"]
            cur = self.x(
                "UPDATE bands SET hi = ?, seen = ?, seen_wide = ?, last_frame_at = ?, "
                "last_hub = ?, battery_pct = coalesce(?, battery_pct) "
                "WHERE band_id = ? AND hi = ? AND seen = ? AND seen_wide IS ?",
                (
                    hi,
                    rules.to_db(rules.narrow(wide)),
                    rules.wide_to_db(st["epoch"], hi, wide),
                    now,
                    v.hub_id,
                    battery.get(band_id),
                    band_id,
                    *st["old"],
                ),
            )
            if cur.rowcount != 1:
                raise CasConflictError(f"band {band_id} state changed during the batch")

    def _frame_alerts(
        self,
        accepted: Sequence[Verified],
        states: dict[int, dict[str, Any]],
        verdicts: Sequence[str],
        batch: Sequence[Verified],
        rejected: Sequence[Rejected],
        now: int,
        low_battery_pct: int,
        sos_ack_topic: Any,
    ) -> tuple[list[tuple[int, bool]], list[tuple[str, bytes]]]:
        out: list[tuple[int, bool]] = []
        publish: list[tuple[str, bytes]] = []
        resynced: set[int] = set()
        for v in accepted:
            f = v.frame
            if sos_ack_topic is not None and f.band_id not in resynced:
                got_sync = self._resync_clock(f, now, sos_ack_topic)
                if got_sync:
                    resynced.add(f.band_id)
                    publish += got_sync
            found = rules.alert_for(f.type_name, f.fields, low_battery_pct)
            if found is None:
                continue
            kind, detail = found
            st = states[f.band_id]
            detail = {**detail, "band_id": f.band_id, "counter": f.counter, "hub_id": v.hub_id}
            got = self._alert_for_band(kind, detail, st, v.hub_id, now)
            if got:
                out.append(got)
            if kind == "sos" and sos_ack_topic is not None:
                publish += self._sos_ack(f, now, sos_ack_topic)
                if got and got[1]:
                    self._queue_dispatch(got[0], f, v, st, now)
        for v, verdict in zip(batch, verdicts, strict=True):
            if verdict == rules.CONFLICT:
                st = states[v.frame.band_id]
                got = self._alert_for_band(
                    "security",
                    {
                        "band_id": v.frame.band_id,
                        "counter": v.frame.counter,
                        "hub_id": v.hub_id,
                        "what": "counter reused with other bytes: "
                        "cloned key or failed counter store",
                    },
                    st,
                    v.hub_id,
                    now,
                )
                if got:
                    out.append(got)
        for r in rejected:
            if r.code in ("bad_signature", "retired_key") and r.band_id is not None:
                got = self.raise_alert(
                    "security",
                    f"band:{r.band_id}",
                    {
                        "band_id": r.band_id,
                        "hub_id": r.hub_id,
                        "what": "forged frame (bad signature)"
                        if r.code == "bad_signature"
                        else f"frame signed by a retired key after its retirement: {r.detail}",
                    },
                    now,
                    band_id=r.band_id,
                    unit_id=self._hub_unit(r.hub_id),
                )
                if got:
                    out.append(got)
        return out, publish

    def _alert_for_band(
        self, kind: str, detail: dict[str, Any], st: dict[str, Any], hub_id: int, now: int
    ) -> tuple[int, bool] | None:
        person_id = st.get("person_id")
        case = None
        if person_id is not None:
            case = self.one(
                "SELECT id, village_id FROM cases WHERE person_id = ? AND closed_at IS NULL "
                "ORDER BY id DESC LIMIT 1",
                (person_id,),
            )
        unit_id = (case["village_id"] if case else st.get("village_id")) or self._hub_unit(hub_id)
        subject = f"person:{person_id}" if person_id else f"band:{detail['band_id']}"
        return self.raise_alert(
            kind,
            subject,
            detail,
            now,
            person_id=person_id,
            case_id=case["id"] if case else None,
            band_id=int(detail["band_id"]),
            unit_id=unit_id,
        )

    def _hub_unit(self, hub_id: int | None) -> int | None:
        row = self.one("SELECT unit_id FROM hubs WHERE hub_id = ?", (hub_id,)) if hub_id else None
        return int(row["unit_id"]) if row else None


def _frame_row(v: Verified, epoch: int, now: int) -> tuple[Any, ...]:
    f = v.frame
    fields = {k: (val.hex() if isinstance(val, bytes) else val) for k, val in f.fields.items()}
    return (
        f.band_id,
        epoch,
        f.counter,
        f.type_name,
        f.band_time,
        f.flags,
        f.raw,
        json.dumps(fields, separators=(",", ":")),
        now,
        v.hub_id,
        v.hub_received_ms,
        v.rssi,
        v.hub_flags,
    )
