"""The hub as a service: settings, cloud config, presence, health endpoint, CLI, deploy files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from hub import cloudconfig, config
from hub.health import HealthServer
from hub.presence import Presence
from simulators.broker import Mosquitto
from simulators.hub_harness import config_message
from sqjz.cli import main

DEPLOY = Path(__file__).resolve().parent.parent / "hub" / "deploy"


def test_example_config_loads_and_environment_overrides_it() -> None:
    env = {"SQJZ_HUB_MQTT_PASSWORD": "s3cret", "SQJZ_HUB_SCHEDULE_SLOTS": "6", "SQJZ_HUB_ID": "99"}
    s = config.load(DEPLOY / "hub.toml.example", env)
    assert s.id == 99 and s.mqtt.password == "s3cret" and s.mqtt.tls
    assert s.schedule.slots == 6 and s.ble.schedule.slots == 6
    assert s.outbox.limits().max_frames == 500_000
    assert s.db_path == Path("/var/lib/sqjz-hub/hub.sqlite3")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "id"),
        ({"SQJZ_HUB_ID": "1", "SQJZ_HUB_MQTT_PORT": "eighty"}, "mqtt.port must be a number"),
        ({"SQJZ_HUB_ID": "1", "SQJZ_HUB_MQTT_COLOUR": "red"}, "unknown setting"),
        ({"SQJZ_HUB_ID": "1", "SQJZ_HUB_BLE_BACKEND": "bumble"}, "bumble_transport"),
        ({"SQJZ_HUB_ID": "1", "SQJZ_HUB_MQTT_TLS": "yes"}, "ca_file"),
        ({"SQJZ_HUB_ID": "1", "SQJZ_HUB_MQTT_INFLIGHT": "70000"}, "inflight"),
        ({"SQJZ_HUB_ID": "1", "SQJZ_HUB_OUTBOX_SYNCHRONOUS": "OFF"}, "synchronous"),
    ],
)
def test_bad_settings_are_refused_with_the_key_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(config.SettingsError, match=message):
        config.load(None, env)


def test_bad_toml_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "hub.toml"
    bad.write_text("id = [\n")
    with pytest.raises(config.SettingsError, match="not valid TOML"):
        config.load(bad, {})
    with pytest.raises(config.SettingsError, match="cannot read"):
        config.load(tmp_path / "missing.toml", {})


def test_sqjz_hub_check_prints_settings_without_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SQJZ_HUB_ID", "12")
    monkeypatch.setenv("SQJZ_HUB_MQTT_PASSWORD", "s3cret")
    assert main(["hub", "check"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == 12 and shown["mqtt"]["password"] == "***"
    monkeypatch.delenv("SQJZ_HUB_ID")
    assert main(["hub", "check"]) == 2
    assert "SQJZ_HUB_ID" in capsys.readouterr().err


def test_cloud_config_is_checked_and_only_a_newer_version_applies() -> None:
    keys = {7: bytes(range(32))}
    cfg = cloudconfig.parse(config_message(12, keys, version=3, presence_until={7: 2000}), 12)
    assert (
        cfg.keys() == keys and cfg.presence_allowed(7, 1999) and not cfg.presence_allowed(7, 2000)
    )
    assert not cfg.presence_allowed(8, 0)
    older = cloudconfig.parse(config_message(12, keys, version=2), 12)
    assert not cloudconfig.newer(cfg, older) and cloudconfig.newer(older, cfg)
    for bad, why in [
        (b"{", "not JSON"),
        (b"[]", "object"),
        (config_message(13, keys), "for hub 13"),
        (
            json.dumps({"hub_id": 12, "version": 1, "bands": [{"band_id": 1}]}).encode(),
            "public_key",
        ),
        (json.dumps({"hub_id": 12, "version": -1}).encode(), "version"),
    ]:
        with pytest.raises(cloudconfig.ConfigError, match=why):
            cloudconfig.parse(bad, 12)


def test_presence_keeps_only_permitted_bands_and_forgets_after_each_report() -> None:
    until = {1: 1000}
    p = Presence(lambda band, now: until.get(band, 0) > now)
    assert p.heard(1, -60, 100) and not p.heard(2, -50, 100)
    p.heard(1, -70, 160)
    report = p.report(12, 170)
    assert report == {
        "hub_id": 12,
        "time": 170,
        "seen": [{"band_id": 1, "rssi": -70, "first_seen": 100, "last_seen": 160}],
    }
    assert p.report(12, 180) is None
    p.heard(1, -60, 990)
    assert p.report(12, 1001) is None  # the order expired before the report: nothing sent


def test_health_endpoint_answers_json_and_refuses_the_rest() -> None:
    async def scenario() -> list[bytes]:
        server = HealthServer({"/health": lambda: {"ok": True, "outbox_depth": 3}})
        await server.start("127.0.0.1", 0)
        answers = []
        for request in (
            b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /health HTTP/1.1\r\n\r\n",
            b"GET /nothing HTTP/1.1\r\n\r\n",
            b"\r\n\r\n",
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(request)
            await writer.drain()
            answers.append(await reader.read())
            writer.close()
        await server.stop()
        return answers

    ok, post, missing, junk = asyncio.run(scenario())
    assert (
        ok.startswith(b"HTTP/1.1 200")
        and json.loads(ok.split(b"\r\n\r\n", 1)[1])["outbox_depth"] == 3
    )
    assert post.startswith(b"HTTP/1.1 405") and missing.startswith(b"HTTP/1.1 404")
    assert junk.startswith(b"HTTP/1.1 405")


def test_hub_mosquitto_config_starts_keeps_sessions_and_refuses_anonymous() -> None:
    with Mosquitto(config=DEPLOY / "mosquitto.conf", users={"kiosk": "pw"}) as broker:
        assert "persistence true" in broker.conf.read_text()
        refused = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="anon")
        codes: list[object] = []
        refused.on_connect = lambda *a: codes.append(a[3])
        refused.connect("127.0.0.1", broker.port)
        refused.loop_start()
        for _ in range(100):
            if codes:
                break
            asyncio.run(asyncio.sleep(0.02))
        refused.loop_stop()
        assert codes and codes[0].is_failure  # type: ignore[attr-defined]


def test_systemd_unit_runs_the_documented_command() -> None:
    unit = (DEPLOY / "sqjz-hub.service").read_text()
    assert "ExecStart=/opt/sqjz/.venv/bin/sqjz hub run --config /etc/sqjz/hub.toml" in unit
    assert "Restart=always" in unit and "StateDirectory=sqjz-hub" in unit
