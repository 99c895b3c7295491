-- dnsfence schema, version 5: negative answers are recorded.
-- NXDOMAIN and NODATA are answers, not failures (a run they end is not degraded), but a misspelt
-- or vanished name answers nothing else: without a record of them, `history` and `report` could
-- not tell it from a name never asked for. One row per uninterrupted run of the same negative
-- answer for a name and family, like `failures`: the table grows with changes, not with runs.
CREATE TABLE negative_answers (
  id       INTEGER PRIMARY KEY,
  name     TEXT NOT NULL,
  family   TEXT NOT NULL,
  -- nxdomain | nodata
  outcome  TEXT NOT NULL,
  detail   TEXT,
  first_at TEXT NOT NULL,
  last_at  TEXT NOT NULL,
  count    INTEGER NOT NULL
);
CREATE INDEX negative_answers_by_name ON negative_answers (name, family, last_at);
