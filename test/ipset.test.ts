import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IpsetAdapter, type IpsetDetail } from '../adapters/ipset/adapter.js';
import { parseSave, SaveFormatError } from '../adapters/ipset/save.js';
import { tempName, type IpsetSettings } from '../adapters/ipset/settings.js';
import type { TargetConfig } from '../src/config/types.js';
import type { ListPlan } from '../src/planner/target.js';
import { faultCase } from './faults/campaign.js';
import { netns, tempDir } from './helpers.js';
import { change, planFor, rejectsOnTarget } from './plans.js';

const fault = faultCase('ipset');

let ns: ReturnType<typeof netns>;
let dir: ReturnType<typeof tempDir>;
let ipsetCmd: string[];
let counter = 0;
/** Each test its own set names: sets live as long as the namespace. */
let prefix: string;

beforeAll(() => {
  ns = netns();
  ipsetCmd = ['ip', 'netns', 'exec', ns.name, 'ipset'];
});
afterAll(() => ns?.cleanup());
beforeEach(() => {
  dir = tempDir();
  counter += 1;
  prefix = `t${counter}_`;
});
afterEach(() => dir.cleanup());

/** ipset (or iptables) inside the namespace. */
function inNs(program: string, args: string[], stdin = ''): string {
  return execFileSync('ip', ['netns', 'exec', ns.name, program, ...args], {
    input: stdin,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** The entries of a set, as `ipset save` lists them, sorted. */
function entries(set: string): string[] {
  return inNs('ipset', ['save', set])
    .split('\n')
    .filter((l) => l.startsWith('add '))
    .map((l) => l.split(' ')[2] as string)
    .sort();
}

const setNames = () => inNs('ipset', ['list', '-n']).split('\n').filter(Boolean).sort();

function adapter(over: Partial<IpsetSettings> = {}, lists = new Map([['web', 'web']])): IpsetAdapter {
  const config: TargetConfig<IpsetSettings> = {
    type: 'ipset',
    name: 'legacy',
    timeoutMs: 10_000,
    lists,
    settings: { ipset: ipsetCmd, prefix, families: ['ipv4', 'ipv6'], maxelem: 65_536, ...over },
  };
  return new IpsetAdapter(config);
}

const add = (address: string) => change(address, { target: 'legacy' });
const del = (address: string) => change(address, { target: 'legacy', action: 'removed', reason: 'expired' });

function update(
  adds: string[],
  removes: string[],
  desired: string[],
  list = 'web',
): Partial<ListPlan> & { list: string } {
  return { list, add: adds.map(add), remove: removes.map(del), desired };
}

/** Reads the target, then plans these list changes on what was read: the sync's order. */
async function plan(a: IpsetAdapter, lists: (Partial<ListPlan> & { list: string })[]) {
  const snapshot = await a.read(lists.map((l) => ({ list: l.list, remote: l.list })));
  return planFor<IpsetDetail>(a, snapshot, lists);
}

/** A wrapper around the namespace's ipset, as an admin's sudo or ssh would be. */
function wrapper(name: string, body: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('ipset save parser', () => {
  const save =
    'create web_v4 hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x5a1c9b2e\n' +
    'add web_v4 192.0.2.1\n' +
    'add web_v4 198.51.100.0/24\n' +
    'create other hash:ip,port family inet hashsize 1024 maxelem 65536\n' +
    'add other 192.0.2.9,tcp:80\n' +
    'create web_v6 hash:net family inet6 hashsize 1024 maxelem 65536\n' +
    'add web_v6 2001:DB8::1\n';

  it('reads the wanted sets in full, normalised, and only skims the others', () => {
    const sets = parseSave(save, (n) => n.startsWith('web_'));
    expect([...sets.keys()]).toEqual(['web_v4', 'web_v6']);
    expect(sets.get('web_v4')).toMatchObject({
      type: 'hash:net',
      family: 'inet',
      maxelem: 65536,
      extensions: [],
      entries: ['192.0.2.1', '198.51.100.0/24'],
    });
    expect(sets.get('web_v6')?.entries).toEqual(['2001:db8::1']);
  });

  it('refuses what it does not understand, naming the line', () => {
    const bad = (text: string) => () => parseSave(text, () => true);
    expect(bad('flush web_v4\n')).toThrow(SaveFormatError);
    expect(bad('flush web_v4\n')).toThrow('line 1: expected "create" or "add"');
    expect(bad('add web_v4 192.0.2.1\n')).toThrow('line 1: an entry of set web_v4 before its create line');
    expect(bad('create web_v4 hash:net family inet\nadd web_v4 2001:db8::1\n')).toThrow(
      'line 2: "2001:db8::1" is not an inet address or prefix',
    );
    expect(bad('create web_v4 hash:net family inet\ncreate web_v4 hash:net family inet\n')).toThrow(
      'line 2: set web_v4 is created twice',
    );
    expect(bad('create web_v4 hash:net maxelem\n')).toThrow('line 1: maxelem needs a value (found none)');
    expect(bad('create web_v4\n')).toThrow('line 1: expected "create <set> <type> …"');
    expect(bad('create web_v4 hash:net family inet\nadd web_v4\n')).toThrow(
      'line 2: expected "add <set> <entry> …"',
    );
  });

  it('keeps the options that make a set more than a plain list of addresses', () => {
    const sets = parseSave(
      'create a hash:net family inet hashsize 1024 maxelem 65536 timeout 300\nadd a 192.0.2.1 timeout 299\n' +
        'create b hash:net family inet hashsize 1024 maxelem 65536\nadd b 192.0.2.0/24 nomatch\n',
      () => true,
    );
    expect(sets.get('a')?.extensions).toEqual(['timeout', '300']);
    expect(sets.get('b')?.optioned).toEqual(['192.0.2.0/24 nomatch']);
  });
});

describe('ipset adapter (real ipset in a private network namespace)', () => {
  it('creates both sets when missing, fills them by a swap, and reads them back normalised', async () => {
    const a = adapter();
    const snapshot = await a.read([{ list: 'web', remote: 'web' }]);
    expect(snapshot.lists.get('web')?.owned).toEqual(new Set());
    const p = planFor(a, snapshot, [
      update(
        ['192.0.2.1', '2001:DB8::1', '198.51.100.0/24'],
        [],
        ['192.0.2.1', '2001:db8::1', '198.51.100.0/24'],
      ),
    ]);
    expect(p.operations.map((o) => o.description)).toEqual([
      `create set ${prefix}web_v4 hash:net family inet maxelem 65536`,
      `rebuild set ${prefix}web_v4 (2 entries) and swap it in`,
      `create set ${prefix}web_v6 hash:net family inet6 maxelem 65536`,
      `rebuild set ${prefix}web_v6 (1 entry) and swap it in`,
    ]);
    const temp4 = tempName(prefix, `${prefix}web_v4`);
    const temp6 = tempName(prefix, `${prefix}web_v6`);
    expect(a.script(p).text).toBe(
      [
        `create ${prefix}web_v4 hash:net family inet maxelem 65536`,
        `create ${prefix}web_v6 hash:net family inet6 maxelem 65536`,
        `create ${temp4} hash:net family inet maxelem 65536`,
        `add ${temp4} 192.0.2.1`,
        `add ${temp4} 198.51.100.0/24`,
        `create ${temp6} hash:net family inet6 maxelem 65536`,
        `add ${temp6} 2001:db8::1`,
        `swap ${temp4} ${prefix}web_v4`,
        `swap ${temp6} ${prefix}web_v6`,
        `destroy ${temp4}`,
        `destroy ${temp6}`,
        '',
      ].join('\n'),
    );
    const r = await a.apply(p);
    expect(r.error).toBeUndefined();
    expect(r.applied).toHaveLength(3);
    expect(r.done).toEqual(p.operations);
    expect(entries(`${prefix}web_v4`)).toEqual(['192.0.2.1', '198.51.100.0/24']);
    expect(entries(`${prefix}web_v6`)).toEqual(['2001:db8::1']);
    expect(inNs('ipset', ['save', `${prefix}web_v4`])).toMatch(
      /^create \S+ hash:net family inet .*maxelem 65536/,
    );
    // No temporary set is left behind.
    expect(setNames().filter((n) => n.startsWith(prefix))).toEqual([`${prefix}web_v4`, `${prefix}web_v6`]);
    const back = await adapter().read([{ list: 'web', remote: 'web' }]);
    expect([...back.lists.get('web')!.owned].sort()).toEqual(['192.0.2.1', '198.51.100.0/24', '2001:db8::1']);
    expect(planFor(a, back, [{ list: 'web' }]).operations).toEqual([]);
  });

  it('add (held additions): creates a missing set as a sync would and adds entries without a read; one already there is no error', async () => {
    const a = adapter();
    const web = { list: 'web', remote: 'web' };
    const r = await a.add([{ ref: web, add: [add('192.0.2.20'), add('2001:db8::20')] }]);
    expect(r).toEqual({ applied: [add('192.0.2.20'), add('2001:db8::20')], done: [] });
    expect(entries(`${prefix}web_v4`)).toEqual(['192.0.2.20']);
    expect(entries(`${prefix}web_v6`)).toEqual(['2001:db8::20']);
    expect((await a.add([{ ref: web, add: [add('192.0.2.20'), add('192.0.2.21')] }])).error).toBeUndefined();
    expect(entries(`${prefix}web_v4`)).toEqual(['192.0.2.20', '192.0.2.21']);
    // What add made, a sync reads and plans on without a change.
    const back = await a.read([web]);
    expect(planFor(a, back, [{ list: 'web' }]).operations).toEqual([]);
  });

  fault('add fails on a set of another type and confirms nothing', async () => {
    inNs('ipset', ['create', `${prefix}web_v4`, 'hash:ip']);
    const r = await adapter().add([{ ref: { list: 'web', remote: 'web' }, add: [add('192.0.2.20')] }]);
    expect(r.applied).toEqual([]);
    expect(r.error).toMatch(/^ipset restore failed: .*; nothing confirmed$/);
  });

  it('creates the sets of an empty list, so rules can use them; families: [ipv4] makes no _v6 set', async () => {
    const a = adapter({ families: ['ipv4'] });
    const p = await plan(a, [{ list: 'web' }]);
    expect(p.operations.map((o) => o.kind)).toEqual(['create-set']);
    expect((await a.apply(p)).error).toBeUndefined();
    expect(setNames().filter((n) => n.startsWith(prefix))).toEqual([`${prefix}web_v4`]);
    expect(entries(`${prefix}web_v4`)).toEqual([]);
  });

  it('swaps a changed set in under a rule that uses it; only the changed family is rebuilt', async () => {
    const a = adapter();
    await a.apply(await plan(a, [update(['192.0.2.1', '2001:db8::1'], [], ['192.0.2.1', '2001:db8::1'])]));
    inNs('iptables', ['-A', 'FORWARD', '-m', 'set', '--match-set', `${prefix}web_v4`, 'dst', '-j', 'ACCEPT']);
    try {
      const p = await plan(a, [update(['192.0.2.2'], ['192.0.2.1'], ['192.0.2.2', '2001:db8::1'])]);
      expect(p.operations.map((o) => o.description)).toEqual([
        `rebuild set ${prefix}web_v4 (1 entry) and swap it in`,
      ]);
      const r = await a.apply(p);
      expect(r.error).toBeUndefined();
      expect(entries(`${prefix}web_v4`)).toEqual(['192.0.2.2']);
      expect(entries(`${prefix}web_v6`)).toEqual(['2001:db8::1']);
      // The rule follows the name: it matches the new content, and the old set is gone.
      expect(inNs('iptables', ['-S', 'FORWARD'])).toContain(`--match-set ${prefix}web_v4 dst`);
      expect(setNames().filter((n) => n.startsWith(prefix))).toEqual([`${prefix}web_v4`, `${prefix}web_v6`]);
    } finally {
      inNs('iptables', ['-F', 'FORWARD']);
    }
  });

  it('never touches a set that is not named for a list, nor its entries', async () => {
    inNs(
      'ipset',
      ['restore'],
      `create ${prefix}foreign hash:ip family inet\nadd ${prefix}foreign 192.0.2.200\n`,
    );
    inNs(
      'ipset',
      ['restore'],
      `create ${prefix}api_v4 hash:net family inet\nadd ${prefix}api_v4 192.0.2.201\n`,
    );
    const before = inNs('ipset', ['save'])
      .split('\n')
      .filter((l) => l.includes(`${prefix}foreign`) || l.includes(`${prefix}api`));
    const a = adapter();
    await a.apply(await plan(a, [update(['192.0.2.1'], [], ['192.0.2.1'])]));
    await a.apply(await plan(a, [update(['192.0.2.2'], ['192.0.2.1'], ['192.0.2.2'])]));
    const after = inNs('ipset', ['save'])
      .split('\n')
      .filter((l) => l.includes(`${prefix}foreign`) || l.includes(`${prefix}api`));
    expect(after).toEqual(before);
  });

  fault('refuses a set of its name with another type, and says what to do', async () => {
    inNs('ipset', ['create', `${prefix}web_v4`, 'hash:ip', 'family', 'inet']);
    inNs('ipset', ['create', `${prefix}web_v6`, 'hash:net', 'family', 'inet6', 'timeout', '300']);
    const advice = (set: string, found: string, needed: string) =>
      `set ${set} ${found}; dnsfence needs a plain hash:net family ${needed}: remove the iptables rules that use it, ` +
      `destroy it (${ipsetCmd.join(' ')} destroy ${set}), and the next sync creates it anew`;
    await rejectsOnTarget(
      adapter().read([{ list: 'web', remote: 'web' }]),
      'legacy',
      advice(`${prefix}web_v4`, 'is hash:ip family inet', 'inet'),
    );
    await rejectsOnTarget(
      adapter().check(),
      'legacy',
      `${advice(`${prefix}web_v4`, 'is hash:ip family inet', 'inet')}; ${advice(`${prefix}web_v6`, 'was created with timeout 300', 'inet6')}`,
    );
    // Never replaced: both sets are still there as they were.
    expect(inNs('ipset', ['save', `${prefix}web_v4`])).toMatch(/hash:ip family inet/);
  });

  fault(
    'a list larger than maxelem fails the target before anything is written, with what to do',
    async () => {
      const a = adapter({ maxelem: 2 });
      const three = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
      const snapshot = await a.read([{ list: 'web', remote: 'web' }]);
      expect(() => planFor(a, snapshot, [update(three, [], three)])).toThrow(
        `list web needs 3 entries in set ${prefix}web_v4, more than maxelem 2 allows: raise maxelem on the target ` +
          '(the next sync rebuilds the set with it); nothing was written',
      );
      expect(setNames().filter((n) => n.startsWith(prefix))).toEqual([]);
      // Raised, the next sync creates the set with the new maxelem.
      const big = adapter({ maxelem: 4 });
      expect((await big.apply(await plan(big, [update(three, [], three)]))).error).toBeUndefined();
      expect(inNs('ipset', ['save', `${prefix}web_v4`])).toMatch(/maxelem 4\b/);
    },
  );

  fault('a restore refused part-way swaps nothing in, leaves no temporary set, and says where', async () => {
    const lists = new Map([
      ['web', 'web'],
      ['api', 'api'],
    ]);
    const a = adapter({ families: ['ipv4'] }, lists);
    await a.apply(await plan(a, [update(['192.0.2.1'], [], ['192.0.2.1']), update([], [], [], 'api')]));
    // The second list holds an entry ipset refuses, after the first list's entries.
    const p = await plan(a, [
      update(['192.0.2.2'], [], ['192.0.2.1', '192.0.2.2']),
      update(['198.51.100.0/33'], [], ['198.51.100.0/33'], 'api'),
    ]);
    const r = await a.apply(p);
    expect(r.applied).toEqual([]);
    expect(r.done).toEqual([]);
    expect(r.error).toMatch(
      new RegExp(
        `^ipset restore failed at line \\d+ \\(add \\S+ 198\\.51\\.100\\.0/33\\): .*; no set was swapped, nothing applied$`,
      ),
    );
    expect(entries(`${prefix}web_v4`)).toEqual(['192.0.2.1']);
    expect(setNames().filter((n) => n.startsWith(prefix))).toEqual([`${prefix}api_v4`, `${prefix}web_v4`]);
  });

  fault(
    'a swap that fails after another took place: exactly the swapped list counts as applied',
    async () => {
      const lists = new Map([
        ['web', 'web'],
        ['api', 'api'],
      ]);
      const a = adapter({ families: ['ipv4'] }, lists);
      await a.apply(
        await plan(a, [
          update(['192.0.2.1'], [], ['192.0.2.1']),
          update(['198.51.100.1'], [], ['198.51.100.1'], 'api'),
        ]),
      );
      const p = await plan(a, [
        update(['192.0.2.2'], [], ['192.0.2.1', '192.0.2.2']),
        update(['198.51.100.2'], [], ['198.51.100.1', '198.51.100.2'], 'api'),
      ]);
      // Destroyed by hand between the read and the write: the second swap has nothing to swap with.
      inNs('ipset', ['destroy', `${prefix}api_v4`]);
      const r = await a.apply(p);
      expect(r.applied.map((c) => c.address)).toEqual(['192.0.2.2']);
      expect(r.done.map((o) => o.description)).toEqual([
        `rebuild set ${prefix}web_v4 (2 entries) and swap it in`,
      ]);
      expect(r.error).toMatch(new RegExp(`swapped in before it: ${prefix}web_v4; the rest untouched$`));
      expect(entries(`${prefix}web_v4`)).toEqual(['192.0.2.1', '192.0.2.2']);
      expect(setNames().filter((n) => n.startsWith(prefix))).toEqual([`${prefix}web_v4`]);
    },
  );

  fault(
    'a wrapper that dies part-way through the script: no live set changes, and the next sync does it all',
    async () => {
      const a = adapter({ families: ['ipv4'] });
      await a.apply(await plan(a, [update(['192.0.2.1'], [], ['192.0.2.1'])]));
      // Hands ipset only the first lines of the restore script (the temporary set, half filled), then fails.
      const broken = wrapper(
        'ipset-broken',
        `if [ "$1" = restore ]; then head -n 3 | ${ipsetCmd.join(' ')} restore; echo "connection lost" >&2; exit 255; fi\nexec ${ipsetCmd.join(' ')} "$@"`,
      );
      const b = adapter({ families: ['ipv4'], ipset: [broken] });
      const many = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'];
      const r = await b.apply(await plan(b, [update(many.slice(1), [], many)]));
      expect(r).toMatchObject({ applied: [], done: [] });
      expect(r.error).toBe('ipset restore failed: connection lost; no set was swapped, nothing applied');
      expect(entries(`${prefix}web_v4`)).toEqual(['192.0.2.1']);
      // The half-filled temporary set went with the failure.
      expect(setNames().filter((n) => n.startsWith(prefix))).toEqual([`${prefix}web_v4`]);
      const retry = await a.apply(await plan(a, [update(many.slice(1), [], many)]));
      expect(retry.error).toBeUndefined();
      expect(entries(`${prefix}web_v4`)).toEqual(many);
    },
  );

  fault('a temporary set left by a killed sync is destroyed by the next, which then rebuilds', async () => {
    const a = adapter({ families: ['ipv4'] });
    await a.apply(await plan(a, [update(['192.0.2.1'], [], ['192.0.2.1'])]));
    const temp = tempName(prefix, `${prefix}web_v4`);
    inNs('ipset', ['restore'], `create ${temp} hash:net family inet\nadd ${temp} 203.0.113.1\n`);
    const quiet = await plan(a, [update([], [], ['192.0.2.1'])]);
    expect(quiet.operations.map((o) => o.description)).toEqual([
      `destroy set ${temp}, left behind by an interrupted sync`,
    ]);
    expect(await adapter().check()).toContain(
      `${temp} left behind by an interrupted sync (the next sync destroys it)`,
    );
    inNs('ipset', ['destroy', temp]);
    inNs('ipset', ['restore'], `create ${temp} hash:net family inet\n`);
    const p = await plan(a, [update(['192.0.2.2'], [], ['192.0.2.1', '192.0.2.2'])]);
    expect((await a.apply(p)).error).toBeUndefined();
    expect(entries(`${prefix}web_v4`)).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(setNames().filter((n) => n.startsWith(prefix))).toEqual([`${prefix}web_v4`]);
  });

  fault(
    'check: the command runs and the kernel answers; a missing ipset or one string with spaces in one line',
    async () => {
      expect(await adapter().check()).toBe(
        'ipset save answers; 0 of 2 set(s) exist (the next sync creates the others)',
      );
      await rejectsOnTarget(
        adapter({ ipset: ['/nonexistent/ipset'] }).check(),
        'legacy',
        '/nonexistent/ipset not found (is ipset installed? Debian: apt-get install ipset)',
      );
      await rejectsOnTarget(
        adapter({ ipset: [ipsetCmd.join(' ')] }).read([{ list: 'web', remote: 'web' }]),
        'legacy',
        `no program named "${ipsetCmd.join(' ')}" (write the command as a list: [${ipsetCmd.join(', ')}])`,
      );
      // Refused by the kernel (no CAP_NET_ADMIN): the target fails with why.
      const nobody = wrapper(
        'ipset-nobody',
        `exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all ipset "$@"`,
      );
      await rejectsOnTarget(
        adapter({ ipset: [nobody] }).check(),
        'legacy',
        'ipset save failed: Kernel error received: Operation not permitted (ipset needs root or CAP_NET_ADMIN)',
      );
    },
  );

  it('a host /0 cannot be held by hash:net: the planner leaves it out', () => {
    const a = adapter();
    expect(a.accepts('0.0.0.0/0')).toBe(false);
    expect(a.accepts('::/0')).toBe(false);
    expect(a.accepts('198.51.100.0/24')).toBe(true);
  });
});
