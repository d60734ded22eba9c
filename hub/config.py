"""hub.toml with SQJZ_HUB_* environment overrides, checked into one settings object (pure)."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.ble import BleSettings
from hub.policy import Limits
from hub.schedule import ScheduleSettings
from hub.uplink import MqttSettings

ENV_PREFIX = "SQJZ_HUB_"


class SettingsError(ValueError):
    """The configuration cannot be used; the message names the key."""


@dataclass(frozen=True)
class OutboxSettings:
    """[outbox] in hub.toml."""

    synchronous: str = "FULL"  # FULL: an acknowledged frame survives a power cut
    max_frames: int = Limits.max_frames
    max_bytes: int = Limits.max_bytes
    min_free_bytes: int = Limits.min_free_bytes
    max_events: int = Limits.max_events

    def limits(self) -> Limits:
        """The policy bounds."""
        return Limits(self.max_frames, self.max_bytes, self.min_free_bytes, self.max_events)


@dataclass(frozen=True)
class HealthSettings:
    """[health] in hub.toml: the local HTTP status page."""

    host: str = "127.0.0.1"  # localhost only: the kiosk and the technician, not the village
    port: int = 8765  # 0 disables


@dataclass(frozen=True)
class HubSettings:
    """Everything `sqjz hub` needs to run."""

    id: int = 0
    data_dir: str = "/var/lib/sqjz-hub"
    log_level: str = "INFO"
    status_interval_s: float = 30.0
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    ble: BleSettings = field(default_factory=BleSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    health: HealthSettings = field(default_factory=HealthSettings)

    @property
    def db_path(self) -> Path:
        """The outbox database."""
        return Path(self.data_dir) / "hub.sqlite3"


SECTIONS = ("mqtt", "ble", "schedule", "outbox", "health")


def _coerce(value: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        if isinstance(value, str):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
        if isinstance(value, bool):
            return value
        raise SettingsError(f"{where} must be true or false, not {value!r}")
    try:
        if isinstance(default, int):
            if isinstance(value, (float, bool)):
                raise ValueError
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError:
        raise SettingsError(f"{where} must be a number, not {value!r}") from None
    return str(value)


def _build(cls: type[Any], values: Mapping[str, Any], where: str) -> Any:
    defaults = cls()
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise SettingsError(
            f"unknown setting(s) in {where or 'top level'}: {', '.join(sorted(unknown))}"
        )
    kwargs = {}
    for name, value in values.items():
        kwargs[name] = _coerce(value, getattr(defaults, name), f"{where}.{name}".lstrip("."))
    return dataclasses.replace(defaults, **kwargs)


def load(path: Path | None, environ: Mapping[str, str]) -> HubSettings:
    """Read hub.toml (if given), apply SQJZ_HUB_* overrides, check, return the settings."""
    doc: dict[str, Any] = {}
    if path is not None:
        try:
            doc = tomllib.loads(Path(path).read_text())
        except OSError as exc:
            raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path} is not valid TOML: {exc}") from None
    sections: dict[str, dict[str, Any]] = {s: dict(doc.pop(s, {}) or {}) for s in SECTIONS}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        section = next((s for s in SECTIONS if name.startswith(s + "_")), None)
        if section is not None:
            sections[section][name[len(section) + 1 :]] = value
        else:
            doc[name] = value
    built = {s: _build(_CLASSES[s], v, s) for s, v in sections.items()}
    ble = dataclasses.replace(built["ble"], schedule=built["schedule"])
    top = _build(HubSettings, doc, "")
    settings: HubSettings = dataclasses.replace(
        top,
        mqtt=built["mqtt"],
        ble=ble,
        schedule=built["schedule"],
        outbox=built["outbox"],
        health=built["health"],
    )
    return check(settings)


_CLASSES: dict[str, type[Any]] = {
    "mqtt": MqttSettings,
    "ble": BleSettings,
    "schedule": ScheduleSettings,
    "outbox": OutboxSettings,
    "health": HealthSettings,
}


def check(s: HubSettings) -> HubSettings:
    """Refuse settings that cannot work, with the reason."""
    if not 0 < s.id < 2**32:
        raise SettingsError("id (the hub id, SQJZ_HUB_ID) must be set: 1..4294967295")
    if s.outbox.synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
        raise SettingsError("outbox.synchronous must be FULL, EXTRA or NORMAL")
    if not 1 <= s.mqtt.inflight <= 1000:
        raise SettingsError("mqtt.inflight must be 1..1000 (paho stalls with huge queues)")
    if not s.mqtt.inflight <= s.mqtt.unreceipted <= 65535:
        raise SettingsError("mqtt.unreceipted must be mqtt.inflight..65535")
    if s.mqtt.receipt_timeout_s < 1:
        raise SettingsError("mqtt.receipt_timeout_s must be at least 1 (seconds)")
    if s.schedule.slots < 1 or s.schedule.max_connecting < 1:
        raise SettingsError("schedule.slots and schedule.max_connecting must be at least 1")
    if s.ble.backend not in ("bluez", "bumble"):
        raise SettingsError("ble.backend must be bluez or bumble")
    if s.ble.backend == "bumble" and not s.ble.bumble_transport:
        raise SettingsError("ble.backend = bumble needs ble.bumble_transport (e.g. usb:0)")
    if s.mqtt.tls and not s.mqtt.ca_file:
        raise SettingsError("mqtt.tls needs mqtt.ca_file (the county CA certificate)")
    return s
