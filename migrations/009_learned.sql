-- dnsfence schema, version 9: names learned from DNS traffic.
-- With `forward`, watch forwards its clients' DNS queries. A name whose answer matched an entry of
-- a list that does not name it (a wildcard *.zone, or a configured name in its CNAME chain) is
-- learned: it becomes a name of the list, re-resolved while within the list's retention of its
-- last query, then forgotten. One row per list and name; a list keeps at most forward.max_learned,
-- the least recently asked going first.
CREATE TABLE learned (
  list          TEXT NOT NULL,
  name          TEXT NOT NULL,
  -- the list entry that matched: *.avcloud.intra2net.com, or a configured name in the CNAME chain
  entry         TEXT NOT NULL,
  first_learned TEXT NOT NULL,
  -- the address of the client whose query taught it
  client        TEXT NOT NULL,
  last_queried  TEXT NOT NULL,
  last_client   TEXT NOT NULL,
  PRIMARY KEY (list, name)
) WITHOUT ROWID;
CREATE INDEX learned_by_name ON learned (name);
