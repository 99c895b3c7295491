import { accessSync, constants, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { errnoText } from '../errno.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { metricCounts } from '../store/metrics.js';

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${label(v)}"`)
    .join(',')}}`;
const seconds = (iso: string | null | undefined) => (iso ? (Date.parse(iso) / 1000).toFixed(3) : undefined);

export type Samples = [Record<string, string>, string | number | undefined][];

/** Appends one metric in Prometheus text format (HELP, TYPE, a line per sample with a value) to `out`. */
export function metricWriter(out: string[]) {
  return (name: string, type: string, help: string, samples: Samples) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of samples)
      if (v !== undefined) out.push(`${name}${Object.keys(l).length ? labels(l) : ''} ${v}`);
  };
}

export { seconds as timestampSeconds };

/**
 * Prometheus node_exporter textfile metrics, from the database after a run. Counters are counts
 * of append-only records (audit entries, failed pushes, failed lookups), so they only grow.
 */
export function renderMetrics(
  db: Db,
  run: { durationMs: number; exitCode: number; finishedAt: string } | undefined,
): string {
  const out: string[] = [];
  const metric = metricWriter(out);
  metric('dnsfence_last_run_timestamp_seconds', 'gauge', 'When the last sync finished.', [
    [{}, seconds(run?.finishedAt)],
  ]);
  metric('dnsfence_last_run_exit_code', 'gauge', 'Exit code of the last sync (0 ok, 1 failed, 3 degraded).', [
    [{}, run?.exitCode],
  ]);
  metric('dnsfence_sync_duration_seconds', 'gauge', 'Duration of the last sync.', [
    [{}, run ? (run.durationMs / 1000).toFixed(3) : undefined],
  ]);
  const counts = metricCounts(db);
  metric(
    'dnsfence_target_last_success_timestamp_seconds',
    'gauge',
    'Last successful push (or check with nothing to do) per target.',
    counts.lastSuccess.map((r) => [{ target: r.target }, seconds(r.at)]),
  );
  metric(
    'dnsfence_list_addresses',
    'gauge',
    'Addresses dnsfence keeps in each list on each target.',
    counts.listAddresses.map((r) => [{ target: r.target, list: r.list }, r.n]),
  );
  metric(
    'dnsfence_changes_total',
    'counter',
    'Addresses added to or removed from lists, per target.',
    counts.changes.map((r) => [{ target: r.target, action: r.action }, r.n]),
  );
  metric(
    'dnsfence_target_failures_total',
    'counter',
    'Pushes to a target that failed.',
    counts.targetFailures.map((r) => [{ target: r.target }, r.n]),
  );
  metric(
    'dnsfence_lookup_failures_total',
    'counter',
    'Failed lookups (timeout, SERVFAIL, …) per name.',
    counts.lookupFailures.map((r) => [{ name: r.name }, r.n]),
  );
  metric(
    'dnsfence_lookup_failing',
    'gauge',
    '1 while the latest lookup of a name failed.',
    counts.failing.map((r) => [{ name: r.name, family: r.family }, r.f]),
  );
  return `${out.join('\n')}\n`;
}

/** Written atomically (temporary file + rename), as node_exporter's textfile collector requires. */
export function writeMetricsFile(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

/**
 * The metrics file's folder must exist and be writable before a run starts: a typo found after a
 * successful sync would turn it into a failure, and under `watch` a later write failure must not
 * stop the daemon (it is a warning there).
 */
export function checkMetricsPath(path: string, option = '--metrics-file'): void {
  const folder = dirname(path);
  try {
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory())
      throw Object.assign(new Error(), { code: 'EISDIR' });
    accessSync(folder, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = code === 'EISDIR' ? path : folder;
    throw new ConfigError(`${option} ${path}: cannot write there: ${where}: ${errnoText(err)}`);
  }
}

/**
 * After a sync or a watch pass: the metrics of that run, written to `path`. A failure is a warning:
 * the run itself went as it went, and the next one writes the file again.
 */
export function writeRunMetrics(
  path: string,
  db: Db,
  result: { startedAt: string; finishedAt: string; exitCode: number },
  log: Logger,
): void {
  const durationMs = Date.parse(result.finishedAt) - Date.parse(result.startedAt);
  try {
    writeMetricsFile(
      path,
      renderMetrics(db, { durationMs, exitCode: result.exitCode, finishedAt: result.finishedAt }),
    );
  } catch (err) {
    log.warn(`--metrics-file ${path}: not written: ${errnoText(err)}`);
  }
}
