"""Migration 1, the first schema of casework: units, people, cases and the legal process."""

from __future__ import annotations

# Shipped: never edit (cloud/store/migrations.py keeps the ordered registry).
CASEWORK: tuple[int, str, str] = (
    1,
    "units, people, cases and the legal process",
    """
CREATE TABLE units (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN
    ('county', 'office', 'village', 'procuratorate', 'police', 'court', 'other')),
  name TEXT NOT NULL,
  parent_id INTEGER REFERENCES units(id),
  code TEXT,
  lat REAL,
  lon REAL
);
CREATE TABLE persons (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  id_number TEXT NOT NULL UNIQUE,
  gender TEXT NOT NULL CHECK (gender IN ('male', 'female', 'other')),
  birth_date TEXT,
  phone TEXT,
  address TEXT,
  village_id INTEGER NOT NULL REFERENCES units(id),
  office_id INTEGER NOT NULL REFERENCES units(id),
  created_at INTEGER NOT NULL
);
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN
    ('person', 'village', 'office', 'county_head', 'procuratorate', 'admin')),
  unit_id INTEGER REFERENCES units(id),
  person_id INTEGER REFERENCES persons(id),
  password_hash TEXT NOT NULL,
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  CHECK (role = 'admin' OR unit_id IS NOT NULL),
  CHECK ((role = 'person') = (person_id IS NOT NULL))
);
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
);
CREATE TABLE cases (
  id INTEGER PRIMARY KEY,
  person_id INTEGER NOT NULL REFERENCES persons(id),
  case_type TEXT NOT NULL CHECK (case_type IN ('control', 'probation', 'parole', 'medical_parole')),
  authority_kind TEXT NOT NULL,
  authority_name TEXT NOT NULL,
  judgment_no TEXT NOT NULL,
  effective_on TEXT NOT NULL,
  term_start TEXT NOT NULL,
  term_end TEXT NOT NULL,
  stage TEXT NOT NULL,
  class_level TEXT,
  plan TEXT,
  office_id INTEGER NOT NULL REFERENCES units(id),
  village_id INTEGER NOT NULL REFERENCES units(id),
  opened_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  supervision_started_at INTEGER,
  closed_at INTEGER,
  missing_since INTEGER,
  extra TEXT NOT NULL DEFAULT '{}',
  CHECK (term_end > term_start)
);
CREATE INDEX cases_office ON cases(office_id, stage);
CREATE TABLE case_events (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  at INTEGER NOT NULL,
  action TEXT NOT NULL,
  from_stage TEXT,
  to_stage TEXT,
  actor_id INTEGER,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case ON case_events(case_id, at);
CREATE TABLE assessments (
  id INTEGER PRIMARY KEY,
  requester_kind TEXT NOT NULL
    CHECK (requester_kind IN ('court', 'procuratorate', 'police', 'prison')),
  requester_name TEXT NOT NULL,
  request_no TEXT NOT NULL,
  received_on TEXT NOT NULL,
  fast_track INTEGER NOT NULL DEFAULT 0,
  office_id INTEGER NOT NULL REFERENCES units(id),
  subject_name TEXT NOT NULL,
  subject_id_number TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'returned', 'withdrawn')),
  opinion TEXT,
  recommendation TEXT,
  signed_by INTEGER REFERENCES users(id),
  returned_on TEXT,
  created_at INTEGER NOT NULL
);
CREATE TABLE assessment_visits (
  id INTEGER PRIMARY KEY,
  assessment_id INTEGER NOT NULL REFERENCES assessments(id),
  visited_on TEXT NOT NULL,
  place TEXT NOT NULL,
  notes TEXT NOT NULL,
  photos TEXT NOT NULL DEFAULT '[]',
  signatures TEXT NOT NULL DEFAULT '[]',
  staff_id INTEGER REFERENCES users(id)
);
CREATE TABLE deadlines (
  id INTEGER PRIMARY KEY,
  case_id INTEGER REFERENCES cases(id),
  assessment_id INTEGER REFERENCES assessments(id),
  unit_id INTEGER NOT NULL REFERENCES units(id),
  kind TEXT NOT NULL,
  due_on TEXT NOT NULL,
  basis TEXT NOT NULL,
  provisional INTEGER NOT NULL DEFAULT 0,
  done_at INTEGER,
  alerted_at INTEGER
);
CREATE INDEX deadlines_open ON deadlines(due_on) WHERE done_at IS NULL;
CREATE TABLE checkins (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  at INTEGER NOT NULL,
  method TEXT NOT NULL CHECK (method IN ('office', 'visit', 'phone', 'kiosk', 'video')),
  place TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  staff_id INTEGER REFERENCES users(id)
);
CREATE INDEX checkins_case ON checkins(case_id, at);
CREATE TABLE leave_requests (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  starts_on TEXT NOT NULL,
  ends_on TEXT NOT NULL,
  days INTEGER NOT NULL,
  destination TEXT NOT NULL,
  reason TEXT NOT NULL,
  tier TEXT NOT NULL CHECK (tier IN ('office', 'county', 'superior')),
  notify_procuratorate INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'requested'
    CHECK (status IN ('requested', 'approved', 'refused', 'returned', 'cancelled')),
  decided_by INTEGER REFERENCES users(id),
  decided_at INTEGER,
  decision_note TEXT,
  returned_at INTEGER,
  created_by INTEGER REFERENCES users(id),
  created_at INTEGER NOT NULL
);
CREATE TABLE sanctions (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  kind TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('proposed', 'decided', 'refused', 'sent', 'ruled')),
  reason TEXT NOT NULL,
  evidence TEXT NOT NULL DEFAULT '[]',
  proposed_by INTEGER REFERENCES users(id),
  proposed_at INTEGER NOT NULL,
  decided_by INTEGER REFERENCES users(id),
  decided_at INTEGER,
  outcome TEXT,
  due_on TEXT,
  corrected INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE positioning_orders (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  ground INTEGER NOT NULL CHECK (ground BETWEEN 1 AND 5),
  reason TEXT NOT NULL,
  assessment TEXT NOT NULL DEFAULT '',
  starts_on TEXT NOT NULL,
  ends_on TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'requested'
    CHECK (status IN ('requested', 'approved', 'refused', 'ended', 'expired')),
  renewal_of INTEGER REFERENCES positioning_orders(id),
  requested_by INTEGER REFERENCES users(id),
  requested_at INTEGER NOT NULL,
  approved_by INTEGER REFERENCES users(id),
  approved_at INTEGER,
  ended_by INTEGER REFERENCES users(id),
  ended_at INTEGER,
  end_reason TEXT
);
CREATE TABLE notices (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  recipient_kind TEXT NOT NULL,
  recipient TEXT NOT NULL,
  kind TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  content TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE correction_notices (
  id INTEGER PRIMARY KEY,
  county_id INTEGER NOT NULL REFERENCES units(id),
  case_id INTEGER REFERENCES cases(id),
  filed_by INTEGER NOT NULL REFERENCES users(id),
  filed_at INTEGER NOT NULL,
  text TEXT NOT NULL,
  due_on TEXT NOT NULL,
  response TEXT,
  adopted INTEGER,
  responded_by INTEGER REFERENCES users(id),
  responded_at INTEGER
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""",
)
