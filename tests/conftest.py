"""Shared fixtures: a MicroPython interpreter, the repository root, opt-in hardware tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.broker import Mosquitto
from simulators.mpy import MicroPython

REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-hardware",
        action="store_true",
        help="run tests that need a real BLE adapter or board",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-hardware"):
        return
    skip = pytest.mark.skip(reason="needs real hardware; pass --run-hardware")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def mpy() -> Iterator[MicroPython]:
    """One MicroPython interpreter shared by the session (modules stay imported)."""
    with MicroPython() as interp:
        yield interp


@pytest.fixture()
def mosquitto() -> Iterator[Mosquitto]:
    """A private mosquitto from the shipped cloud configuration, on a free port (anonymous)."""
    with Mosquitto() as broker:
        yield broker
