-- dnsfence schema, version 3: cheaper syncs.
-- Every sync moves last_seen forward for each address still answered; with last_seen in two
-- indexes, each of those updates rewrote two index entries as well as the row. Lookups by name
-- need only (name, family, address); pruning by last_seen scans a table that grows with DNS
-- changes, not with runs, and runs rarely.
DROP INDEX presence_by_name;
CREATE INDEX presence_by_name ON presence (name, family, address);
DROP INDEX presence_by_last_seen;
