// Turns the fault campaign's results (JSON lines) into the table at the end of docs/reliability.md.
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const [resultsFile, docFile] = process.argv.slice(2);
const order = (g) => ['DNS', 'process', 'storage', 'input'].indexOf(g) + 1 || 9;
// Test files run in parallel: sort by group so the table reads in a stable order.
const rows = readFileSync(resultsFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l))
  .sort((a, b) => order(a.group) - order(b.group) || a.group.localeCompare(b.group));
const doc = readFileSync(docFile, 'utf8');
const marker = '<!-- campaign results -->';
const head = doc.includes(marker) ? doc.slice(0, doc.indexOf(marker)) : `${doc.trimEnd()}\n\n`;
const lines = [
  marker,
  '',
  `Last full run: ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}.`,
  '',
  '| group | case | runs | outcome | data lost |',
  '| --- | --- | ---: | --- | ---: |',
  ...rows.map(
    (r) => `| ${r.group} | ${r.name.replace(/\|/g, '\\|')} | ${r.runs} | ${r.outcome} | ${r.lost} |`,
  ),
  '',
  `Failed cases: ${rows.filter((r) => r.outcome.startsWith('FAILED')).length}. Total data lost: ${rows.reduce((n, r) => n + r.lost, 0)}.`,
  '',
];
writeFileSync(docFile, head + lines.join('\n'));
