import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/store/migrate.js';

import { dir, run, sleep, sync, useCliWorld, writeConfig, zone } from './world.js';

useCliWorld();

describe('history, db info and metrics', () => {
  it('history shows the addresses of a name over time and which lists held an address', async () => {
    writeConfig('retention: 1s');
    zone.set('api.example.com', { a: ['192.0.2.1', '198.51.100.2'], ttl: 60 });
    await sync();
    zone.set('www.example.com', { a: ['192.0.2.7'], aaaa: ['2001:db8::1'], ttl: 60 });
    await sleep(1100);
    await sync();
    const name = await run('history', 'www.example.com');
    expect(name.code).toBe(0);
    expect(name.stdout).toMatch(/192\.0\.2\.1 .* ttl 60 .*\(also from api\.example\.com\)/);
    expect(name.stdout).toMatch(/192\.0\.2\.7 /);
    const address = await run('history', '192.0.2.1');
    expect(address.stdout).toMatch(/shared by 2 names: api\.example\.com, www\.example\.com/);
    expect(address.stdout).toMatch(/local\/web {2}\S+ \S+ \(dns\) \.\. now/);
    const json = JSON.parse((await run('--json', 'history', '198.51.100.2')).stdout) as {
      held: { target: string }[];
    };
    expect(json.held.map((h) => h.target).sort()).toEqual(['export', 'local']);
  });

  it('db info counts rows; --metrics-file writes Prometheus textfile metrics atomically', async () => {
    writeConfig();
    const metrics = join(dir.path, 'dnsfence.prom');
    expect((await sync('--metrics-file', metrics)).code).toBe(0);
    const text = readFileSync(metrics, 'utf8');
    expect(text).toContain('dnsfence_list_addresses{target="local",list="web"} 4');
    expect(text).toContain('dnsfence_changes_total{target="export",action="added"} 4');
    expect(text).toMatch(/dnsfence_target_last_success_timestamp_seconds\{target="local"\} \d+\.\d+/);
    expect(text).toContain('dnsfence_last_run_exit_code 0');
    const info = JSON.parse((await run('--json', 'db', 'info')).stdout) as {
      schemaVersion: number;
      rows: Record<string, number>;
    };
    expect(info.schemaVersion).toBe(loadMigrations().at(-1)!.version);
    expect(info.rows.audit).toBe(8);
    const tooShort = await run('db', 'prune', '--older-than', '1d');
    expect(tooShort.code).toBe(2);
    expect(tooShort.stderr).toMatch(/--older-than 1d: the configuration still needs 7d of history/);
    const pruned = await run('db', 'prune', '--older-than', '400d');
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(/pruned before .*: 0 audit entries .* audit chain verified/);
  });
});
