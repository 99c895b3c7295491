-- dnsfence schema, version 8: notification deliveries.
-- One row per notification a run (or `notify test`) sent to one configured entry, whether it
-- arrived or not: `status` shows the last one per entry, `report` the failed ones of its period.
-- The entry is named as configured (`notify[0] webhook (url_env HOOK_URL)`), never by its URL,
-- which carries the hook's token.
CREATE TABLE notifications (
  id      INTEGER PRIMARY KEY,
  -- the run that raised the events; NULL for `notify test`
  run_id  INTEGER,
  at      TEXT NOT NULL,
  entry   TEXT NOT NULL,
  -- the kinds of event it held (JSON array: change, failure, degraded, recovered, test)
  events  TEXT NOT NULL,
  -- delivered | failed
  outcome TEXT NOT NULL,
  tries   INTEGER NOT NULL,
  -- why the last try failed, in words (an HTTP status, "connection refused")
  detail  TEXT
);
CREATE INDEX notifications_by_entry ON notifications (entry, id);
CREATE INDEX notifications_by_time ON notifications (at);
