"""The simulated band board and the handle simulators/band.py drives it through.

Builds the parts firmware/board.py names (same pins and addresses) around a Body and a
Cell, gives the firmware a hardware RNG and a flash directory, starts the real firmware and
lets the host play the world: the clock, the wearer, the strap, the button and the hub.
"""

import binascii
import gc
import hashlib
import json
import os
import time as simtime

import bluetooth
import machine
import simkernel as k
from sim_bma400 import SimBMA400
from sim_max17048 import Cell, SimMAX17048
from sim_max30101 import SimMAX30101
from simbody import Body

from firmware import board, duty, storage

STRAP_CLOSED = "closed"
STRAP_OPEN = "open"
STRAP_BRIDGED = "bridged"


class Rng:
    """The ESP32's hardware RNG, simulated: the seed first (so the host knows the key the band
    generates), then a SHA-256 stream."""

    def __init__(self, seed):
        self._buf = bytes(seed)
        self._state = hashlib.sha256(b"sqjz-sim-rng" + bytes(seed)).digest()

    def __call__(self, n):
        while len(self._buf) < n:
            self._state = hashlib.sha256(self._state).digest()
            self._buf += self._state
        out = self._buf[:n]
        self._buf = self._buf[n:]
        return out


class World:
    """Everything outside the firmware: parts, wearer, cell, strap, button, charger."""

    def __init__(self, band_id, seed, start_time, profile, battery_pct):
        k.reset()
        k.start(0)
        simtime.EPOCH_OFFSET = start_time
        p = profile or {}
        self.body = Body(p)
        self.cell = Cell(
            capacity_mah=p.get("cell_mah", duty.CELL_MAH),
            drain_ma=p.get("drain_ma", duty.BUDGET_MA),
            percent=battery_pct,
        )
        machine._unique_id = b"\x7c\xdf\xa1" + band_id.to_bytes(4, "big")[1:]
        os.urandom = Rng(seed)  # what the ESP32 port's os.urandom reads: the RF noise RNG
        self.accel = SimBMA400(self.body, board.PIN_ACCEL_INT, board.PIN_ACCEL_INT2)
        self.ppg = SimMAX30101(self.body, board.PIN_PPG_INT)
        self.gauge = SimMAX17048(self.cell)
        for name in p.get("missing_parts", ()):
            getattr(self, name).present = False  # "accel", "ppg" or "gauge": a dead part
        machine._buses[board.I2C_ID] = {
            board.ADDR_ACCEL: self.accel,
            board.ADDR_PPG: self.ppg,
            board.ADDR_GAUGE: self.gauge,
        }
        k.net(board.PIN_PPG_INT).pull = 1  # 10 k pull-up on the board
        k.net(board.PIN_STRAP_SENSE).pull = 1  # 10 M pull-up on the board
        self.strap = STRAP_CLOSED
        self.case_closed = True
        self._apply_strap()
        k.net(board.PIN_CASE).drive(0)
        k.net(board.PIN_VBUS).drive(0)
        machine._adc_sources[board.PIN_STRAP_SENSE] = self._strap_uv
        self.band = None
        self.ble = bluetooth.BLE()

    # Strap, case, charger, button ------------------------------------------------------

    def _apply_strap(self):
        k.net(board.PIN_STRAP_SENSE).drive(0 if self.strap != STRAP_OPEN else None)

    def _strap_uv(self):
        mv = board.STRAP_MV_SUPPLY
        testing = k.net(board.PIN_STRAP_TEST).out == 1
        if self.strap == STRAP_OPEN:
            return mv * 1000
        if self.strap == STRAP_BRIDGED:
            return 2000
        if testing:
            return mv * 1000 * board.STRAP_R_LOOP // (board.STRAP_R_LOOP + board.STRAP_R_TEST)
        return mv * 1000 * board.STRAP_R_LOOP // (board.STRAP_R_LOOP + 10000000)

    def set_strap(self, state):
        """closed, open or bridged (loop shorted with a wire)."""
        self.strap = state
        self._apply_strap()

    def set_case(self, closed):
        """Back cover screwed on or opened."""
        self.case_closed = closed
        k.net(board.PIN_CASE).drive(0 if closed else None)

    def set_charging(self, state):
        """none, charging or done."""
        self.cell.update()
        self.cell.charging = state != "none"
        k.net(board.PIN_VBUS).drive(1 if state != "none" else 0)
        stat = k.net(board.PIN_CHG_STAT)
        stat.drive(0 if state == "charging" else (1 if state == "done" else None))

    def press_button(self, ms):
        """Hold the button from now for ms."""
        btn = k.net(board.PIN_BUTTON)
        btn.drive(0)
        k.at(k.now_us() + int(ms) * 1000, lambda _: btn.drive(None))

    # Firmware ---------------------------------------------------------------------------

    def boot(self):
        """Start the real firmware (firmware.main.start)."""
        import firmware.main

        self.band = firmware.main.start()
        return self.band

    def advance(self, ms):
        """Run the firmware's main loop for ms of simulated time."""
        import firmware.main

        until = simtime.ticks_add(simtime.ticks_ms(), int(ms))
        firmware.main.run(self.band, until)


world = None


def boot(args_json):
    """Build the world and start the firmware; returns the identity as JSON."""
    global world
    a = json.loads(args_json)
    seed = binascii.unhexlify(a["seed"])
    world = World(a["band_id"], seed, a["start_time"], a.get("profile"), a.get("battery", 90))
    st = storage.Store(board.DATA_DIR)
    for name, b64 in (a.get("flash") or {}).items():
        _write_file(board.DATA_DIR + "/" + name, binascii.a2b_base64(b64.encode()))
    if st.read("factory") is None:
        st.write("factory", a["band_id"].to_bytes(4, "big") + bytes((board.HW_REV,)))
    if a.get("recording"):
        r = a["recording"]
        world.body.load_recording(
            binascii.a2b_base64(r["acc"].encode()),
            binascii.a2b_base64(r["ppg"].encode()) if r["ppg"] else b"",
        )
    band = world.boot()
    return json.dumps({"band_id": band.band_id, "public_key": band.signer.public_key.hex()})


def _write_file(path, data):
    parent = path.rsplit("/", 1)[0]
    storage.makedirs(parent)
    with open(path, "wb") as f:
        f.write(data)


def flash_dump():
    """Every file under the data directory, base64, by relative path."""
    out = {}
    _walk(board.DATA_DIR, "", out)
    return json.dumps(out)


def _walk(root, rel, out):
    for name in os.listdir(root + rel):
        path = root + rel + "/" + name
        if os.stat(path)[0] & 0x4000:
            _walk(root, rel + "/" + name, out)
        else:
            with open(path, "rb") as f:
                out[(rel + "/" + name)[1:]] = binascii.b2a_base64(f.read()).decode().strip()


def advertisement():
    """The current advertisement as (interval_ms, adv hex, resp hex) JSON, or null."""
    adv = world.ble._adv
    if adv is None or world.ble._conn is not None:
        return "null"
    return json.dumps([adv[0] // 1000, adv[1].hex(), adv[2].hex()])


def status():
    """Counters for tests and the host."""
    gc.collect()
    b = world.band
    return json.dumps(
        {
            "t_ms": k.now_us() // 1000,
            "uptime_s": b.uptime_s(),
            "queue_depth": b.queue.depth(),
            "dropped_total": b.dropped_total,
            "sos": b.sos,
            "session": b.session.session_id if b.session is not None else 0,
            "on_skin": b.on_skin,
            "strap_closed": b.strap_closed,
            "faults": b.faults,
            "log": b.log,
            "battery": list(b._battery),
            "config": b.effective_config(),
            "ppg_on": b.ppg is not None and b.ppg.running,
            "hr_on": b.ppg is not None and b.ppg.running and b.ppg.pulse,
            "still": b.still,
            "accel_wakeups": world.accel.wakeups,
            "flash_writes": b.store.writes,
            "motor": [t for t in k.trace if t[1].startswith("pwm")],
            "adv_intervals": [t for t in k.trace if t[1] == "adv_interval_ms"],
        }
    )
