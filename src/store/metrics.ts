import { stmt, type Db } from './db.js';

/** What the Prometheus metrics count, read from the database. */
export interface MetricCounts {
  /** Last successful push (or check with nothing to do) per target. */
  lastSuccess: { target: string; at: string }[];
  /** Addresses dnsfence keeps per target list. */
  listAddresses: { target: string; list: string; n: number }[];
  /** Audit entries per target and action. */
  changes: { target: string; action: string; n: number }[];
  /** Pushes that failed (or were partial) per target. */
  targetFailures: { target: string; n: number }[];
  /** Failed lookups per name. */
  lookupFailures: { name: string; n: number }[];
  /** Per name and family, 1 while its latest lookup failed. */
  failing: { name: string; family: string; f: number }[];
}

export function metricCounts(db: Db): MetricCounts {
  const all = <T>(sql: string) => stmt(db, sql).all() as T[];
  return {
    lastSuccess: all(
      "SELECT target, max(at) AS at FROM pushes WHERE outcome IN ('ok', 'unchanged') GROUP BY target ORDER BY target",
    ),
    listAddresses: all(
      'SELECT target, list, count(*) AS n FROM applied GROUP BY target, list ORDER BY target, list',
    ),
    changes: all(
      'SELECT target, action, count(*) AS n FROM audit GROUP BY target, action ORDER BY target, action',
    ),
    targetFailures: all(
      "SELECT target, count(*) AS n FROM pushes WHERE outcome IN ('failed', 'partial') GROUP BY target ORDER BY target",
    ),
    lookupFailures: all('SELECT name, sum(count) AS n FROM failures GROUP BY name ORDER BY name'),
    failing: all('SELECT name, family, failing_since IS NOT NULL AS f FROM lookups ORDER BY name, family'),
  };
}
