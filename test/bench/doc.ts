import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

// Each benchmark file owns sections of docs/benchmarks.md, between markers, so one file can be re-run
// alone (`npm run bench -- test/bench/growth.bench.ts`) without losing the others' figures.

const DOC = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));

export const RUNS = Number(process.env.DNSFENCE_BENCH_RUNS ?? 5);

export interface Stats {
  min: number;
  median: number;
  max: number;
}

export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] as number, median: s[Math.floor(s.length / 2)] as number, max: s.at(-1) as number };
}

/** The q-quantile (0..1) of a sample, nearest rank. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

export const fmt = (s: Stats, digits = 2): string =>
  `${s.min.toFixed(digits)} / ${s.median.toFixed(digits)} / ${s.max.toFixed(digits)}`;

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/**
 * Replaces one generated section of docs/benchmarks.md, between `<!-- bench:id -->` markers, and
 * stamps it with the date and machine; the hand-written text around the sections stays as it is.
 * A section not in the file yet is added at the end.
 */
export function writeSection(id: string, markdown: string): void {
  const text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const stamp = `_Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}._`;
  const block = `<!-- bench:${id} -->\n${markdown.trimEnd()}\n\n${stamp}\n<!-- /bench:${id} -->`;
  const re = new RegExp(`<!-- bench:${id} -->[\\s\\S]*?<!-- /bench:${id} -->`);
  writeFileSync(DOC, re.test(text) ? text.replace(re, () => block) : `${text.trimEnd()}\n\n${block}\n`);
}
