"""Power budget of the sqjz band rev A, computed from part currents and the firmware's duty cycle.

python hardware/power_budget.py           # print the budget
python hardware/power_budget.py --write   # rewrite the generated table in hardware/power.md

The duty cycle is read from firmware/duty.py (the constants the firmware runs on), the CPU time
from the firmware itself measured under MicroPython (`sqjz bench band-firmware`), so the budget
and the firmware cannot drift apart unnoticed: tests/test_firmware_power.py recomputes it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "hardware" / "power.md"
BEGIN, END = "<!-- budget:begin -->", "<!-- budget:end -->"


def duty_constants() -> dict[str, float]:
    """The firmware's duty constants, read from firmware/duty.py without running band code."""
    tree = ast.parse((REPO / "firmware" / "duty.py").read_text())
    out: dict[str, float] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            value = ast.literal_eval(node.value)
            if isinstance(value, int | float):
                out[node.targets[0].id] = value
    return out


# Part currents (mA) at 3.7 V, typical, from the datasheets named in hardware/README.md, or
# marked ESTIMATE where the figure depends on our firmware and must be measured on rev A.
FLOOR_MA = 0.230  # ESP32-S3 automatic light sleep, BLE modem sleep on the 32 kHz crystal
CPU_MA = 32.0  # ESP32-S3 running MicroPython at 160 MHz (ESTIMATE: board measurement pending)
WAKE_UC = 32.0  # one wake from light sleep and back: ~1 ms at CPU_MA (ESTIMATE)
ADV_EVENT_UC = 200.0  # one advertising event on 3 channels, 0 dBm, scan window (ESTIMATE)
VISIT_MC = 16.0  # one hub visit: connect, MTU, hello, a few notifications, ~2 s (ESTIMATE)
VISITS_PER_HOUR = 4.0  # routine frames batched by 4 (firmware/duty.py BATCH_FRAMES)
ACCEL_NORMAL_MA = 0.0145  # BMA400 normal mode
ACCEL_LOW_MA = 0.001  # BMA400 low-power mode with the wake-up detector
PPG_AFE_MA = 0.600  # MAX30101 running (1.8 V rail through a nano-power LDO)
LED_DUTY = 411e-6 * 50  # 411 us pulses at 50 samples/s (averaged to 25 Hz)
GREEN_LED_MA = 7.2 * LED_DUTY  # LED3 at 7.2 mA (firmware GREEN_PA)
IR_LED_MA = 2.0 * LED_DUTY  # LED2 at 2.0 mA (firmware IR_PA)
GAUGE_MA = 0.004  # MAX17048 mostly hibernating
STRAP_MA = 3.3 / 10e6 * 1e3  # sense node pulled up through 10 Mohm while the loop is closed
CHARGER_MA = 0.001  # MCP73831 reverse leakage with no input
REGULATORS_MA = 0.0001  # TPS62840 buck (60 nA) + TPS7A02 LDO (25 nA)

# CPU per hour of the firmware under the MicroPython WebAssembly port on the development
# machine (`sqjz bench band-firmware`), and the assumed ratio to an ESP32-S3 at 160 MHz: a float
# loop benchmark runs 18.7x slower on a PyBoard (STM32F405, 168 MHz; about as fast as an
# ESP32-S3 at 160 MHz in published MicroPython board comparisons) than in this port on the
# machine of the first runs. Each mode keeps the highest of: the first runs (the higher of two,
# which differed by up to 20 %), and the run of 2026-11-30 with the new step counter (rest 5,574,
# walk 25,554, labour 25,263, session 80,742 ms/h) divided by 1.445, how much slower that
# machine signed in the same run (2.79 ms against 1.93 ms), because the factor below is
# relative to the first machine.
CPU_WASM_MS_PER_H = {"rest": 5208, "walk": 17685, "labour": 17483, "session": 55877}
SLOWDOWN = 15.0

# A wearer's day in normal mode (hours), and the scenario the goal is checked against.
DAY = {"rest": 16.0, "walk": 2.0, "labour": 6.0}  # sleep and sitting count as rest
CELL_USABLE = 0.85  # of rated capacity: cut-off under load, ageing, temperature
GOAL_DAYS = 5.0
SESSION_HOURS_IN_GOAL = 8.0  # one full community-service day within the five


def mode_currents(d: dict[str, float]) -> dict[str, dict[str, float]]:
    """Average current (mA) by part for each activity of normal mode and for a session."""
    hr_share = d["PPG_ON_S"] / d["PPG_PERIOD_S"]
    skin_share = (1 - hr_share) * d["SKIN_CHECK_ON_S"] / d["SKIN_CHECK_S"]
    adv = ADV_EVENT_UC / (d["ADV_MS"] / 1000) / 1000
    ppg_hr = PPG_AFE_MA + GREEN_LED_MA + IR_LED_MA
    ppg_skin = PPG_AFE_MA + IR_LED_MA
    out = {}
    for name in ("rest", "walk", "labour", "session"):
        session = name == "session"
        ppg_share = 1.0 if session else hr_share
        awake_s = 1.0 if session else hr_share + skin_share
        wakes = awake_s / (d["SERVICE_MS_PPG"] / 1000) + (1 - awake_s) / (
            d["SERVICE_MS_IDLE"] / 1000
        )
        out[name] = {
            "ESP32-S3 sleep floor": FLOOR_MA,
            "CPU (firmware work)": CPU_WASM_MS_PER_H[name] * SLOWDOWN / 3.6e6 * CPU_MA,
            "CPU wake-ups": wakes * WAKE_UC / 1000,
            "BLE advertising": adv,
            "BLE hub visits": VISITS_PER_HOUR * VISIT_MC / 3600,
            "BMA400": ACCEL_LOW_MA if name == "rest" else ACCEL_NORMAL_MA,
            "MAX30101 heart rate": ppg_share * ppg_hr,
            "MAX30101 skin checks": 0.0 if session else skin_share * ppg_skin,
            "MAX17048, strap loop, charger, regulators": GAUGE_MA
            + STRAP_MA
            + CHARGER_MA
            + REGULATORS_MA,
        }
    return out


def budget() -> dict[str, float]:
    """Headline figures: normal-mode average, session average, days per charge."""
    d = duty_constants()
    modes = mode_currents(d)
    total = {k: sum(v.values()) for k, v in modes.items()}
    normal = sum(total[k] * h for k, h in DAY.items()) / sum(DAY.values())
    usable = d["CELL_MAH"] * CELL_USABLE
    goal_h = GOAL_DAYS * 24
    used = normal * (goal_h - SESSION_HOURS_IN_GOAL) + total["session"] * SESSION_HOURS_IN_GOAL
    return {
        "cell_mah": d["CELL_MAH"],
        "usable_mah": usable,
        "normal_ma": normal,
        "session_ma": total["session"],
        "days_normal": usable / normal / 24,
        "days_with_session": (
            (usable - total["session"] * SESSION_HOURS_IN_GOAL) / normal + SESSION_HOURS_IN_GOAL
        )
        / 24,
        "goal_used_mah": used,
        "firmware_budget_ma": d["BUDGET_MA"],
        **{f"{k}_ma": v for k, v in total.items()},
    }


def render() -> str:
    """The generated part of hardware/power.md."""
    d = duty_constants()
    modes = mode_currents(d)
    b = budget()
    names = ("rest", "walk", "labour", "session")
    lines = [
        "| part (mA) | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for part in modes["rest"]:
        lines.append(f"| {part} | " + " | ".join(f"{modes[n][part]:.3f}" for n in names) + " |")
    lines.append(
        "| **total** | " + " | ".join(f"**{sum(modes[n].values()):.3f}**" for n in names) + " |"
    )
    lines += [
        "",
        f"- Normal-mode average over a day of {DAY['rest']:g} h rest (sleep, sitting), "
        f"{DAY['walk']:g} h walking, {DAY['labour']:g} h labour: **{b['normal_ma']:.2f} mA** "
        f"(firmware/duty.py BUDGET_MA = {b['firmware_budget_ma']}).",
        f"- Cell: {b['cell_mah']:g} mAh rated, {b['usable_mah']:.0f} mAh usable "
        f"({CELL_USABLE:.0%}).",
        f"- Days per charge in normal mode: **{b['days_normal']:.1f}**; with one "
        f"{SESSION_HOURS_IN_GOAL:g}-hour community-service session: "
        f"**{b['days_with_session']:.1f}** (goal >= {GOAL_DAYS:g}).",
        f"- CPU figures: firmware time measured under the MicroPython WebAssembly port "
        f"(`sqjz bench band-firmware`) x {SLOWDOWN:g} for an ESP32-S3 at 160 MHz (assumed).",
    ]
    return "\n".join(lines)


def write_doc() -> None:
    """Replace the generated table in hardware/power.md."""
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{render()}\n{END}{tail}")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write_doc()
    print(render())
