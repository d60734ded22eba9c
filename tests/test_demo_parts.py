"""The demo's pure parts: its data plan, its settings, its folder rule, its scenario names."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from cloud import auth, models
from cloud.domain.calendar import load_calendar
from cloud.domain.deadlines import report_due
from cloud.settings import Settings
from hub.config import load as load_hub
from sqjz import demo_procs
from sqjz.demo_air import hub_toml
from sqjz.demo_procs import DataFolder, DemoError, cloud_settings
from sqjz.demo_scenarios import Village, parse_scenarios
from sqjz.demo_seed import PEOPLE, acts, case_body, id_number, late_effective_on

TODAY = dt.date(2026, 11, 30)
UNITS = {k: i for i, k in enumerate(("office", "v_east", "v_west", "office_b", "v_river"), 1)}
UNITS["v_willow"] = 9


def test_scenarios_are_parsed_and_a_typo_is_named() -> None:
    assert parse_scenarios(" sos, Tamper,,deadline ") == ["sos", "tamper", "deadline"]
    assert parse_scenarios("") == []
    with pytest.raises(ValueError, match=r"sso.*choose from sos, tamper, silent, deadline"):
        parse_scenarios("sso")


def test_id_numbers_are_valid_and_carry_the_sex() -> None:
    for seq, gender in ((1, "male"), (2, "female"), (140, "male")):
        number = id_number(dt.date(1978, 5, 12), seq, gender)
        assert models.check_id_number(number) == number
        assert number[6:14] == "19780512"
        assert int(number[16]) % 2 == (1 if gender == "male" else 0)  # GB 11643 sex digit


def test_every_demo_case_and_act_is_what_the_cloud_accepts() -> None:
    by_model = {
        "report": models.ReportAct,
        "receive": models.ReceiveAct,
        "announce": models.AnnounceAct,
        "start_supervision": models.SupervisionAct,
    }
    numbers = set()
    for seq, p in enumerate(PEOPLE, start=1):
        body = models.CaseCreate.model_validate(case_body(p, UNITS, TODAY, seq))
        numbers.add(body.person.id_number)
        path = acts(p, TODAY, seq)
        assert len(path) == ["notified", "reported", "received", "announced", "supervising"].index(
            p.stage
        )
        for action, fields in path:
            by_model[action].model_validate(fields)
            if action == "report":  # never in the future, never before the judgment
                assert body.effective_on <= dt.date.fromisoformat(fields["reported_on"]) <= TODAY
    assert len(numbers) == len(PEOPLE)
    stages = {p.stage for p in PEOPLE}
    assert {"notified", "received", "supervising"} <= stages
    assert sum(1 for p in PEOPLE if p.band) == 5
    near = [p for p in PEOPLE if 0 < p.term_days - p.effective_days_ago <= 30]
    assert near  # someone's term ends within a month


def test_the_late_case_falls_due_within_two_days_on_a_working_day_and_on_a_holiday() -> None:
    cal = load_calendar()

    def due(day: dt.date) -> dt.date:
        return report_due(day, cal).due

    effective = late_effective_on(TODAY, lambda d: report_due(d, cal))
    assert TODAY <= due(effective) <= TODAY + dt.timedelta(days=2)
    # In the National Day week every period ends after the holiday: the demo still opens a
    # case (due as soon as the calendar allows) rather than one already overdue.
    golden = dt.date(2026, 10, 2)
    effective = late_effective_on(golden, lambda d: report_due(d, cal))
    assert due(effective) >= golden


def test_the_demo_presets_are_settings_the_cloud_and_hub_accept(tmp_path: Path) -> None:
    broker = demo_procs.Broker("mosquitto", 1883, {"cloud": "cloud-secret-1", "12": "x"})
    preset = cloud_settings(8080, tmp_path, broker, 90)
    text = demo_procs._toml(preset)
    assert "cloud-secret-1" not in text
    settings = Settings(**tomllib.loads(text))
    assert settings.band_silent_s == 90 and settings.band_activity_s == 60
    assert settings.mqtt_port == 1883 and settings.mqtt_password is None  # password: env only
    hub = tmp_path / "hub.toml"
    hub.write_text(hub_toml(tmp_path / "hub", 1883, 8765))
    got = load_hub(hub, {"SQJZ_HUB_MQTT_PASSWORD": "hub-secret-1"})
    assert got.id == 12 and got.mqtt.port == 1883 and got.mqtt.password == "hub-secret-1"
    assert "password" not in hub.read_text().replace("MQTT password comes from", "")


def test_generated_passwords_pass_the_clouds_rule() -> None:
    seen = set()
    for _ in range(50):
        pw = demo_procs.password()
        auth.check_password_strength(pw)
        seen.add(pw)
    assert len(seen) == 50


def test_a_foreign_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "thesis.txt").write_text("do not delete")
    with pytest.raises(DemoError, match="neither empty nor a previous demo"):
        DataFolder(tmp_path).open()
    assert (tmp_path / "thesis.txt").read_text() == "do not delete"


def test_a_previous_demo_is_replaced_and_a_running_one_is_not_touched(tmp_path: Path) -> None:
    first = DataFolder(tmp_path / "d").open()
    (first.path / "cloud" / "sqjz.db").write_text("old")
    assert not first.replaced
    with pytest.raises(DemoError, match="another demo is running"):
        DataFolder(tmp_path / "d").open()
    assert (first.path / "cloud" / "sqjz.db").exists()
    first.close()
    second = DataFolder(tmp_path / "d").open()
    try:
        assert second.replaced and not (second.path / "cloud" / "sqjz.db").exists()
        assert sorted(p.name for p in second.path.iterdir()) == [
            "broker",
            "cloud",
            "demo.json",
            "hub",
            "logs",
        ]
        fd = os.open(second.path, os.O_RDONLY)  # the lock is held while the demo runs
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
    finally:
        second.close()


def test_happenings_befall_different_wearers_in_turn() -> None:
    nothing: Any = None
    village = Village(
        nothing, nothing, nothing, nothing, nothing, {1: "a", 2: "b", 3: "c"}, 90, nothing, nothing
    )
    assert [village._next_band(lambda b: True) for _ in range(4)] == [1, 2, 3, 1]
    assert village._next_band(lambda b: b == 3) == 3
    assert village._next_band(lambda b: False) is None
