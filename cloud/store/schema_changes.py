"""Migrations 3 and on: changes to the first schema, in the order they shipped."""

from __future__ import annotations

# Append only: never edit a migration that has shipped (the registry is in migrations.py).
CHANGES: list[tuple[int, str, str]] = [
    (
        3,
        "append-only hash-chained audit log",
        """
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  object_kind TEXT NOT NULL,
  object_id TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
""",
    ),
    (
        4,
        "authority deadlines, return from leave, rulings, change of residence, arrest requests",
        """
ALTER TABLE deadlines ADD COLUMN party TEXT NOT NULL DEFAULT 'bureau'
  CHECK (party IN ('bureau', 'authority'));
ALTER TABLE deadlines ADD COLUMN met_on TEXT;
ALTER TABLE deadlines ADD COLUMN due_at INTEGER;
ALTER TABLE deadlines ADD COLUMN source TEXT;
ALTER TABLE leave_requests ADD COLUMN returned_on TEXT;
ALTER TABLE leave_requests ADD COLUMN late_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leave_requests ADD COLUMN return_note TEXT;
ALTER TABLE sanctions ADD COLUMN ruling_no TEXT;
ALTER TABLE sanctions ADD COLUMN ruled_on TEXT;
CREATE TABLE residence_changes (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  from_office_id INTEGER NOT NULL REFERENCES units(id),
  from_village_id INTEGER NOT NULL REFERENCES units(id),
  to_office_id INTEGER NOT NULL REFERENCES units(id),
  to_village_id INTEGER NOT NULL REFERENCES units(id),
  new_address TEXT NOT NULL,
  moves_on TEXT NOT NULL,
  reason TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'requested'
    CHECK (status IN ('requested', 'approved', 'refused', 'withdrawn')),
  requested_by INTEGER REFERENCES users(id),
  requested_at INTEGER NOT NULL,
  decided_by INTEGER REFERENCES users(id),
  decided_at INTEGER,
  decision_note TEXT
);
CREATE INDEX residence_changes_case ON residence_changes(case_id);
CREATE TABLE arrest_requests (
  id INTEGER PRIMARY KEY,
  sanction_id INTEGER NOT NULL REFERENCES sanctions(id),
  case_id INTEGER NOT NULL REFERENCES cases(id),
  ground TEXT NOT NULL CHECK (ground IN ('flight', 'danger')),
  facts TEXT NOT NULL,
  court TEXT NOT NULL,
  requested_by INTEGER REFERENCES users(id),
  requested_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'requested'
    CHECK (status IN ('requested', 'arrested', 'refused')),
  document_no TEXT,
  decided_at INTEGER,
  recorded_by INTEGER REFERENCES users(id),
  recorded_at INTEGER
);
CREATE INDEX arrest_requests_case ON arrest_requests(case_id);
""",
    ),
    (
        5,
        "account administration; band key epochs and re-key authorizations",
        """
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled_reason TEXT;
ALTER TABLE bands ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
CREATE TABLE band_keys (
  band_id INTEGER NOT NULL REFERENCES bands(band_id),
  epoch INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  enrolled_at INTEGER NOT NULL,
  enrolled_hub INTEGER,
  retired_at INTEGER,
  retired_reason TEXT,
  compromised INTEGER NOT NULL DEFAULT 0,
  floor INTEGER NOT NULL DEFAULT -1,
  PRIMARY KEY (band_id, epoch)
);
INSERT INTO band_keys (band_id, epoch, public_key, enrolled_at, enrolled_hub, retired_at)
  SELECT band_id, 0, public_key, enrolled_at, enrolled_hub,
         CASE WHEN active = 1 THEN NULL ELSE enrolled_at END FROM bands;
CREATE TABLE band_rekeys (
  id INTEGER PRIMARY KEY,
  band_id INTEGER NOT NULL REFERENCES bands(band_id),
  reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
  compromised INTEGER NOT NULL DEFAULT 0,
  authorized_by INTEGER REFERENCES users(id),
  authorized_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  enrolment_id INTEGER REFERENCES enrolments(id)
);
CREATE TABLE frames_v5 (
  id INTEGER PRIMARY KEY,
  band_id INTEGER NOT NULL,
  epoch INTEGER NOT NULL DEFAULT 0,
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
  UNIQUE (band_id, epoch, counter)
);
INSERT INTO frames_v5 (id, band_id, epoch, counter, type, band_time, flags, raw, fields,
  received_at, hub_id, hub_received_ms, rssi, hub_flags, hubs_heard)
  SELECT id, band_id, 0, counter, type, band_time, flags, raw, fields, received_at, hub_id,
         hub_received_ms, rssi, hub_flags, hubs_heard FROM frames;
DROP TABLE frames;
ALTER TABLE frames_v5 RENAME TO frames;
CREATE INDEX frames_band_time ON frames(band_id, received_at);
""",
    ),
    (
        6,
        "hub offline tracking; signed anchors of the audit chain",
        """
ALTER TABLE hubs ADD COLUMN offline_since INTEGER;
UPDATE hubs SET offline_since = last_seen WHERE online = 0 AND last_seen IS NOT NULL;
CREATE TABLE audit_anchors (
  id INTEGER PRIMARY KEY,
  seq INTEGER NOT NULL,
  head TEXT NOT NULL,
  at INTEGER NOT NULL,
  body TEXT NOT NULL,
  signature TEXT NOT NULL,
  key_id TEXT NOT NULL,
  requested_by TEXT NOT NULL DEFAULT 'system'
);
CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
""",
    ),
    (
        7,
        "the cloud's own replay window of 1,024 counters",
        """
ALTER TABLE bands ADD COLUMN seen_wide BLOB;
""",
    ),
    (
        8,
        "a hub event republished after a lost receipt is stored once",
        """
ALTER TABLE reports ADD COLUMN hub_seq INTEGER;
ALTER TABLE reports ADD COLUMN hub_time INTEGER;
CREATE UNIQUE INDEX reports_hub_event ON reports(hub_id, hub_seq, hub_time)
  WHERE hub_seq IS NOT NULL;
""",
    ),
]
