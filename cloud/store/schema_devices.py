"""Migration 2, the first schema of devices: bands, hubs, frames, alerts, dispatch."""

from __future__ import annotations

# Shipped: never edit (cloud/store/migrations.py keeps the ordered registry).
DEVICES: tuple[int, str, str] = (
    2,
    "bands, hubs, frames, alerts, dispatch",
    """
CREATE TABLE hubs (
  hub_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  unit_id INTEGER NOT NULL REFERENCES units(id),
  lat REAL,
  lon REAL,
  address TEXT NOT NULL DEFAULT '',
  token_hash TEXT NOT NULL,
  config_version INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT '{}',
  online INTEGER NOT NULL DEFAULT 0,
  last_seen INTEGER
);
CREATE TABLE bands (
  band_id INTEGER PRIMARY KEY,
  public_key BLOB NOT NULL,
  dl_key BLOB NOT NULL,
  dl_counter INTEGER NOT NULL DEFAULT 0,
  person_id INTEGER REFERENCES persons(id),
  sos_location INTEGER NOT NULL DEFAULT 0,
  enrolled_at INTEGER NOT NULL,
  enrolled_hub INTEGER,
  active INTEGER NOT NULL DEFAULT 1,
  hi INTEGER NOT NULL DEFAULT -1,
  seen INTEGER NOT NULL DEFAULT 0,
  floor INTEGER NOT NULL DEFAULT -1,
  last_frame_at INTEGER,
  last_hub INTEGER,
  battery_pct INTEGER
);
CREATE TABLE frames (
  id INTEGER PRIMARY KEY,
  band_id INTEGER NOT NULL,
  counter INTEGER NOT NULL,
  type TEXT NOT NULL,
  band_time INTEGER NOT NULL,
  flags INTEGER NOT NULL,
  raw BLOB NOT NULL,
  fields TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  hub_id INTEGER NOT NULL,
  hub_received_ms INTEGER NOT NULL,
  rssi INTEGER,
  hub_flags INTEGER NOT NULL,
  hubs_heard INTEGER NOT NULL DEFAULT 1,
  UNIQUE (band_id, counter)
);
CREATE INDEX frames_band_time ON frames(band_id, received_at);
CREATE TABLE reports (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  band_id INTEGER,
  hub_id INTEGER,
  code TEXT NOT NULL DEFAULT '',
  value INTEGER,
  detail TEXT NOT NULL DEFAULT '',
  raw BLOB
);
CREATE INDEX reports_band ON reports(band_id, at);
CREATE TABLE presence (
  id INTEGER PRIMARY KEY,
  band_id INTEGER NOT NULL,
  hub_id INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  rssi INTEGER,
  received_at INTEGER NOT NULL
);
CREATE INDEX presence_band ON presence(band_id, last_seen);
CREATE TABLE enrolments (
  id INTEGER PRIMARY KEY,
  band_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  nonce BLOB NOT NULL,
  cloud_private BLOB,
  cloud_public BLOB NOT NULL,
  hub_id INTEGER NOT NULL REFERENCES hubs(hub_id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  completed_at INTEGER
);
CREATE TABLE downlinks (
  id INTEGER PRIMARY KEY,
  band_id INTEGER NOT NULL REFERENCES bands(band_id),
  counter INTEGER NOT NULL,
  type TEXT NOT NULL,
  raw BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  published_at INTEGER,
  UNIQUE (band_id, counter)
);
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  priority INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'acknowledged', 'escalated', 'resolved')),
  fold_key TEXT NOT NULL,
  person_id INTEGER REFERENCES persons(id),
  case_id INTEGER REFERENCES cases(id),
  band_id INTEGER,
  unit_id INTEGER REFERENCES units(id),
  raised_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  count INTEGER NOT NULL DEFAULT 1,
  detail TEXT NOT NULL DEFAULT '{}',
  acked_by INTEGER REFERENCES users(id),
  acked_at INTEGER,
  escalated_at INTEGER,
  escalation_level INTEGER NOT NULL DEFAULT 0,
  resolved_by INTEGER REFERENCES users(id),
  resolved_at INTEGER,
  note TEXT
);
CREATE UNIQUE INDEX alerts_fold ON alerts(fold_key) WHERE status != 'resolved';
CREATE INDEX alerts_status ON alerts(status, priority, raised_at);
CREATE TABLE alert_suspensions (
  id INTEGER PRIMARY KEY,
  person_id INTEGER NOT NULL REFERENCES persons(id),
  kind TEXT NOT NULL,
  reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
  by_user INTEGER NOT NULL REFERENCES users(id),
  from_at INTEGER NOT NULL,
  until_at INTEGER NOT NULL
);
CREATE TABLE dispatches (
  id INTEGER PRIMARY KEY,
  alert_id INTEGER NOT NULL REFERENCES alerts(id),
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL,
  delivered_at INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL
);
""",
)
