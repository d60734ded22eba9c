"""One settings object for the cloud, from SQJZ_* environment variables and an optional file."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cloud.domain.checkins import CheckinPolicy

ENV_PREFIX = "SQJZ_"


class Settings(BaseModel):
    """Everything a county deployment sets; defaults suit one machine and the demo."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "data" / "cloud")
    host: str = "127.0.0.1"
    port: int = 8080
    county_name: str = "示范县司法局"
    default_lang: str = "zh"
    # MQTT broker the ingest worker subscribes to (docs/mqtt.md).
    mqtt_enabled: bool = True
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_tls_ca: Path | None = None
    mqtt_client_id: str = "sqjz-cloud"
    # Ingest: frames per transaction and how long a batch may wait to fill.
    ingest_batch: int = 500
    ingest_linger_s: float = 0.005
    # Sessions and lockout.
    session_ttl_s: int = 8 * 3600
    session_idle_s: int = 30 * 60
    lockout_failures: int = 5
    lockout_s: int = 15 * 60
    cookie_secure: bool = False
    # Alerts: escalate an unacknowledged alert after this long (seconds); SOS sooner.
    escalate_sos_s: int = 120
    escalate_other_s: int = 4 * 3600
    band_silent_s: int = 30 * 60
    out_of_contact_s: int = 24 * 3600
    low_battery_pct: int = 20
    # A hub whose last will (or final status) says offline, or that sent no status at all, for
    # this long raises hub_offline for its unit's staff. Hubs report every 30 s (hub.toml).
    hub_offline_s: int = Field(300, ge=0, le=7 * 86400)
    # 110 dispatch: a JSON POST per SOS, retried until the receiver answers 2xx.
    dispatch_url: str | None = None
    dispatch_token: str | None = None
    dispatch_retry_s: float = 5.0
    dispatch_retry_max_s: float = 300.0
    # Background jobs (escalation, silence, deadlines, retention, positioning expiry).
    jobs_interval_s: float = 30.0
    presence_interval_s: int = 60
    # Reporting periods sent to every band in its config downlink (activity window, heartbeat).
    band_activity_s: int = Field(default=300, ge=60, le=3600)
    band_heartbeat_s: int = Field(default=600, ge=60, le=86400)
    # Thresholds from the 2020 Implementing Measures: configurable, never hard-coded.
    leave_office_max_days: int = 7
    leave_county_max_days: int = 30
    leave_window_days: int = 60
    correction_reply_days: int = 15
    # Days between required check-ins per classification (provincial rules; docs/cloud.md says
    # where each default comes from): 严管, 普管, 宽管.
    checkin_days_strict: int = Field(7, ge=1, le=366)
    checkin_days_normal: int = Field(14, ge=1, le=366)
    checkin_days_lenient: int = Field(30, ge=1, le=366)
    # Report to the new 司法所 after an approved move within the county (local practice; the
    # Measures set 7 days for a move to another county, used here by analogy).
    residence_report_days: int = Field(7, ge=1, le=30)
    out_of_contact_warning_days: int = 10
    # Retention in days per data kind (see docs/cloud.md).
    retain_frames_days: int = 3 * 365
    retain_presence_days: int = 90
    retain_sessions_days: int = 30
    retain_security_days: int = 5 * 365
    # Audit anchors (docs/cloud.md): signed with the key in anchor_key_path (created in the data
    # folder on first use), issued every anchor_interval_s if the log grew, and on demand;
    # published retained on anchor_topic for the procuratorate's subscriber.
    anchor_key_path: Path | None = None
    anchor_interval_s: int = Field(3600, ge=60)
    anchor_topic: str = "sqjz/v1/audit/anchor"
    # First administrator, created on a fresh data folder if both are given.
    admin_username: str | None = None
    admin_password: str | None = None

    @field_validator("default_lang")
    @classmethod
    def _lang(cls, value: str) -> str:
        if value not in ("zh", "en"):
            raise ValueError("default_lang must be zh or en")
        return value

    @property
    def db_path(self) -> Path:
        """The SQLite database file inside the data folder."""
        return self.data_dir / "sqjz.db"

    @property
    def checkin_policy(self) -> CheckinPolicy:
        """The check-in periods as the domain rule takes them."""
        return CheckinPolicy(
            self.checkin_days_strict, self.checkin_days_normal, self.checkin_days_lenient
        )

    @property
    def anchor_key_file(self) -> Path:
        """The anchor signing key (kept apart from backups of the database if set elsewhere)."""
        return self.anchor_key_path or self.data_dir / "anchor-key.pem"


def _env_values(env: Mapping[str, str]) -> dict[str, Any]:
    """Settings fields given as SQJZ_<FIELD> variables (values parsed by pydantic)."""
    out: dict[str, Any] = {}
    for name in Settings.model_fields:
        key = ENV_PREFIX + name.upper()
        if key in env:
            out[name] = env[key]
    return out


def load_settings(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Settings from a TOML or JSON file (SQJZ_CONFIG), then the environment, then overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    file = path or (Path(env["SQJZ_CONFIG"]) if env.get("SQJZ_CONFIG") else None)
    if file is not None:
        text = file.read_text(encoding="utf-8")
        values.update(json.loads(text) if file.suffix == ".json" else tomllib.loads(text))
    values.update(_env_values(env))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
