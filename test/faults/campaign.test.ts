import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { campaignCase, propertyCase } from './campaign.js';

// The campaign's table must be able to show a failure: a case whose assertion fails still writes
// its row, marked FAILED, with what it measured.

let dir: ReturnType<typeof tempDir>;
let before: string | undefined;
const rows = () =>
  readFileSync(join(dir.path, 'rows.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { outcome: string; lost: number });

beforeEach(() => {
  dir = tempDir();
  before = process.env.DNSFENCE_FAULTS_REPORT;
  process.env.DNSFENCE_FAULTS_REPORT = join(dir.path, 'rows.jsonl');
});
afterEach(() => {
  if (before === undefined) delete process.env.DNSFENCE_FAULTS_REPORT;
  else process.env.DNSFENCE_FAULTS_REPORT = before;
  dir.cleanup();
});

describe('the fault campaign table', () => {
  it('a case whose assertion fails writes its row as FAILED, with the data it lost', async () => {
    const failing = campaignCase({ group: 'DNS', name: 'made to fail', runs: 1 }, (measure) => {
      measure.outcome = 'exit 1';
      measure.lost = 2;
      expect(1).toBe(3);
    });
    await expect(failing).rejects.toThrow();
    await campaignCase({ group: 'DNS', name: 'passes', runs: 1 }, (measure) => {
      measure.outcome = 'exit 0';
    });
    expect(rows()).toMatchObject([
      { outcome: 'FAILED (exit 1)', lost: 2 },
      { outcome: 'exit 0', lost: 0 },
    ]);
  });

  it('a property with a counterexample writes a FAILED row before the test fails', async () => {
    const failing = propertyCase({ group: 'input', name: 'made to fail', runs: 50, outcome: 'holds' }, () =>
      fc.check(
        fc.property(fc.integer(), (n) => n < 1000),
        { numRuns: 50, seed: 1 },
      ),
    );
    await expect(failing).rejects.toThrow(/Counterexample/);
    expect(rows()).toMatchObject([{ outcome: expect.stringMatching(/^FAILED \(counterexample/), lost: 1 }]);
  });
});
