-- dnsfence schema, version 1.
-- Times are UTC ISO 8601 strings (2026-11-28T05:00:00.000Z): they sort as text and read well in sqlite3.

-- One row per command run that writes (sync, and later watch).
CREATE TABLE runs (
  id          INTEGER PRIMARY KEY,
  command     TEXT NOT NULL,
  started_at  TEXT NOT NULL,
  finished_at TEXT,
  -- running | ok | degraded | failed | interrupted
  outcome     TEXT NOT NULL,
  exit_code   INTEGER,
  config_hash TEXT NOT NULL,
  pid         INTEGER NOT NULL,
  summary     TEXT
);

-- The latest state of each (name, family) lookup; one row per name, updated in place.
CREATE TABLE lookups (
  name          TEXT NOT NULL,
  family        TEXT NOT NULL,
  last_attempt  TEXT NOT NULL,
  last_success  TEXT,
  outcome       TEXT NOT NULL,
  detail        TEXT,
  failing_since TEXT,
  ttl           INTEGER,
  resolver      TEXT,
  chain         TEXT,
  PRIMARY KEY (name, family)
) WITHOUT ROWID;

-- Presence intervals: an address answered for a name without interruption from first_seen to
-- last_seen. A new row starts only when an address (re)appears, so the table grows with DNS
-- changes, not with the number of runs.
CREATE TABLE presence (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  family     TEXT NOT NULL,
  address    TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen  TEXT NOT NULL,
  ttl        INTEGER NOT NULL,
  resolver   TEXT NOT NULL,
  chain      TEXT
);
CREATE INDEX presence_by_name ON presence (name, family, address, last_seen);
CREATE INDEX presence_by_address ON presence (address);
CREATE INDEX presence_by_last_seen ON presence (last_seen);

-- Failure intervals per name and family, for status, history and the report.
CREATE TABLE failures (
  id       INTEGER PRIMARY KEY,
  name     TEXT NOT NULL,
  family   TEXT NOT NULL,
  outcome  TEXT NOT NULL,
  detail   TEXT,
  first_at TEXT NOT NULL,
  last_at  TEXT NOT NULL,
  count    INTEGER NOT NULL
);
CREATE INDEX failures_by_name ON failures (name, family, last_at);

-- What dnsfence knows to be on each target list: the running sum of the audit log.
CREATE TABLE applied (
  target  TEXT NOT NULL,
  list    TEXT NOT NULL,
  address TEXT NOT NULL,
  names   TEXT NOT NULL,
  since   TEXT NOT NULL,
  PRIMARY KEY (target, list, address)
) WITHOUT ROWID;

-- The outcome of each push to each target.
CREATE TABLE pushes (
  run_id  INTEGER NOT NULL REFERENCES runs (id),
  target  TEXT NOT NULL,
  at      TEXT NOT NULL,
  -- ok | unchanged | failed | held | dry-run
  outcome TEXT NOT NULL,
  added   INTEGER NOT NULL,
  removed INTEGER NOT NULL,
  detail  TEXT,
  PRIMARY KEY (run_id, target)
);

-- Append-only, hash-chained audit log: one row per address that entered or left a list on a target.
CREATE TABLE audit (
  seq       INTEGER PRIMARY KEY,
  at        TEXT NOT NULL,
  run_id    INTEGER NOT NULL,
  target    TEXT NOT NULL,
  list      TEXT NOT NULL,
  action    TEXT NOT NULL CHECK (action IN ('added', 'removed')),
  address   TEXT NOT NULL,
  names     TEXT NOT NULL,
  reason    TEXT NOT NULL,
  detail    TEXT,
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL
);
CREATE INDEX audit_by_at ON audit (at);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
  SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
  SELECT RAISE(ABORT, 'the audit log is append-only');
END;
