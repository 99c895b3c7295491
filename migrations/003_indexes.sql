-- dnsfence schema, version 3: cheaper syncs and a fast status.
-- Every sync moves last_seen forward for each address still answered; with last_seen in two
-- indexes, each of those updates rewrote two index entries as well as the row. Lookups by name
-- need only (name, family, address); pruning by last_seen scans a table that grows with DNS
-- changes, not with runs, and runs rarely.
DROP INDEX IF EXISTS presence_by_name;
CREATE INDEX presence_by_name ON presence (name, family, address);
DROP INDEX IF EXISTS presence_by_last_seen;

-- `status` looks up the latest push per target; without this it scanned and sorted every push
-- ever made (one per target and run: 105,120 a year at 5-minute syncs).
-- Run ids grow with time, so the latest push of a target is its highest run id; indexing the id
-- rather than the timestamp text keeps the index small (the database must stay lean over years).
CREATE INDEX pushes_by_target ON pushes (target, run_id);
