import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { it } from 'vitest';
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

/** What a case measured, for its row: the outcome, and how much data was lost (must be 0). */
export interface Measure {
  outcome: string;
  lost: number;
}

/**
 * Runs one case of the campaign and writes its row whatever happens: when an assertion fails, the
 * row says FAILED, with what was measured up to there, so the table can show a failure.
 */
export async function campaignCase(
  row: { group: string; name: string; runs: number },
  body: (measure: Measure) => Promise<void> | void,
): Promise<void> {
  const measure: Measure = { outcome: 'not reached', lost: 0 };
  let passed = false;
  try {
    await body(measure);
    passed = true;
  } finally {
    record({ ...row, outcome: passed ? measure.outcome : `FAILED (${measure.outcome})`, lost: measure.lost });
  }
}

/**
 * A property of the campaign: checked without throwing first, so that a counterexample reaches
 * the table as a FAILED row before the test fails on it.
 */
export async function propertyCase<T>(
  row: { group: string; name: string; runs: number; outcome: string },
  check: () => fc.RunDetails<T> | Promise<fc.RunDetails<T>>,
): Promise<void> {
  await campaignCase(row, async (measure) => {
    const details = await check();
    measure.outcome = details.failed ? `counterexample after ${details.numRuns} run(s)` : row.outcome;
    if (details.failed) {
      measure.lost = 1;
      throw new Error(fc.defaultReportMessage(details) ?? 'the property failed');
    }
  });
}

/** `it` for the fault cases of an adapter suite: each becomes a row of the campaign's table. */
export function faultCase(group: string) {
  return (name: string, body: () => Promise<void>, timeout?: number) =>
    it(
      name,
      () =>
        campaignCase({ group: `targets: ${group}`, name, runs: 1 }, async (measure) => {
          await body();
          measure.outcome = 'as promised';
        }),
      timeout,
    );
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
