import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { tempName } from '../../adapters/ipset/settings.js';
import { faultCase } from '../faults/campaign.js';
import { waitFor } from '../helpers.js';
import { dir, ns, port, run, sync, table, useCliWorld, zone } from './world.js';

useCliWorld();
const fault = faultCase('ipset');

/** Each test's sets carry a prefix of their own: the namespace lives as long as the file. */
let prefix: string;

/** ipset or iptables inside the namespace. */
function inNs(program: string, args: string[], stdin = ''): string {
  return execFileSync('ip', ['netns', 'exec', ns.name, program, ...args], {
    input: stdin,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

const entries = (set: string) =>
  inNs('ipset', ['save', set])
    .split('\n')
    .filter((l) => l.startsWith('add '))
    .map((l) => l.split(' ')[2] as string)
    .sort();
const ours = () =>
  inNs('ipset', ['list', '-n'])
    .split('\n')
    .filter((n) => n.startsWith(prefix))
    .sort();
const ipsetLog = () =>
  existsSync(join(dir.path, 'ipset.log'))
    ? readFileSync(join(dir.path, 'ipset.log'), 'utf8').split('\n').filter(Boolean)
    : [];
/** Every call that may write: anything but `save`. */
const writes = () => ipsetLog().filter((l) => !/^save$/.test(l)).length;

beforeEach(() => {
  prefix = `${table}_`;
  // ipset in the namespace behind a wrapper that logs every call; with a `pause` file, a restore
  // leaves out its closing destroy lines (the temporary sets), says so, and waits to be killed.
  const ipset = ['ip', 'netns', 'exec', ns.name, 'ipset'].join(' ');
  writeFileSync(
    join(dir.path, 'ipset'),
    `#!/bin/sh
echo "$*" >> ${dir.path}/ipset.log
if [ "$1" = restore ] && [ -f ${dir.path}/pause ]; then
  grep -v '^destroy' | ${ipset} restore; echo applied >> ${dir.path}/ipset.log; sleep $(cat ${dir.path}/pause); exit 0
fi
exec ${ipset} "$@"
`,
  );
  chmodSync(join(dir.path, 'ipset'), 0o755);
});

function writeConfig(
  extra = '',
  lists = '  web:\n    names: [www.example.com, api.example.com]\n',
  target = '',
): void {
  writeFileSync(
    join(dir.path, 'dnsfence.yaml'),
    `resolvers: ["127.0.0.1:${port}"]
resolve: { timeout: 3s, attempts: 1 }
${extra}
lists:
${lists}
targets:
  legacy:
    type: ipset
    ipset: [${join(dir.path, 'ipset')}]
    prefix: ${prefix}
${target}`,
  );
}

describe('ipset target, end to end', () => {
  it('creates and fills the sets; plan shows what sync does; a second sync writes nothing; foreign sets stay', async () => {
    inNs(
      'ipset',
      ['restore'],
      `create ${prefix}foreign hash:ip family inet\nadd ${prefix}foreign 192.0.2.200\n`,
    );
    const foreign = inNs('ipset', ['save', `${prefix}foreign`]);
    writeConfig();
    const plan = await run('plan');
    expect(plan.code).toBe(0);
    const ops = [
      `legacy  create set ${prefix}web_v4 hash:net family inet maxelem 65536`,
      `legacy  rebuild set ${prefix}web_v4 (3 entries) and swap it in`,
      `legacy  create set ${prefix}web_v6 hash:net family inet6 maxelem 65536`,
      `legacy  rebuild set ${prefix}web_v6 (1 entry) and swap it in`,
    ];
    expect(plan.stdout.trim().split('\n').slice(-4)).toEqual(ops);
    expect(writes()).toBe(0);

    const first = await sync();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('legacy  web  + 192.0.2.1  www.example.com  (dns)');
    expect(first.stdout.trim().split('\n').slice(-4)).toEqual(ops);
    expect(entries(`${prefix}web_v4`)).toEqual(['192.0.2.1', '198.51.100.1', '198.51.100.2']);
    expect(entries(`${prefix}web_v6`)).toEqual(['2001:db8::1']);
    expect(ipsetLog()).toEqual(['save', 'save', 'restore']);

    const second = await sync();
    expect(second).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(writes()).toBe(1);
    expect(inNs('ipset', ['save', `${prefix}foreign`])).toBe(foreign);
    expect(ours()).toEqual([`${prefix}foreign`, `${prefix}web_v4`, `${prefix}web_v6`]);
  });

  it('a DNS change rebuilds the one set it touches and swaps it in, under a rule that uses it', async () => {
    writeConfig();
    await sync();
    inNs('iptables', ['-A', 'FORWARD', '-m', 'set', '--match-set', `${prefix}web_v4`, 'dst', '-j', 'ACCEPT']);
    try {
      zone.set('www.example.com', { a: ['192.0.2.2'], aaaa: ['2001:db8::1'], ttl: 60 });
      const r = await sync();
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual([
        'legacy  web  + 192.0.2.2  www.example.com  (dns)',
        `legacy  rebuild set ${prefix}web_v4 (4 entries) and swap it in`,
      ]);
      expect(entries(`${prefix}web_v4`)).toEqual(['192.0.2.1', '192.0.2.2', '198.51.100.1', '198.51.100.2']);
      expect(writes()).toBe(2);
      expect(ours()).toEqual([`${prefix}web_v4`, `${prefix}web_v6`]);
    } finally {
      inNs('iptables', ['-F', 'FORWARD']);
    }
  });

  fault('drift: an entry deleted by hand comes back, and so does a set flushed by hand', async () => {
    writeConfig();
    await sync();
    inNs('ipset', ['del', `${prefix}web_v4`, '198.51.100.1']);
    const one = await sync();
    expect(one.code).toBe(0);
    expect(one.stdout).toContain(
      'legacy  web  + 198.51.100.1  api.example.com  (drift: missing on the target; restored)',
    );
    expect(entries(`${prefix}web_v4`)).toEqual(['192.0.2.1', '198.51.100.1', '198.51.100.2']);
    inNs('ipset', ['flush', `${prefix}web_v6`]);
    inNs('ipset', ['add', `${prefix}web_v6`, '2001:db8::99']);
    const flushed = await sync();
    expect(flushed.stdout).toContain(
      'legacy  web  + 2001:db8::1  www.example.com  (drift: missing on the target; restored)',
    );
    expect(flushed.stdout).toContain(
      'legacy  web  - 2001:db8::99  -  (drift: on the target, not placed by dnsfence)',
    );
    expect(entries(`${prefix}web_v6`)).toEqual(['2001:db8::1']);
    expect((await sync()).stdout).toBe('');
  });

  fault(
    'SIGKILL after the swap, before the temporary sets are gone: the next sync records and cleans up',
    async () => {
      writeConfig('', '  web:\n    names: [www.example.com]\n');
      await sync();
      zone.set('www.example.com', { a: ['192.0.2.7'], aaaa: ['2001:db8::1'], ttl: 60 });
      writeFileSync(join(dir.path, 'pause'), '30');
      const victim = sync();
      await waitFor(() => ipsetLog().includes('applied'), 10_000, 'the ipset restore');
      process.kill(victim.pid, 'SIGKILL');
      await victim;
      rmSync(join(dir.path, 'pause'));
      // Swapped in whole; the set it replaced is left under its temporary name.
      const temp = tempName(prefix, `${prefix}web_v4`);
      expect(entries(`${prefix}web_v4`)).toEqual(['192.0.2.1', '192.0.2.7']);
      expect(ours()).toEqual([temp, `${prefix}web_v4`, `${prefix}web_v6`].sort());
      const next = await sync();
      expect(next.code).toBe(0);
      expect(next.stdout.trim().split('\n')).toEqual([
        'legacy  web  + 192.0.2.7  www.example.com  (drift: found on the target; not in the audit log)  [recorded only]',
        `legacy  destroy set ${temp}, left behind by an interrupted sync`,
      ]);
      expect(ours()).toEqual([`${prefix}web_v4`, `${prefix}web_v6`]);
      expect((await run('audit', 'verify')).code).toBe(0);
      const db = new Database(join(dir.path, 'dnsfence.db'), { readonly: true });
      expect(db.prepare('SELECT outcome FROM runs ORDER BY id').all()).toEqual([
        { outcome: 'ok' },
        { outcome: 'interrupted' },
        { outcome: 'ok' },
      ]);
      db.close();
      const writesBefore = writes();
      expect((await sync()).stdout).toBe('');
      expect(writes()).toBe(writesBefore);
    },
  );

  fault('a set of the right name and the wrong type: check and sync refuse it with what to do', async () => {
    inNs('ipset', ['create', `${prefix}web_v4`, 'hash:ip', 'family', 'inet']);
    writeConfig();
    const check = await run('check');
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(
      `FAIL  target legacy: set ${prefix}web_v4 is hash:ip family inet; dnsfence needs a plain hash:net family inet: ` +
        `remove the iptables rules that use it, destroy it (${join(dir.path, 'ipset')} destroy ${prefix}web_v4), and the next sync creates it anew`,
    );
    const r = await sync();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`target legacy: set ${prefix}web_v4 is hash:ip family inet`);
    expect(writes()).toBe(0);
    inNs('ipset', ['destroy', `${prefix}web_v4`]);
    expect((await sync()).code).toBe(0);
    expect(entries(`${prefix}web_v4`)).toHaveLength(3);
  });

  fault('a list over maxelem: plan and sync fail the target with what to do, and write nothing', async () => {
    writeConfig('', '  web:\n    names: [www.example.com, api.example.com]\n', '    maxelem: 2\n');
    const plan = await run('plan');
    expect(plan.code).toBe(1);
    const advice = `target legacy: list web needs 3 entries in set ${prefix}web_v4, more than maxelem 2 allows: raise maxelem on the target (the next sync rebuilds the set with it); nothing was written`;
    expect(plan.stderr).toContain(advice);
    const r = await sync();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(advice);
    expect(writes()).toBe(0);
    expect(ours()).toEqual([]);
  });

  it('a /0, which hash:net cannot hold, is left out, and plan says so', async () => {
    writeConfig('', '  web:\n    static: [0.0.0.0/0, "2001:db8::5"]\n    allow_wide: true\n');
    const plan = await run('plan');
    expect(plan.stderr).toContain('warn: legacy/web: 0.0.0.0/0 cannot be held by an ipset target; left out');
    expect((await sync()).code).toBe(0);
    expect(entries(`${prefix}web_v4`)).toEqual([]);
    expect(entries(`${prefix}web_v6`)).toEqual(['2001:db8::5']);
  });

  it('rules --target prints iptables and ip6tables lines that load against the synced sets', async () => {
    zone.set('update.intra2net.com', { a: ['192.0.2.10'] });
    zone.set('support.intra2net.com', { a: ['192.0.2.50'] });
    writeConfig('profiles: [intra2net]', '  web:\n    names: [www.example.com]\n');
    await sync();
    const r = await run(
      'rules',
      '--target',
      'legacy',
      '--source',
      '192.0.2.100',
      '--source',
      '2001:db8::100',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `iptables -A FORWARD -s 192.0.2.100 -p udp --dport 123 -m set --match-set ${prefix}i2n_ntp_v4 dst -j ACCEPT`,
    );
    expect(r.stdout).toContain(
      `-p tcp --dport 5000:5050 -m set --match-set ${prefix}i2n_support_v4 dst -j ACCEPT`,
    );
    expect(r.stdout).toContain(
      `ip6tables -A FORWARD -s 2001:db8::100 -p tcp --dport 443 -m set --match-set ${prefix}i2n_https_v6 dst -j ACCEPT`,
    );
    const commands = r.stdout.split('\n').filter((l) => /^ip6?tables /.test(l));
    try {
      // As an admin pastes them: each line through a shell, on the host (here the namespace).
      for (const c of commands) inNs('sh', ['-c', c]);
      expect(inNs('iptables', ['-S', 'FORWARD'])).toContain(`--match-set ${prefix}i2n_https_v4 dst`);
      expect(inNs('ip6tables', ['-S', 'FORWARD'])).toContain(`--match-set ${prefix}i2n_https_v6 dst`);
      expect(
        inNs('iptables', ['-S', 'FORWARD'])
          .split('\n')
          .filter((l) => l.startsWith('-A')),
      ).toHaveLength(commands.filter((c) => c.startsWith('iptables ')).length);
    } finally {
      inNs('iptables', ['-F', 'FORWARD']);
      inNs('ip6tables', ['-F', 'FORWARD']);
    }
  });

  it('describes itself to systemd: a local ipset needs CAP_NET_ADMIN, one over ssh nothing here', async () => {
    writeConfig();
    const local = JSON.parse((await run('--json', 'systemd')).stdout) as { service: string };
    expect(local.service).toMatch(/^CapabilityBoundingSet=CAP_NET_ADMIN$/m);
    writeFileSync(
      join(dir.path, 'dnsfence.yaml'),
      readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8').replace(
        /ipset: \[.*\]/,
        'ipset: [ssh, fw2, ipset]',
      ),
    );
    const remote = JSON.parse((await run('--json', 'systemd')).stdout) as { service: string };
    expect(remote.service).toMatch(/^CapabilityBoundingSet=$/m);
  });
});
