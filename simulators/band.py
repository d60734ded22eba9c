"""A simulated wristband: the real firmware main loop under MicroPython, simulated parts and clock.

`SimBand` starts one MicroPython (WebAssembly port) interpreter with `protocol/` and
`firmware/` at their real paths and the board stand-ins of `simulators/micropython/lib`
(`machine`, `bluetooth`, `time` and register-level models of the BMA400, MAX30101 and
MAX17048). The firmware is the code that runs on the band; only the world around it is
simulated. Simulated time advances only in `advance()`, so an hour takes seconds.

The BLE side is GATT level: this object plays the single central (a hub). `connect()`,
`write()`, `read()` and `take_notifications()` map one to one onto what a central does over
the air, so a BLE peripheral (e.g. a bumble device in the hub's tests) can forward them.
"""

from __future__ import annotations

import base64
import csv
import json
import os
from array import array
from pathlib import Path
from types import TracebackType
from typing import Any

from protocol import gatt
from simulators.mpy import MicroPython

HEAP = 4 * 1024 * 1024  # initial heap of the port; it grows on demand (see docs/benchmarks.md)
CHUNK_MS = 15_000  # simulated time per interpreter call: the port collects garbage between calls
DEFAULT_START = 1_764_460_800  # 2025-11-30T00:00:00Z


class SimBand:
    """The real firmware main loop under MicroPython with simulated hardware and clock."""

    def __init__(
        self,
        band_id: int,
        seed: bytes | None = None,
        *,
        start_time: int = DEFAULT_START,
        recording: Path | None = None,
        profile: dict[str, Any] | None = None,
        flash_dir: Path | None = None,
        battery_pct: float = 90.0,
    ) -> None:
        """Boot a band.

        band_id: factory serial written to flash on first boot (kept from flash_dir after).
        seed: what the simulated hardware RNG yields first; the firmware draws its Ed25519 seed
          from it on first boot (random when None). Ignored when flash_dir already holds a key.
        start_time: UTC seconds of the simulated world at boot (the band itself only learns
          UTC from an authenticated time_sync downlink).
        recording: CSV `t_ms,ax,ay,az[,ppg]` (acceleration in g) played in a loop as the
          wearer's motion (and PPG); otherwise the profile's synthetic activity.
        profile: the simulated wearer: rest_hr, walk_hr, labour_hr, cadence_spm, schedule
          ([[seconds, "rest"|"walk"|"labour"|"sleep"], ...] cycled), cell_mah, drain_ma,
          missing_parts (["accel", "ppg", "gauge"]: parts that do not answer on the bus).
        flash_dir: host directory that keeps the band's flash (key, counter ceiling, queue,
          state) across close() and a new SimBand; created if missing.
        """
        if not 0 <= band_id <= 0xFFFFFFFF:
            raise ValueError("band_id must fit in u32")
        if seed is not None and len(seed) != 32:
            raise ValueError("seed must be 32 bytes")
        self.band_id = band_id
        self.start_time = start_time
        self.flash_dir = Path(flash_dir) if flash_dir is not None else None
        self._closed = False
        flash: dict[str, str] = {}
        if self.flash_dir is not None and self.flash_dir.exists():
            for path in sorted(self.flash_dir.rglob("*")):
                if path.is_file():
                    rel = path.relative_to(self.flash_dir).as_posix()
                    flash[rel] = base64.b64encode(path.read_bytes()).decode()
        args = {
            "band_id": band_id,
            "seed": (seed if seed is not None else os.urandom(32)).hex(),
            "start_time": start_time,
            "profile": profile or {},
            "flash": flash,
            "battery": battery_pct,
            "recording": _recording(recording) if recording is not None else None,
        }
        self._mp = MicroPython(heap=HEAP)
        try:
            self._mp.exec("import simhost, bluetooth, json")
            ident = self._eval(f"simhost.boot({json.dumps(args)!r})")
        except Exception:
            self._mp.close()
            raise
        if ident["band_id"] != band_id and not flash:
            raise RuntimeError("band booted with another band_id")
        self.band_id = ident["band_id"]
        self.public_key: bytes = bytes.fromhex(ident["public_key"])
        self.elapsed_ms = 0

    # Interpreter plumbing ---------------------------------------------------------------

    def _eval(self, expr: str) -> Any:
        if self._closed:
            raise RuntimeError("SimBand is closed")
        return self._mp.eval_json(f"json.loads({expr})")

    def _exec(self, code: str) -> None:
        if self._closed:
            raise RuntimeError("SimBand is closed")
        self._mp.exec(code)

    # Time -------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Simulated UTC seconds of the world around the band."""
        return self.start_time + self.elapsed_ms / 1000

    def advance(self, seconds: float) -> None:
        """Run the firmware for `seconds` of simulated time (an hour takes seconds)."""
        total = round(seconds * 1000)
        if total < 0:
            raise ValueError("time only runs forward")
        while total > 0:
            step = min(CHUNK_MS, total)
            self._exec(f"simhost.world.advance({step})")
            total -= step
            self.elapsed_ms += step

    # BLE, as the one central ---------------------------------------------------------

    def advertisement(self) -> dict[str, Any] | None:
        """What a scanner sees now, or None when not advertising (e.g. connected)."""
        got = self._eval("simhost.advertisement()")
        if got is None:
            return None
        interval_ms, adv_hex, resp_hex = got
        return _decode_advertisement(bytes.fromhex(adv_hex) + bytes.fromhex(resp_hex), interval_ms)

    def connect(self, mtu: int = 247) -> None:
        """A central connects and negotiates this ATT MTU (23 = no exchange)."""
        if not 23 <= mtu <= 517:
            raise ValueError("ATT MTU must be 23..517")
        ok = self._eval(f"json.dumps(bluetooth.sim_connect(bluetooth.BLE(), {mtu}))")
        if not ok:
            raise ConnectionError("band is not advertising connectably (or already connected)")
        self._flush()

    def disconnect(self) -> None:
        """The link drops."""
        self._exec("bluetooth.sim_disconnect(bluetooth.BLE())")
        self._flush()

    def read(self, uuid: str) -> bytes:
        """GATT read of a characteristic (IDENTITY)."""
        got = self._eval(f"json.dumps(bluetooth.sim_read(bluetooth.BLE(), {uuid!r}).hex())")
        return bytes.fromhex(got)

    def write(self, uuid: str, data: bytes) -> None:
        """GATT write with response (CONTROL: ack, downlink, hub hello, enrol challenge)."""
        self._exec(f"bluetooth.sim_write(bluetooth.BLE(), {uuid!r}, bytes.fromhex({data.hex()!r}))")
        self._flush()

    def take_notifications(self) -> list[bytes]:
        """FRAMES notifications (fragments per protocol/gatt.py) since the last call."""
        got = self._eval(
            "json.dumps([p.hex() for p in "
            f"bluetooth.sim_take_notifications(bluetooth.BLE(), {gatt.FRAMES_UUID!r})])"
        )
        return [bytes.fromhex(h) for h in got]

    def _flush(self) -> None:
        # Let callbacks the write scheduled run now, at the current simulated time.
        self._exec("simhost.world.advance(0)")

    # The world: wearer, strap, button, battery ---------------------------------------

    def press_button(self, seconds: float) -> None:
        """Hold the SOS button from now for `seconds` of simulated time (then advance())."""
        self._exec(f"simhost.world.press_button({round(seconds * 1000)})")
        self._flush()

    def open_strap(self) -> None:
        """Open the buckle or cut the strap: the loop breaks."""
        self._exec("simhost.world.set_strap('open')")
        self._flush()

    def close_strap(self) -> None:
        """Close the strap again."""
        self._exec("simhost.world.set_strap('closed')")
        self._flush()

    def bridge_strap(self) -> None:
        """Short the strap loop with a wire (as before cutting it)."""
        self._exec("simhost.world.set_strap('bridged')")
        self._flush()

    def open_case(self) -> None:
        """Unscrew the back cover."""
        self._exec("simhost.world.set_case(False)")
        self._flush()

    def take_off(self) -> None:
        """Slide the band off the wrist with the strap still closed (off skin)."""
        self._exec("simhost.world.body.worn = False")

    def put_on(self) -> None:
        """Wear the band again."""
        self._exec("simhost.world.body.worn = True")

    def set_activity(self, activity: str | None) -> None:
        """Force rest, walk, labour or sleep (None: back to the profile's schedule)."""
        self._exec(f"simhost.world.body.forced = {activity!r}")

    def set_battery(self, percent: float) -> None:
        """Set the cell's state of charge."""
        if not 0 <= percent <= 100:
            raise ValueError("percent must be 0..100")
        self._exec(f"simhost.world.cell.update(); simhost.world.cell.percent = {float(percent)}")

    def set_charging(self, state: str) -> None:
        """Charger: 'none', 'charging' or 'done'."""
        if state not in ("none", "charging", "done"):
            raise ValueError("state must be none, charging or done")
        self._exec(f"simhost.world.set_charging({state!r})")
        self._flush()

    def status(self) -> dict[str, Any]:
        """Firmware internals for tests: queue depth, SOS, session, faults, motor trace ..."""
        got: dict[str, Any] = self._eval("simhost.status()")
        return got

    def flash_files(self) -> dict[str, bytes]:
        """The band's flash (its data directory), by relative path."""
        got = self._eval("simhost.flash_dump()")
        return {k: base64.b64decode(v) for k, v in got.items()}

    # Lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Stop; with flash_dir the flash (key, counter ceiling, queue) is kept for a restart."""
        if self._closed:
            return
        try:
            if self.flash_dir is not None:
                files = self.flash_files()
                self.flash_dir.mkdir(parents=True, exist_ok=True)
                for old in self.flash_dir.rglob("*"):
                    if old.is_file() and old.relative_to(self.flash_dir).as_posix() not in files:
                        old.unlink()
                for rel, data in files.items():
                    path = self.flash_dir / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
        finally:
            self._closed = True
            self._mp.close()

    def __enter__(self) -> SimBand:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _decode_advertisement(payload: bytes, interval_ms: int) -> dict[str, Any]:
    """Advertising data structures (adv + scan response) as a scanner reports them."""
    out: dict[str, Any] = {
        "name": None,
        "service_uuids": [],
        "manufacturer_data": {},
        "interval_ms": interval_ms,
    }
    i = 0
    while i < len(payload):
        length = payload[i]
        if length == 0 or i + 1 + length > len(payload):
            break
        kind, data = payload[i + 1], payload[i + 2 : i + 1 + length]
        if kind == 0x09:
            out["name"] = data.decode()
        elif kind in (0x06, 0x07):
            for j in range(0, len(data) - 15, 16):
                h = data[j : j + 16][::-1].hex()
                out["service_uuids"].append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
        elif kind == 0xFF and len(data) >= 2:
            out["manufacturer_data"][int.from_bytes(data[:2], "little")] = bytes(data[2:])
        i += 1 + length
    return out


def _recording(path: Path) -> dict[str, str | None]:
    """Read `t_ms,ax,ay,az[,ppg]` (g), resample to 25 Hz, pack for the simulated sensors."""
    rows: list[tuple[float, float, float, float, float | None]] = []
    with Path(path).open(newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        if header[:4] != ["t_ms", "ax", "ay", "az"]:
            raise ValueError(f"{path}: header must start t_ms,ax,ay,az (got {header})")
        has_ppg = len(header) > 4 and header[4] == "ppg"
        for n, row in enumerate(reader, start=2):
            try:
                t, ax, ay, az = (float(v) for v in row[:4])
                ppg = float(row[4]) if has_ppg and row[4].strip() else None
            except (ValueError, IndexError) as exc:
                raise ValueError(f"{path}:{n}: bad row {row!r}") from exc
            rows.append((t, ax, ay, az, ppg))
    if len(rows) < 25:
        raise ValueError(f"{path}: fewer than 25 samples")
    acc = array("h")
    ppg_out = array("i")
    t0, t_end = rows[0][0], rows[-1][0]
    j = 0
    n = 0
    while t0 + n * 40 <= t_end:
        t = t0 + n * 40
        while j + 1 < len(rows) and rows[j + 1][0] <= t:
            j += 1
        r = rows[j]
        acc.extend(max(-32768, min(32767, round(v * 1000))) for v in r[1:4])
        if has_ppg:
            ppg_out.append(int(r[4]) if r[4] is not None else 0)
        n += 1
    return {
        "acc": base64.b64encode(acc.tobytes()).decode(),
        "ppg": base64.b64encode(ppg_out.tobytes()).decode() if has_ppg else None,
    }
