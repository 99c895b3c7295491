-- dnsfence schema, version 7: feeds that firewalls poll, and who fetched them.
-- A target of type `feed` publishes each of its lists as a file that `dnsfence serve` answers
-- (/feeds/<target>/<list>.txt). Its push stores the file's content here, in one transaction, and the
-- audit log records each address that entered or left it, as for every target. `serve` reads this
-- table and never writes it.
CREATE TABLE feed_content (
  target       TEXT NOT NULL,
  -- the list's name on the target: the name in the URL
  list         TEXT NOT NULL,
  -- the body of <list>.txt: one address or prefix a line, IPv4 then IPv6, each sorted
  addresses    TEXT NOT NULL,
  -- when the push that made this content stored it: the feed's Last-Modified
  published_at TEXT NOT NULL,
  PRIMARY KEY (target, list)
) WITHOUT ROWID;

-- Every request for a feed file that `serve` answered, so that an auditor sees which version
-- (ETag) each polling firewall holds and notices one that stopped polling. Written by `serve` in
-- short batches; pruned by `db prune` like the rest of the history.
CREATE TABLE feed_fetches (
  id     INTEGER PRIMARY KEY,
  at     TEXT NOT NULL,
  -- the client's address as the connection came from it
  client TEXT NOT NULL,
  -- the user of the users file it authenticated as; NULL without authentication
  user   TEXT,
  target TEXT NOT NULL,
  -- the configured list; NULL when the path named none
  list   TEXT,
  -- the file asked for: <list>.txt, <list>.v4.txt or <list>.v6.txt
  file   TEXT NOT NULL,
  -- the ETag of what it was sent, or told it still holds (304); NULL when it got no list
  etag   TEXT,
  status INTEGER NOT NULL
);
CREATE INDEX feed_fetches_by_at ON feed_fetches (at);
CREATE INDEX feed_fetches_by_consumer ON feed_fetches (target, file, client, user, at);
