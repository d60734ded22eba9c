"""The hub database's schema: migrations applied in order by Outbox (hub/outbox.py)."""

# Each entry moves the schema one version up; applied in order, recorded in user_version.
MIGRATIONS = (
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('frame', 'event')),
        priority INTEGER NOT NULL,
        band_id INTEGER,
        counter INTEGER,
        frame_type INTEGER,
        payload BLOB NOT NULL,
        received_at_ms INTEGER NOT NULL,
        rssi INTEGER NOT NULL DEFAULT 0,
        flags INTEGER NOT NULL DEFAULT 0,
        held INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX outbox_band_counter ON outbox (band_id, counter) WHERE kind = 'frame';
    CREATE INDEX outbox_order ON outbox (priority, id);
    CREATE TABLE band_window (band_id INTEGER PRIMARY KEY, hi INTEGER NOT NULL, seen BLOB NOT NULL);
    CREATE TABLE downlink (
        id INTEGER PRIMARY KEY,
        band_id INTEGER NOT NULL,
        payload BLOB NOT NULL,
        received_at REAL NOT NULL,
        UNIQUE (band_id, payload)
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE stat (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    """,
    # Receipts (docs/hub.md "Outbox states"): published_at is set on the broker's PUBACK (the
    # pump's clock), cleared to publish again; the entry goes only on the cloud's receipt. An
    # event's counter is the seq the cloud echoes in its receipt (given to waiting events
    # here). Ids are never reused (AUTOINCREMENT): a receipt can delete an entry whose PUBACK
    # is still due, and that late PUBACK must not mark a newer entry that took its id.
    # outbox_waiting: the pump looks for waiting entries many times a second; without it each
    # look stepped over every published entry awaiting its receipt. outbox_published: the
    # receipt timeout looks for old ones every 5 s; without it, a scan of the whole outbox.
    """
    CREATE TABLE outbox_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('frame', 'event')),
        priority INTEGER NOT NULL,
        band_id INTEGER,
        counter INTEGER,
        frame_type INTEGER,
        payload BLOB NOT NULL,
        received_at_ms INTEGER NOT NULL,
        rssi INTEGER NOT NULL DEFAULT 0,
        flags INTEGER NOT NULL DEFAULT 0,
        held INTEGER NOT NULL DEFAULT 0,
        published_at REAL
    );
    INSERT INTO outbox_new (id, kind, priority, band_id, counter, frame_type, payload,
        received_at_ms, rssi, flags, held)
        SELECT id, kind, priority, band_id, counter, frame_type, payload, received_at_ms, rssi,
        flags, held FROM outbox;
    UPDATE outbox_new SET counter = id,
        payload = CAST(json_set(CAST(payload AS TEXT), '$.seq', id) AS BLOB)
        WHERE kind = 'event';
    INSERT INTO stat (name, value) SELECT 'event_seq', coalesce(max(id), 0) FROM outbox_new
        WHERE kind = 'event';
    DROP TABLE outbox;
    ALTER TABLE outbox_new RENAME TO outbox;
    CREATE UNIQUE INDEX outbox_band_counter ON outbox (band_id, counter) WHERE kind = 'frame';
    CREATE INDEX outbox_order ON outbox (priority, id);
    CREATE INDEX outbox_event_seq ON outbox (counter) WHERE kind = 'event';
    CREATE INDEX outbox_waiting ON outbox (priority, id) WHERE published_at IS NULL;
    CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
    """,
)
