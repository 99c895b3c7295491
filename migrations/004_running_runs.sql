-- dnsfence schema, version 4: a sync's start does not grow with history.
-- Each sync first marks runs left `running` by a killed process as interrupted. Without an index
-- that scanned every run ever made: 105,120 a year at 5-minute syncs, most of a 100-name sync's
-- time by the end of the year (docs/benchmarks.md, section 5). A partial index holds only the
-- runs still marked running: none or one.
CREATE INDEX runs_running ON runs (outcome) WHERE outcome = 'running';
