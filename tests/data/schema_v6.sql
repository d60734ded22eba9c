-- index alerts_fold on alerts
CREATE UNIQUE INDEX alerts_fold ON alerts(fold_key) WHERE status != 'resolved';
-- index alerts_status on alerts
CREATE INDEX alerts_status ON alerts(status, priority, raised_at);
-- index arrest_requests_case on arrest_requests
CREATE INDEX arrest_requests_case ON arrest_requests(case_id);
-- index case_events_case on case_events
CREATE INDEX case_events_case ON case_events(case_id, at);
-- index cases_office on cases
CREATE INDEX cases_office ON cases(office_id, stage);
-- index checkins_case on checkins
CREATE INDEX checkins_case ON checkins(case_id, at);
-- index deadlines_open on deadlines
CREATE INDEX deadlines_open ON deadlines(due_on) WHERE done_at IS NULL;
-- index frames_band_time on frames
CREATE INDEX frames_band_time ON frames(band_id, received_at);
-- index presence_band on presence
CREATE INDEX presence_band ON presence(band_id, last_seen);
-- index reports_band on reports
CREATE INDEX reports_band ON reports(band_id, at);
-- index residence_changes_case on residence_changes
CREATE INDEX residence_changes_case ON residence_changes(case_id);
-- table _migrations on _migrations
CREATE TABLE _migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);
-- table alert_suspensions on alert_suspensions
CREATE TABLE alert_suspensions (
  id INTEGER PRIMARY KEY,
  person_id INTEGER NOT NULL REFERENCES persons(id),
  kind TEXT NOT NULL,
  reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
  by_user INTEGER NOT NULL REFERENCES users(id),
  from_at INTEGER NOT NULL,
  until_at INTEGER NOT NULL
);
-- table alerts on alerts
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
-- table arrest_requests on arrest_requests
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
-- table assessment_visits on assessment_visits
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
-- table assessments on assessments
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
-- table audit on audit
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
-- table audit_anchors on audit_anchors
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
-- table band_keys on band_keys
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
-- table band_rekeys on band_rekeys
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
-- table bands on bands
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
, epoch INTEGER NOT NULL DEFAULT 0);
-- table case_events on case_events
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
-- table cases on cases
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
-- table checkins on checkins
CREATE TABLE checkins (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  at INTEGER NOT NULL,
  method TEXT NOT NULL CHECK (method IN ('office', 'visit', 'phone', 'kiosk', 'video')),
  place TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  staff_id INTEGER REFERENCES users(id)
);
-- table correction_notices on correction_notices
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
-- table deadlines on deadlines
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
, party TEXT NOT NULL DEFAULT 'bureau'
  CHECK (party IN ('bureau', 'authority')), met_on TEXT, due_at INTEGER, source TEXT);
-- table dispatches on dispatches
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
-- table downlinks on downlinks
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
-- table enrolments on enrolments
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
-- table frames on frames
CREATE TABLE "frames" (
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
-- table hubs on hubs
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
, offline_since INTEGER);
-- table leave_requests on leave_requests
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
, returned_on TEXT, late_days INTEGER NOT NULL DEFAULT 0, return_note TEXT);
-- table meta on meta
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- table notices on notices
CREATE TABLE notices (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  recipient_kind TEXT NOT NULL,
  recipient TEXT NOT NULL,
  kind TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  content TEXT NOT NULL DEFAULT '{}'
);
-- table persons on persons
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
-- table positioning_orders on positioning_orders
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
-- table presence on presence
CREATE TABLE presence (
  id INTEGER PRIMARY KEY,
  band_id INTEGER NOT NULL,
  hub_id INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  rssi INTEGER,
  received_at INTEGER NOT NULL
);
-- table reports on reports
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
-- table residence_changes on residence_changes
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
-- table sanctions on sanctions
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
, ruling_no TEXT, ruled_on TEXT);
-- table sessions on sessions
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
);
-- table units on units
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
-- table users on users
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
  created_at INTEGER NOT NULL, must_change_password INTEGER NOT NULL DEFAULT 0, disabled_reason TEXT,
  CHECK (role = 'admin' OR unit_id IS NOT NULL),
  CHECK ((role = 'person') = (person_id IS NOT NULL))
);
-- trigger audit_anchors_no_delete on audit_anchors
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
-- trigger audit_anchors_no_update on audit_anchors
CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
-- trigger audit_no_delete on audit
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
-- trigger audit_no_update on audit
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
