"""The power budget and the pin map agree with the firmware that runs on the band."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def budget_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("power_budget", REPO / "hardware/power_budget.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_five_days_with_a_session_day_on_the_reference_cell() -> None:
    b = budget_module().budget()
    assert b["days_with_session"] >= 5.0
    assert b["days_normal"] > b["days_with_session"]


def test_firmware_budget_constant_matches_the_computed_average() -> None:
    # firmware/duty.py BUDGET_MA feeds the battery frames' est_hours: it must be the budget's.
    b = budget_module().budget()
    assert abs(b["firmware_budget_ma"] - b["normal_ma"]) <= 0.1


def test_power_doc_is_generated_from_the_current_duty_cycle() -> None:
    pb = budget_module()
    text = (REPO / "hardware/power.md").read_text()
    generated = text.split(pb.BEGIN, 1)[1].split(pb.END, 1)[0].strip()
    assert generated == pb.render().strip(), "run: python hardware/power_budget.py --write"


def test_pin_map_in_the_hardware_doc_is_the_board_file() -> None:
    tree = ast.parse((REPO / "firmware/board.py").read_text())
    board = {
        n.targets[0].id: ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)
    }
    names = {
        "I2C0 SDA": "PIN_SDA",
        "I2C0 SCL": "PIN_SCL",
        "BMA400 INT1": "PIN_ACCEL_INT",
        "BMA400 INT2": "PIN_ACCEL_INT2",
        "MAX30101 INT": "PIN_PPG_INT",
        "MAX17048 ALRT": "PIN_GAUGE_ALRT",
        "STRAP_SENSE": "PIN_STRAP_SENSE",
        "STRAP_TEST": "PIN_STRAP_TEST",
        "CASE_SW": "PIN_CASE",
        "BUTTON": "PIN_BUTTON",
        "MOTOR": "PIN_MOTOR",
        "VBUS_DET": "PIN_VBUS",
        "CHG_STAT": "PIN_CHG_STAT",
    }
    doc = (REPO / "hardware/README.md").read_text()
    rows = dict(
        (m.group(2).strip(), int(m.group(1)))
        for m in re.finditer(r"^\| (\d+) \| ([^|]+) \|", doc, re.MULTILINE)
    )
    assert {signal: rows.get(signal) for signal in names} == {
        signal: board[const] for signal, const in names.items()
    }
    pins = [v for k, v in board.items() if k.startswith("PIN_")]
    assert len(pins) == len(set(pins))  # no pin wired twice
