import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { dir, ns, run, sync, table, useCliWorld, writeConfig, zone } from './world.js';

useCliWorld();

describe('rules', () => {
  it('prints nft rules for the Intra2net profile that real nft accepts against the synced sets', async () => {
    zone.set('update.intra2net.com', { a: ['192.0.2.10'] });
    zone.set('support.intra2net.com', { a: ['192.0.2.50'] });
    writeConfig('profiles: [intra2net]', '  web:\n    names: [www.example.com]\n');
    await sync();
    const r = await run('rules', '--target', 'local', '--source', '192.0.2.100');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `add rule inet ${table} forward ip saddr 192.0.2.100 ip daddr @i2n_ntp_v4 udp dport 123 accept`,
    );
    expect(r.stdout).toContain(`ip daddr @i2n_support_v4 tcp dport 5000-5050 accept`);
    const script = [
      `add chain inet ${table} forward { type filter hook forward priority filter; }`,
      ...r.stdout.split('\n').filter((l) => l.startsWith('add rule')),
    ];
    ns.exec(['-f', '-'], `${script.join('\n')}\n`);
    expect(ns.exec(['list', 'chain', 'inet', table, 'forward'])).toContain(
      '@i2n_https_v4 tcp dport 443 accept',
    );
    const file = await run('rules', '--target', 'export');
    expect(file.code).toBe(2);
  });

  it('a repeated --source adds up: rules for both families, each source in its own family', async () => {
    writeConfig('profiles: [intra2net]', '  web:\n    names: [www.example.com]\n');
    await sync();
    const r = await run(
      'rules',
      '--target',
      'local',
      '--source',
      '192.0.2.100',
      '--source',
      '2001:db8::100',
      '--source',
      '192.0.2.101',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `add rule inet ${table} forward ip saddr { 192.0.2.100, 192.0.2.101 } ip daddr @i2n_https_v4 tcp dport 443 accept`,
    );
    expect(r.stdout).toContain(
      `add rule inet ${table} forward ip6 saddr 2001:db8::100 ip6 daddr @i2n_https_v6 tcp dport 443 accept`,
    );
    const script = [
      `add chain inet ${table} forward { type filter hook forward priority filter; }`,
      ...r.stdout.split('\n').filter((l) => l.startsWith('add rule')),
    ];
    ns.exec(['-f', '-'], `${script.join('\n')}\n`);
    const ros = await run('rules', '--target', 'local', '--source', '192.0.2.100', '--source', '192.0.2.101');
    expect(ros.stdout).not.toMatch(/ip6 daddr/);
  });
});

describe('systemd', () => {
  it('prints hardened units and a cron line that systemd-analyze accepts', async () => {
    writeConfig();
    const units = JSON.parse((await run('--json', 'systemd', '--interval', '10min')).stdout) as {
      service: string;
      timer: string;
      cron: string;
    };
    expect(units.service).toMatch(
      /^ExecStart=\S+node \S+bin\/dnsfence\.cjs -c \S+dnsfence\.yaml --quiet sync$/m,
    );
    expect(units.service).toContain('ProtectSystem=strict');
    expect(units.service).toContain(`ReadWritePaths=${dir.path} ${join(dir.path, 'lists')}`);
    expect(units.service).toMatch(/^CapabilityBoundingSet=CAP_NET_ADMIN$/m);
    // nft over ssh needs no capability on this host.
    writeFileSync(
      join(dir.path, 'dnsfence.yaml'),
      readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8').replace(/nft: \[.*\]/, 'nft: [ssh, fw1, nft]'),
    );
    const remote = JSON.parse((await run('--json', 'systemd')).stdout) as { service: string };
    expect(remote.service).toMatch(/^CapabilityBoundingSet=$/m);
    expect(units.timer).toContain('OnCalendar=*:0/10');
    expect(units.timer).toContain('Persistent=true');
    expect(units.cron).toMatch(/^\*\/10 \* \* \* \* root \S+node /);
    // A unit written before the entry point became bin/dnsfence.cjs still runs after an upgrade.
    const legacy = join(
      units.service.match(/ExecStart=\S+ (\S+)bin\/dnsfence\.cjs/)?.[1] ?? '',
      'bin/dnsfence.js',
    );
    const checked = execFileSync(
      process.execPath,
      [legacy, '-c', join(dir.path, 'dnsfence.yaml'), 'check', '--offline'],
      { encoding: 'utf8' },
    );
    expect(checked).toMatch(/^ok\s+config: /m);
    const watch = JSON.parse((await run('--json', 'systemd', '--watch')).stdout) as { service: string };
    expect(watch.service).toContain('Restart=on-failure');
    expect(watch.service).toMatch(/ExecStart=.* watch$/m);
    if (existsSync('/usr/bin/systemd-analyze')) {
      writeFileSync(join(dir.path, 'dnsfence.service'), units.service);
      writeFileSync(join(dir.path, 'dnsfence.timer'), units.timer);
      execFileSync(
        'systemd-analyze',
        ['verify', '--man=no', join(dir.path, 'dnsfence.service'), join(dir.path, 'dnsfence.timer')],
        { stdio: 'pipe' },
      );
    }
  });
});
