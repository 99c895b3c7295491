-- dnsfence schema, version 10: an unchanged answer costs one write.
-- Until now every pass moved last_seen forward on the interval of each address still answered and
-- updated the name's lookup state as well: two writes (and more with more addresses) for an answer
-- that changed nothing. Now an interval whose address is in its name's latest successful answer is
-- open: its last_seen is NULL and it ends at the lookup's last_success. That answer (its addresses,
-- their TTLs, the resolver, the CNAME chain) is kept with the lookup, which every pass writes
-- anyway, so an unchanged answer updates that one row. When an address leaves the answer, its
-- interval is closed: last_seen, ttl, resolver and chain are filled in as they were when it was
-- last seen. Readers see every interval with its end through the view presence_intervals.

-- The latest successful answer of each name and family: its addresses sorted and space-separated
-- ('' for NXDOMAIN or NODATA, NULL when not known), their TTLs (a JSON object keyed by address),
-- and the resolver and CNAME chain (NULL without one) it came from.
ALTER TABLE lookups ADD COLUMN answer TEXT;
ALTER TABLE lookups ADD COLUMN answer_ttls TEXT;
ALTER TABLE lookups ADD COLUMN answer_resolver TEXT;
ALTER TABLE lookups ADD COLUMN answer_chain TEXT;

-- An interval is open when it ends at its lookup's last success: the latest successful answer gave
-- its address (this is how the recorder found the intervals to extend).
CREATE TEMP TABLE open_presence AS
  SELECT p.id, p.name, p.family, p.address, p.ttl, p.resolver, p.chain
  FROM presence p JOIN lookups l ON l.name = p.name AND l.family = p.family AND l.last_success = p.last_seen;

CREATE INDEX open_presence_by_id ON open_presence (id);
-- A successful answer that left no open interval was NXDOMAIN or NODATA: no addresses.
UPDATE lookups SET answer = '' WHERE last_success IS NOT NULL;
UPDATE lookups SET answer = o.answer, answer_ttls = o.ttls, answer_resolver = o.resolver, answer_chain = o.chain
FROM (
  -- The resolver and chain are those of the latest row (all of one answer share them).
  SELECT name, family, replace(group_concat(DISTINCT address ORDER BY address), ',', ' ') AS answer,
    json_group_object(address, ttl) AS ttls, resolver, chain, max(id)
  FROM open_presence GROUP BY name, family
) AS o
WHERE o.name = lookups.name AND o.family = lookups.family;

-- last_seen, ttl and resolver may now be NULL (open intervals), which needs a new table.
CREATE TABLE presence_closing (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  family     TEXT NOT NULL,
  address    TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  -- NULL while the interval is open; then ttl, resolver and chain are the lookup's answer_*
  last_seen  TEXT,
  ttl        INTEGER,
  resolver   TEXT,
  chain      TEXT
);
INSERT INTO presence_closing (id, name, family, address, first_seen, last_seen, ttl, resolver, chain)
  SELECT p.id, p.name, p.family, p.address, p.first_seen,
    CASE WHEN o.id IS NULL THEN p.last_seen END,
    CASE WHEN o.id IS NULL THEN p.ttl END,
    CASE WHEN o.id IS NULL THEN p.resolver END,
    CASE WHEN o.id IS NULL THEN p.chain END
  FROM presence p LEFT JOIN open_presence o ON o.id = p.id;
DROP TABLE open_presence;
DROP TABLE presence;
ALTER TABLE presence_closing RENAME TO presence;
CREATE INDEX presence_by_name ON presence (name, family, address);
CREATE INDEX presence_by_address ON presence (address);
-- Closed intervals by their end: the desired sets read those within retention (few: they are the
-- DNS changes of that period), pruning those before its cutoff. Open ones are not in it, and a
-- pass that changes nothing touches it not at all.
CREATE INDEX presence_closed ON presence (last_seen) WHERE last_seen IS NOT NULL;

-- Every interval with its end, as the history, the report and the desired sets read them.
CREATE VIEW presence_intervals AS
  SELECT p.id, p.name, p.family, p.address, p.first_seen,
    coalesce(p.last_seen, l.last_success) AS last_seen,
    coalesce(p.ttl, json_extract(l.answer_ttls, '$."' || p.address || '"')) AS ttl,
    CASE WHEN p.last_seen IS NULL THEN l.answer_resolver ELSE p.resolver END AS resolver,
    CASE WHEN p.last_seen IS NULL THEN l.answer_chain ELSE p.chain END AS chain
  FROM presence p LEFT JOIN lookups l ON p.last_seen IS NULL AND l.name = p.name AND l.family = p.family;
