import type { Change } from '../model/change.js';
import { sha256Hex } from '../sha256.js';
import { stmt, type Db } from './db.js';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  seq: number;
  at: string;
  run_id: number;
  target: string;
  list: string;
  action: 'added' | 'removed';
  address: string;
  /** Comma-separated DNS names (or `static`). */
  names: string;
  reason: string;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

type Content = Omit<AuditEntry, 'prev_hash' | 'hash'>;

/** The fields an entry's hash covers, in the sorted order of their canonical JSON. */
const HASHED = [
  'action',
  'address',
  'at',
  'detail',
  'list',
  'names',
  'reason',
  'run_id',
  'seq',
  'target',
] as const;

/**
 * SHA-256 over the previous entry's hash and this entry's canonical content: the JSON object of
 * the HASHED fields with sorted keys, as stableJson writes it (a field that is undefined is left
 * out). Written out here rather than through stableJson: a first sync appends thousands.
 */
export function entryHash(prevHash: string, content: Content): string {
  let canonical = '';
  for (const key of HASHED) {
    const value = content[key];
    if (value === undefined) continue;
    canonical += `${canonical ? ',' : '{'}"${key}":${JSON.stringify(value)}`;
  }
  return sha256Hex(`${prevHash}\n${canonical || '{'}}`);
}

/**
 * Appends changes to the audit log and keeps the `applied` table (what each target list holds)
 * in step, in the caller's transaction.
 */
export function appendAudit(db: Db, runId: number, at: Date, changes: Change[]): AuditEntry[] {
  const head = stmt(db, 'SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as
    { seq: number; hash: string } | undefined;
  let prev = head?.hash ?? GENESIS_HASH;
  let seq = head?.seq ?? 0;
  const insert = stmt(
    db,
    `INSERT INTO audit (seq, at, run_id, target, list, action, address, names, reason, detail, prev_hash, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const when = at.toISOString();
  const upsert = stmt(
    db,
    `INSERT INTO applied (target, list, address, names, since) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (target, list, address) DO UPDATE SET names = excluded.names`,
  );
  const remove = stmt(db, 'DELETE FROM applied WHERE target = ? AND list = ? AND address = ?');
  const entries: AuditEntry[] = [];
  for (const c of changes) {
    seq += 1;
    const content: Content = {
      seq,
      at: when,
      run_id: runId,
      target: c.target,
      list: c.list,
      action: c.action,
      address: c.address,
      names: c.names.join(','),
      reason: c.reason,
      detail: c.detail ?? null,
    };
    const hash = entryHash(prev, content);
    const entry: AuditEntry = { ...content, prev_hash: prev, hash };
    insert.run(
      seq,
      when,
      runId,
      c.target,
      c.list,
      c.action,
      c.address,
      content.names,
      c.reason,
      content.detail,
      prev,
      hash,
    );
    if (c.action === 'added') upsert.run(c.target, c.list, c.address, entry.names, entry.at);
    else remove.run(c.target, c.list, c.address);
    entries.push(entry);
    prev = hash;
  }
  return entries;
}

export interface AuditVerdict {
  ok: boolean;
  entries: number;
  head: string;
  /** The first entry whose content or link does not match, with what is wrong. */
  firstBad?: { seq: number; problem: string };
}

/** Recomputes the whole chain. Streams rows, so memory stays flat on large logs. */
export function verifyAudit(db: Db): AuditVerdict {
  // After `db prune`, the chain starts at the latest checkpoint: the hash of the last entry cut.
  const checkpoint = db
    .prepare(
      'SELECT pruned_through_seq AS seq, head_hash AS hash FROM audit_checkpoints ORDER BY id DESC LIMIT 1',
    )
    .get() as { seq: number; hash: string } | undefined;
  let prev = checkpoint?.hash ?? GENESIS_HASH;
  let expectedSeq: number | undefined = checkpoint ? checkpoint.seq + 1 : undefined;
  let count = 0;
  for (const row of db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<AuditEntry>) {
    count += 1;
    if (expectedSeq !== undefined && row.seq !== expectedSeq) {
      return {
        ok: false,
        entries: count,
        head: prev,
        firstBad: { seq: row.seq, problem: `entry ${expectedSeq} is missing` },
      };
    }
    if (row.prev_hash !== prev) {
      return {
        ok: false,
        entries: count,
        head: prev,
        firstBad: { seq: row.seq, problem: 'does not link to the entry before it' },
      };
    }
    const hash = entryHash(prev, row);
    if (hash !== row.hash) {
      return {
        ok: false,
        entries: count,
        head: prev,
        firstBad: { seq: row.seq, problem: 'content does not match its hash (altered)' },
      };
    }
    prev = hash;
    expectedSeq = row.seq + 1;
  }
  return { ok: true, entries: count, head: prev };
}
