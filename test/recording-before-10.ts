import { isSuccess, type LookupResult } from '../src/resolver/types.js';
import type { Db } from '../src/store/db.js';

/**
 * How lookups were recorded before migration 10, statement for statement: every address of a
 * successful answer extends the interval that ends at its lookup's last success (last_seen moves
 * on) or opens one; failures and negative answers keep intervals of their own. The tests record
 * the same passes this way into a database of the schema before migration 10 and the current way
 * into one of the current schema, and compare what readers see.
 */
export function recordBefore10(db: Db, results: readonly LookupResult[], at: Date): void {
  const now = at.toISOString();
  const extend = db.prepare(
    `UPDATE presence SET last_seen = ?, ttl = ?, resolver = ?, chain = ?
     WHERE name = ? AND family = ? AND address = ?
       AND last_seen = (SELECT last_success FROM lookups WHERE name = ? AND family = ?)`,
  );
  const open = db.prepare(
    `INSERT INTO presence (name, family, address, first_seen, last_seen, ttl, resolver, chain)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const lastAttempt = db.prepare('SELECT last_attempt FROM lookups WHERE name = ? AND family = ?');
  const upsert = db.prepare(
    `INSERT INTO lookups (name, family, last_attempt, last_success, outcome, detail, failing_since, ttl, resolver, chain)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (name, family) DO UPDATE SET last_attempt = excluded.last_attempt,
       last_success = coalesce(excluded.last_success, last_success), outcome = excluded.outcome,
       detail = excluded.detail,
       failing_since = CASE WHEN excluded.last_success IS NULL THEN coalesce(failing_since, excluded.last_attempt) END,
       ttl = coalesce(excluded.ttl, ttl), resolver = excluded.resolver, chain = coalesce(excluded.chain, chain)`,
  );
  for (const result of results) {
    const chain = result.chain.length > 1 ? result.chain.join(' > ') : null;
    const detail = result.detail ?? null;
    const success = isSuccess(result.outcome);
    if (success)
      for (const a of result.addresses) {
        const extended = extend.run(
          now,
          a.ttl,
          result.resolver,
          chain,
          result.name,
          result.family,
          a.address,
          result.name,
          result.family,
        ).changes;
        if (extended === 0)
          open.run(result.name, result.family, a.address, now, now, a.ttl, result.resolver, chain);
      }
    const negative = result.outcome === 'nxdomain' || result.outcome === 'nodata';
    const table = success ? (negative ? 'negative_answers' : undefined) : 'failures';
    if (table) {
      const prev = lastAttempt.get(result.name, result.family) as { last_attempt: string } | undefined;
      const last = db
        .prepare(
          `SELECT id, outcome, last_at FROM ${table} WHERE name = ? AND family = ? ORDER BY id DESC LIMIT 1`,
        )
        .get(result.name, result.family) as { id: number; outcome: string; last_at: string } | undefined;
      if (prev && last && last.outcome === result.outcome && last.last_at === prev.last_attempt)
        db.prepare(`UPDATE ${table} SET last_at = ?, count = count + 1, detail = ? WHERE id = ?`).run(
          now,
          detail,
          last.id,
        );
      else
        db.prepare(
          `INSERT INTO ${table} (name, family, outcome, detail, first_at, last_at, count) VALUES (?, ?, ?, ?, ?, ?, 1)`,
        ).run(result.name, result.family, result.outcome, detail, now, now);
    }
    upsert.run(
      result.name,
      result.family,
      now,
      success ? now : null,
      result.outcome,
      detail,
      success ? null : now,
      result.ttl ?? null,
      result.resolver,
      chain,
    );
  }
}
