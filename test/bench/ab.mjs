#!/usr/bin/env node
// Two builds of dnsfence side by side, whole process against whole process, in alternating rounds:
//
//   node test/bench/ab.mjs <checkout A> <checkout B> [rounds]
//
// Each checkout must be built (`npm run build`: bin/dnsfence.cjs and dist/). Both sync 10,000 names
// (DNSFENCE_BENCH_NAMES) from one Knot DNS zone on 127.0.0.1 into a file target: per round and
// build a first sync into a new database, two no-change syncs and two `status`. The order of the
// builds alternates from round to round, so that a busier minute of the machine falls on both.
// Prints min / median / max of wall time and peak RSS (GNU time) per build and run.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import os from 'node:os';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const [a, b, roundsArg] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: node test/bench/ab.mjs <checkout A> <checkout B> [rounds]');
  process.exit(2);
}
const ROUNDS = Number(roundsArg ?? 8);
const NAMES = Number(process.env.DNSFENCE_BENCH_NAMES ?? 10000);
const builds = [a, b].map((dir, i) => ({
  label: `${String.fromCharCode(65 + i)} ${basename(resolve(dir))}`,
  dir,
}));

const port = await new Promise((done) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => done(p));
  });
});
const dir = mkdtempSync(join(os.tmpdir(), 'dnsfence-ab-'));
mkdirSync(join(dir, 'db'));
// The zone of test/bench/zone.ts: one A (shared by the names 250 apart) and one AAAA per name.
const records = Array.from(
  { length: NAMES },
  (_, i) =>
    `n${i} A 203.0.113.${(i % 250) + 1}\nn${i} AAAA 2001:db8:${(i >> 8).toString(16)}::${(i & 255).toString(16)}`,
);
writeFileSync(
  join(dir, 'bench.example.zone'),
  `$ORIGIN bench.example.\n$TTL 300\n@ SOA ns.bench.example. hostmaster.bench.example. 1 3600 600 86400 60\n@ NS ns.bench.example.\nns A 127.0.0.1\n${records.join('\n')}\n`,
);
writeFileSync(
  join(dir, 'knot.conf'),
  `server:\n  rundir: "${dir}"\n  listen: 127.0.0.1@${port}\nlog:\n  - target: stderr\n    any: error\ndatabase:\n  storage: "${dir}/db"\ntemplate:\n  - id: default\n    storage: "${dir}"\n    file: "%s.zone"\n    zonefile-sync: -1\n    journal-content: none\n    semantic-checks: off\nzone:\n  - domain: bench.example\n`,
);
const knot = spawn(
  existsSync('/usr/sbin/knotd') ? '/usr/sbin/knotd' : 'knotd',
  ['-c', join(dir, 'knot.conf')],
  { stdio: 'inherit' },
);
process.on('exit', () => {
  knot.kill();
  rmSync(dir, { recursive: true, force: true });
});
for (
  let i = 0;
  spawnSync('dig', ['+short', '-p', String(port), '@127.0.0.1', 'n0.bench.example']).stdout.length === 0;
  i++
) {
  if (i > 100) throw new Error('knotd did not start');
  await sleep(100);
}

const names = Array.from({ length: NAMES }, (_, i) => `n${i}.bench.example`).join(', ');
builds.forEach((build, i) => {
  build.config = join(dir, `${i}.yaml`);
  build.database = join(dir, `${i}.db`);
  build.lists = join(dir, `${i}-lists`);
  writeFileSync(
    build.config,
    `database: ${build.database}\nresolvers: ["127.0.0.1:${port}"]\nresolve: { timeout: 2s, attempts: 2, concurrency: 64 }\nsafety: { max_addresses_per_name: 64 }\nlists:\n  bench:\n    names: [${names}]\ntargets:\n  out: { type: file, dir: ${build.lists} }\n`,
  );
  build.runs = { 'first sync': [], 'no-change sync': [], status: [] };
});

function timed(build, args) {
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', '%e %M', process.execPath, join(build.dir, 'bin/dnsfence.cjs'), '-c', build.config, ...args],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  if (r.status !== 0)
    throw new Error(`${build.label}: dnsfence ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const [seconds, kb] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { seconds, mb: kb / 1024 };
}

for (let round = 0; round < ROUNDS; round++) {
  for (const build of round % 2 ? [...builds].reverse() : builds) {
    for (const f of ['', '-wal', '-shm']) rmSync(build.database + f, { force: true });
    rmSync(build.lists, { recursive: true, force: true });
    build.runs['first sync'].push(timed(build, ['-q', 'sync']));
    for (let i = 0; i < 2; i++) build.runs['no-change sync'].push(timed(build, ['-q', 'sync']));
    for (let i = 0; i < 2; i++) build.runs.status.push(timed(build, ['status']));
  }
}

const fmt = (xs, digits) => {
  const s = [...xs].sort((x, y) => x - y);
  return [s[0], s[Math.floor(s.length / 2)], s.at(-1)].map((x) => x.toFixed(digits)).join(' / ');
};
console.log(`${NAMES} names, ${ROUNDS} rounds, min / median / max\n`);
console.log('| run | build | seconds | peak RSS, MB |\n| --- | --- | --- | --- |');
for (const run of ['first sync', 'no-change sync', 'status'])
  for (const build of builds)
    console.log(
      `| ${run} | ${build.label} | ${fmt(
        build.runs[run].map((r) => r.seconds),
        2,
      )} | ${fmt(
        build.runs[run].map((r) => r.mb),
        0,
      )} |`,
    );
knot.kill();
await once(knot, 'exit');
