-- dnsfence schema, version 2: pruning the audit log keeps it verifiable.
-- When `db prune` cuts the oldest audit entries, one checkpoint row records the last entry cut and
-- its hash; verification of the remaining chain starts from there.
CREATE TABLE audit_checkpoints (
  id                 INTEGER PRIMARY KEY,
  at                 TEXT NOT NULL,
  pruned_through_seq INTEGER NOT NULL,
  head_hash          TEXT NOT NULL,
  pruned_entries     INTEGER NOT NULL,
  older_than         TEXT NOT NULL
);
