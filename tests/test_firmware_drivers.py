"""Band drivers under MicroPython against the simulated parts' register maps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simulators.mpy import MicroPython, MicroPythonError

# A bare simulated board (no firmware running): parts, nets and the simulated clock.
WORLD = """
import simkernel, simhost, machine, time
from firmware import board
from firmware.drivers import DeviceError
W = simhost.World(7, bytes(32), 1764460800, {PROFILE}, 80)
I2C = board.i2c()
def err(f):
    try:
        f()
    except DeviceError as e:
        return str(e)
    return None
"""


@pytest.fixture(scope="module")
def sim() -> Iterator[MicroPython]:
    """An interpreter of its own: these tests switch its `time` to the simulated clock."""
    with MicroPython(heap=1024 * 1024) as interp:
        yield interp


def run(sim: MicroPython, expr: str, setup: str = "", profile: dict[str, Any] | None = None) -> Any:
    return sim.eval_json(expr, WORLD.replace("{PROFILE}", repr(profile or {})) + setup)


def test_time_is_the_simulated_clock_shadowing_the_builtin(sim: MicroPython) -> None:
    got = run(
        sim,
        "[time.__file__, t0, time.ticks_diff(time.ticks_ms(), t0), time.time() - 1764460800]",
        "t0 = time.ticks_ms()\ntime.sleep(3600)\n",
    )
    assert got[0] == "/lib/time.py"
    assert got[2] == 3_600_000  # an hour passed in simulated time, not in real time
    assert got[3] >= 3600


def test_accelerometer_fifo_gives_the_wearers_motion_in_mg(sim: MicroPython) -> None:
    got = run(
        sim,
        "[n, [xs[i] for i in range(n)], [ys[i] for i in range(n)], [zs[i] for i in range(n)],"
        " truth, W.accel.regs[0x1A], W.accel.regs[0x26], acc.temperature_c()]",
        "from firmware.drivers.bma400 import BMA400\n"
        "import array\n"
        "acc = BMA400(I2C, board.ADDR_ACCEL)\n"
        "W.body.forced = 'walk'\n"
        "n0 = simkernel.now_us() * 25 // 1000000\n"
        "time.sleep_ms(2000)\n"
        "xs = array.array('h', bytes(400)); ys = array.array('h', bytes(400));"
        " zs = array.array('h', bytes(400))\n"
        "n = acc.read_fifo(xs, ys, zs)\n"
        "truth = [W.body.accel(n0 + i) for i in range(n)]\n",
    )
    n, xs, ys, zs, truth, config1, fifo0, temp = got
    assert 48 <= n <= 51  # 2 s at 25 Hz
    assert config1 == 0x46  # +-4 g, 25 Hz
    assert fifo0 == 0xE0  # x, y, z, 12-bit
    for i in range(n):
        for got_mg, want_mg in zip((xs[i], ys[i], zs[i]), truth[i], strict=True):
            assert abs(got_mg - want_mg) <= 2  # 12 bits at +-4 g: 1.95 mg per bit
    assert temp == 31


def test_accelerometer_watermark_raises_int1_and_counts_overflow(sim: MicroPython) -> None:
    got = run(
        sim,
        "[hits, W.accel.overflows, n]",
        "from firmware.drivers.bma400 import BMA400\n"
        "import array\n"
        "hits = []\n"
        "p = machine.Pin(board.PIN_ACCEL_INT, machine.Pin.IN)\n"
        "p.irq(lambda pin: hits.append(time.ticks_ms()), machine.Pin.IRQ_RISING)\n"
        "acc = BMA400(I2C, board.ADDR_ACCEL, watermark_frames=50)\n"
        "t0 = time.ticks_ms()\n"
        "time.sleep_ms(2500)\n"
        "hits = [time.ticks_diff(h, t0) for h in hits]\n"
        "time.sleep_ms(10000)\n"  # 250 samples: the 146-frame FIFO overflows
        "xs = array.array('h', bytes(400)); ys = array.array('h', bytes(400));"
        " zs = array.array('h', bytes(400))\n"
        "n = acc.read_fifo(xs, ys, zs)\n",
    )
    hits, overflows, n = got
    assert len(hits) == 1 and 1900 <= hits[0] <= 2100  # 50 samples at 25 Hz
    assert n == 146 and overflows > 90  # the part keeps the newest 146 frames


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("W.accel.present = False", "accelerometer BMA400 at I2C 0x14 not answering"),
        ("W.accel.regs[0] = 0x03", "chip id 0x03, expected 0x90"),
        ("W.ppg.present = False", "PPG MAX30101 at I2C 0x57 not answering"),
        ("W.ppg.regs[0xFF] = 0x11", "part id 0x11, expected 0x15"),
        ("W.gauge.present = False", "fuel gauge MAX17048 at I2C 0x36 not answering"),
    ],
)
def test_a_missing_or_wrong_part_is_a_clear_error(
    sim: MicroPython, setup: str, message: str
) -> None:
    got = run(
        sim,
        "[err(lambda: BMA400(I2C, board.ADDR_ACCEL)), err(lambda: MAX30101(I2C, board.ADDR_PPG)),"
        " err(lambda: MAX17048(I2C, board.ADDR_GAUGE))]",
        "from firmware.drivers.bma400 import BMA400\n"
        "from firmware.drivers.max30101 import MAX30101\n"
        "from firmware.drivers.max17048 import MAX17048\n" + setup + "\n",
    )
    errors = [e for e in got if e]
    assert len(errors) == 1 and message in errors[0]


def test_bus_glitch_during_a_fifo_read_is_a_device_error(sim: MicroPython) -> None:
    got = run(
        sim,
        "err(lambda: acc.read_fifo(xs, xs, xs))",
        "from firmware.drivers.bma400 import BMA400\nimport array\n"
        "acc = BMA400(I2C, board.ADDR_ACCEL)\ntime.sleep_ms(1000)\n"
        "xs = array.array('h', bytes(400))\nW.accel.fail_reads = 1\n",
    )
    assert "FIFO read failed" in got


def test_ppg_samples_green_and_ir_and_sees_the_wrist(sim: MicroPython) -> None:
    got = run(
        sim,
        "[n1, min(g[:n1]), max(g[:n1]), min(ir[:n1]), n2, max(ir2[:n2]), W.ppg.regs[0x09], n3]",
        "from firmware.drivers.max30101 import MAX30101\nimport array\n"
        "ppg = MAX30101(I2C, board.ADDR_PPG)\n"
        "g = array.array('i', bytes(128)); ir = array.array('i', bytes(128))\n"
        "ppg.start()\ntime.sleep_ms(1000)\nn1 = ppg.read_fifo(g, ir)\n"
        "W.body.worn = False\ntime.sleep_ms(1000)\n"
        "g2 = array.array('i', bytes(128)); ir2 = array.array('i', bytes(128))\n"
        "n2 = ppg.read_fifo(g2, ir2)\nppg.stop()\ntime.sleep_ms(2000)\n"
        "n3 = ppg.read_fifo(g2, ir2)\n",
    )
    n1, gmin, gmax, irmin, n2, irmax_off, mode, n3 = got
    assert 24 <= n1 <= 26 and 24 <= n2 <= 26  # 50 sps averaged by 2
    assert 20000 < gmin < gmax < 30000 and gmax - gmin > 100  # a pulse on the green channel
    assert irmin > 3000 > irmax_off  # the IR reflection is what tells skin from air
    assert mode == 0x87  # shutdown, multi-LED
    assert n3 == 0  # stopped: nothing sampled


def test_fuel_gauge_reads_voltage_charge_and_rate(sim: MicroPython) -> None:
    got = run(
        sim,
        "[g.percent(), g.millivolts(), g.rate_pct_per_hour_x10()]",
        "from firmware.drivers.max17048 import MAX17048\ng = MAX17048(I2C, board.ADDR_GAUGE)\n",
        profile={"drain_ma": 3.0, "cell_mah": 300},
    )
    pct, mv, rate = got
    assert pct == 80 and 3950 <= mv <= 4030  # LiPo open-circuit voltage at 80 %
    assert -11 <= rate <= -9  # 3 mA from 300 mAh: -1 %/h


def test_strap_loop_tells_closed_open_and_bridged(sim: MicroPython) -> None:
    got = run(
        sim,
        "[s.is_open(), s.measure(), o, om, b, bm, seen, simkernel.net(board.PIN_STRAP_TEST).out]",
        "from firmware.drivers.inputs import StrapLoop\n"
        "seen = []\n"
        "s = StrapLoop(board.PIN_STRAP_SENSE, board.PIN_STRAP_TEST, board.STRAP_R_LOOP,"
        " board.STRAP_R_TEST, board.STRAP_MV_SUPPLY, lambda p: seen.append(p.value()))\n"
        "W.set_strap('open')\ntime.sleep_ms(1)\no = s.is_open(); om = s.measure()\n"
        "W.set_strap('bridged')\ntime.sleep_ms(1)\nb = s.is_open(); bm = s.measure()\n"
        "W.set_strap('closed')\ntime.sleep_ms(1)\n",
    )
    assert got[:6] == [False, 0, True, 1, False, 2]  # STRAP_OK, STRAP_OPEN, STRAP_BRIDGED
    assert got[6] == [1, 0]  # interrupt on opening and on the bridge pulling the node low
    assert got[7] is None  # the test drive is released after each measurement


def test_charger_states_and_button_edges(sim: MicroPython) -> None:
    got = run(
        sim,
        "[states, presses]",
        "from firmware.drivers.inputs import Charger, Button\n"
        "presses = []\n"
        "c = Charger(board.PIN_VBUS, board.PIN_CHG_STAT, lambda p: None)\n"
        "b = Button(board.PIN_BUTTON, lambda p: presses.append(b.pressed()))\n"
        "states = [c.state()]\n"
        "W.set_charging('charging'); states.append(c.state())\n"
        "W.set_charging('done'); states.append(c.state())\n"
        "W.set_charging('none'); states.append(c.state())\n"
        "W.press_button(500)\ntime.sleep_ms(1000)\n",
    )
    assert got == [[0, 1, 2, 0], [True, False]]


def test_motor_plays_a_pattern_from_its_timer(sim: MicroPython) -> None:
    got = run(
        sim,
        "[(t - t0, v) for (t, w, v) in simkernel.trace if w == 'pwm%d' % board.PIN_MOTOR]",
        "from firmware.drivers.motor import Motor\n"
        "m = Motor(board.PIN_MOTOR, 2)\nt0 = simkernel.now_us() // 1000\n"
        "m.play(2)\ntime.sleep_ms(2000)\n",
    )
    assert got[1:] == [[0, 52000], [150, 0], [300, 52000], [450, 0]]


def test_watchdog_stops_a_hung_firmware(sim: MicroPython) -> None:
    with pytest.raises(MicroPythonError, match="watchdog expired"):
        run(sim, "0", "w = machine.WDT(timeout=1000)\ntime.sleep_ms(1500)\n")


def test_accelerometer_sleeps_until_the_wrist_moves(sim: MicroPython) -> None:
    got = run(
        sim,
        "[lp, quiet, W.accel.wakeups, woke, n]",
        "from firmware.drivers.bma400 import BMA400\nimport array\n"
        "acc = BMA400(I2C, board.ADDR_ACCEL)\n"
        "woke = []\n"
        "p = machine.Pin(board.PIN_ACCEL_INT2, machine.Pin.IN)\n"
        "p.irq(lambda pin: woke.append(time.ticks_ms()), machine.Pin.IRQ_RISING)\n"
        "acc.sleep_until_motion(48)\nlp = W.accel.regs[0x19] & 3\n"
        "time.sleep_ms(5000)\nquiet = len(woke)\n"
        "W.body.forced = 'walk'\nt0 = time.ticks_ms()\ntime.sleep_ms(2000)\n"
        "woke = [time.ticks_diff(t, t0) for t in woke]\n"
        "acc.resume()\ntime.sleep_ms(1000)\n"
        "xs = array.array('h', bytes(400))\nn = acc.read_fifo(xs, xs, xs)\n",
    )
    lp, quiet, wakeups, woke, n = got
    assert lp == 1 and quiet == 0  # low-power mode, and a resting wrist does not wake it
    assert wakeups == 1 and len(woke) == 1 and woke[0] <= 600
    assert 24 <= n <= 26  # streaming at 25 Hz again
