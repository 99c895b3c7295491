-- dnsfence schema, version 6: where each list lives on each target, and what was left behind.
-- A list's place on a target (an nft table and its sets, a folder's file, a router's list, an
-- alias) and the list's settings as last applied. When the configuration moves a list (another
-- table or folder, a renamed target or list) or changes what it must hold (retention, names,
-- static entries), the entries that come and go because of it are audited with reason `config`,
-- not as DNS changes or drift.
CREATE TABLE placements (
  target   TEXT NOT NULL,
  list     TEXT NOT NULL,
  type     TEXT NOT NULL,
  -- identity of the place, compared from one sync to the next
  location TEXT NOT NULL,
  -- the place in words, and the command that removes it, for warnings and status
  place    TEXT NOT NULL,
  removal  TEXT NOT NULL,
  -- what the target's type needs to look whether the place is still there (JSON), if it can
  probe    TEXT,
  -- the list's settings (canonical JSON) the last successful push applied; NULL before one
  settings TEXT,
  since    TEXT NOT NULL,
  PRIMARY KEY (target, list)
) WITHOUT ROWID;

-- Places dnsfence filled that the configuration no longer names: shown by sync and status with
-- the command that removes them, until they are gone or used again.
CREATE TABLE leftovers (
  id        INTEGER PRIMARY KEY,
  target    TEXT NOT NULL,
  -- the target's type, whose adapter can look whether it is still there
  type      TEXT NOT NULL,
  probe     TEXT,
  list      TEXT NOT NULL,
  location  TEXT NOT NULL,
  place     TEXT NOT NULL,
  removal   TEXT NOT NULL,
  -- the addresses dnsfence had placed there (JSON array)
  addresses TEXT NOT NULL,
  since     TEXT NOT NULL
);
