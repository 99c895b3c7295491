import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { secretScan } from '../helpers.js';

/** The full campaign (`npm run test:faults`) repeats more; `npm test` runs a short form. */
export const FULL = process.env.DNSFENCE_FAULTS === 'full';
export const repeat = (full: number, short: number) => (FULL ? full : short);

export interface CaseResult {
  group: string;
  name: string;
  runs: number;
  outcome: string;
  /** Addresses a list lost that it should hold, or gained that it should not: must be 0. */
  lost: number;
}

/** Results go to DNSFENCE_FAULTS_REPORT (JSON lines) when set, for docs/reliability.md. */
export function record(result: CaseResult): void {
  const path = process.env.DNSFENCE_FAULTS_REPORT;
  if (path) appendFileSync(path, `${JSON.stringify(result)}\n`);
}

/** Every line of a list file, as a set. */
export function listSet(path: string): Set<string> {
  return new Set(existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);
}

/** Addresses in one set and not the other, both ways. */
export function difference(actual: Set<string>, expected: Set<string>): number {
  let n = 0;
  for (const a of actual) if (!expected.has(a)) n += 1;
  for (const e of expected) if (!actual.has(e)) n += 1;
  return n;
}

/** A small seeded PRNG (mulberry32): the campaign is reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Names of adapter tests that are fault cases, for the campaign's table. */
const TARGET_FAULT =
  /500|401|403|malformed|dropped|stall|!fatal|wrong|refus|part-way|drift|vanished|failing|missing nft|by hand|pending|certificate/i;

/**
 * For the adapter suites: after each fault case, add a row to the campaign report. A failed
 * assertion there means data was lost or an error was unclear, so it counts as 1.
 */
export function recordTargetFaults(suite: string, task: { name: string; result?: { state?: string } }): void {
  if (!TARGET_FAULT.test(task.name)) return;
  const ok = task.result?.state !== 'fail';
  record({
    group: `targets: ${suite}`,
    name: task.name,
    runs: 1,
    outcome: ok ? 'as promised' : 'FAILED',
    lost: ok ? 0 : 1,
  });
}

/**
 * For every suite of the campaign, at the end: how many CLI outputs and files the leak scan of
 * test/helpers.ts read. A leak fails the test that caused it, so reaching here means none.
 */
export function recordSecretScan(suite: string): void {
  record({
    group: 'secrets',
    name: `${suite}: every stdout/stderr and every file left behind (${secretScan.files} files) scanned for credentials`,
    runs: secretScan.outputs,
    outcome: 'none found',
    lost: 0,
  });
}
