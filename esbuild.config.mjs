// Bundles the built CLI (dist/src, from tsc) into dist/dnsfence.cjs, which bin/dnsfence.cjs runs,
// and writes V8's code cache for it. Node 20 resolves, reads and compiles each of the ~200
// modules of a run one by one; Node 22 would cache the compiled code (module.enableCompileCache)
// but Node 20 cannot, for ES modules. One CommonJS file with a code cache made at build time
// starts `status` in about 0.15 s instead of 0.45 s (docs/benchmarks.md).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const out = 'dist/dnsfence.cjs';
rmSync(`${out}.v8cache`, { force: true });
await build({
  entryPoints: ['dist/src/cli/main.js'],
  outfile: out,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // better-sqlite3's JavaScript is bundled and its native addon named by src/store/db.ts (its
  // `bindings` helper is then never loaded); undici and node-routeros load only with DoH or their
  // target types, and are required from node_modules then.
  external: ['bindings', 'undici', 'node-routeros'],
  // Lazy import()s become require()s: a script compiled with a code cache has no ES module loader.
  supported: { 'dynamic-import': false },
  // src/paths.ts finds the package root from its own location.
  define: { 'import.meta.url': '__dnsfenceUrl' },
  banner: { js: "const __dnsfenceUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
// esbuild writes strings and identifiers in ASCII but keeps comments as they are, and a few of the
// bundled libraries' comments are not ASCII. Node reads a file with one such character into a
// two-byte string, and reading it and compiling from the cache then take about twice as long:
// escaped, the bundle is pure ASCII and bin/dnsfence.cjs reads it as latin1 (about 5 ms a start).
const bundled = readFileSync(out, 'utf8');
writeFileSync(
  out,
  bundled.replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
);

// The cache holds the functions a run compiled: the offline demo (configuration, resolver, sync
// engine, store, file target, report) compiles nearly all of them. Its scratch folder goes too.
const scratch = mkdtempSync(join(tmpdir(), 'dnsfence-build-'));
const warm = spawnSync(process.execPath, ['bin/dnsfence.cjs', 'demo'], {
  env: { ...process.env, TMPDIR: scratch, DNSFENCE_WRITE_CODE_CACHE: '1' },
  encoding: 'utf8',
});
rmSync(scratch, { recursive: true, force: true });
if (warm.status !== 0) {
  // The CLI works without a cache, only starts slower: no reason to fail an install over it.
  rmSync(`${out}.v8cache`, { force: true });
  console.warn(
    `esbuild.config.mjs: no code cache (the warm-up run failed: ${warm.stderr.trim().split('\n')[0]})`,
  );
}
