import { faultCase } from './faults/campaign.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseStrategy, NftablesAdapter, type NftDetail } from '../adapters/nftables/adapter.js';
import type { NftablesSettings } from '../adapters/nftables/settings.js';
import type { TargetConfig } from '../src/config/types.js';
import type { ListPlan } from '../src/planner/target.js';

import { netns, setElements } from './helpers.js';
import { change, planFor, rejectsOnTarget } from './plans.js';

const fault = faultCase('nftables');

let ns: ReturnType<typeof netns>;

beforeAll(() => {
  ns = netns();
});
afterAll(() => ns?.cleanup());

function adapter(over: Partial<NftablesSettings> = {}, lists = new Map([['web', 'web']])): NftablesAdapter {
  const config: TargetConfig<NftablesSettings> = {
    type: 'nftables',
    name: 'local',
    timeoutMs: 10_000,
    lists,
    settings: { family: 'inet', table: 'dnsfence', nft: ns.nft, ...over },
  };
  return new NftablesAdapter(config);
}

const add = (address: string) => change(address);
const del = (address: string) => change(address, { action: 'removed', reason: 'expired' });

function update(
  adds: string[],
  removes: string[],
  desired: string[],
  list = 'web',
): Partial<ListPlan> & { list: string } {
  return { list, add: adds.map(add), remove: removes.map(del), desired };
}

const WEB = [{ list: 'web', remote: 'web' }];

/** Reads the target, then plans these list changes on what was read: the sync's order. */
async function plan(a: NftablesAdapter, lists: (Partial<ListPlan> & { list: string })[]) {
  const snapshot = await a.read(lists.map((l) => ({ list: l.list, remote: l.list })));
  return planFor<NftDetail>(a, snapshot, lists);
}

describe('nftables adapter (real nft in a private network namespace)', () => {
  it('creates the table and both interval sets when missing, and reads them back normalised', async () => {
    const a = adapter();
    const snapshot = await a.read(WEB);
    expect(snapshot.lists.get('web')?.owned).toEqual(new Set());
    const p = planFor(a, snapshot, [
      update(
        ['192.0.2.1', '2001:DB8::1', '198.51.100.0/24'],
        [],
        ['192.0.2.1', '2001:db8::1', '198.51.100.0/24'],
      ),
    ]);
    // The plan says what the push will do beyond the entries: the table and sets it creates.
    expect(p.operations.map((o) => o.description)).toEqual([
      'create table inet dnsfence',
      'create set inet dnsfence web_v4 { type ipv4_addr; flags interval; }',
      'create set inet dnsfence web_v6 { type ipv6_addr; flags interval; }',
    ]);
    const r = await a.apply(p);
    expect(r.error).toBeUndefined();
    expect(r.applied).toHaveLength(3);
    expect(r.done).toEqual(p.operations);
    const listed = JSON.parse(ns.exec(['-j', 'list', 'set', 'inet', 'dnsfence', 'web_v4'])) as {
      nftables: { set?: { type: string; flags: string[] } }[];
    };
    expect(listed.nftables.find((x) => x.set)?.set).toMatchObject({ type: 'ipv4_addr', flags: ['interval'] });
    const back = await adapter().read(WEB);
    expect([...back.lists.get('web')!.owned].sort()).toEqual(['192.0.2.1', '198.51.100.0/24', '2001:db8::1']);
    expect(planFor(a, back, [{ list: 'web' }]).operations).toEqual([]);
  });

  it('applies additions and a few deletions incrementally in one transaction', async () => {
    const a = adapter();
    const p = await plan(a, [
      update(['192.0.2.2'], ['192.0.2.1'], ['192.0.2.2', '198.51.100.0/24', '2001:db8::1']),
    ]);
    expect(a.script(p, p.snapshot.detail, p.operations, false)).toBe(
      'add element inet dnsfence web_v4 { 192.0.2.2 }\ndelete element inet dnsfence web_v4 { 192.0.2.1 }\n',
    );
    const r = await a.apply(p);
    expect(r.error).toBeUndefined();
    expect(setElements(ns, 'inet', 'dnsfence', 'web_v4')).toEqual([
      '192.0.2.2',
      '{"prefix":{"addr":"198.51.100.0","len":24}}',
    ]);
  });

  it('replaces a whole set (flush + add, atomically) when many entries leave', async () => {
    expect(chooseStrategy(3)).toBe('incremental');
    expect(chooseStrategy(50)).toBe('replace');
    const a = adapter();
    const many = Array.from({ length: 40 }, (_, i) => `203.0.113.${i + 1}`);
    await a.apply(
      await plan(a, [update(many, [], [...many, '192.0.2.2', '198.51.100.0/24', '2001:db8::1'])]),
    );
    const p = await plan(a, [update([], many, ['192.0.2.2', '198.51.100.0/24', '2001:db8::1'])]);
    const script = a.script(p, p.snapshot.detail, p.operations, false);
    expect(script).toContain('flush set inet dnsfence web_v4');
    expect(script).not.toContain('flush set inet dnsfence web_v6');
    const r = await a.apply(p);
    expect(r.error).toBeUndefined();
    expect(setElements(ns, 'inet', 'dnsfence', 'web_v4')).toEqual([
      '192.0.2.2',
      '{"prefix":{"addr":"198.51.100.0","len":24}}',
    ]);
  });

  fault('recovers when an element vanished between read and apply', async () => {
    const a = adapter();
    const p = await plan(a, [update(['192.0.2.3'], ['192.0.2.2'], ['192.0.2.3', '198.51.100.0/24'])]);
    ns.exec(['delete', 'element', 'inet', 'dnsfence', 'web_v4', '{ 192.0.2.2 }']);
    const r = await a.apply(p);
    expect(r.error).toBeUndefined();
    expect(setElements(ns, 'inet', 'dnsfence', 'web_v4')).toEqual([
      '192.0.2.3',
      '{"prefix":{"addr":"198.51.100.0","len":24}}',
    ]);
  });

  fault('a failing transaction changes nothing and says why', async () => {
    const a = adapter();
    const before = setElements(ns, 'inet', 'dnsfence', 'web_v4');
    // A /33 prefix is refused by nft: the batch must roll back the valid addition with it.
    const r = await a.apply(await plan(a, [{ list: 'web', add: [add('192.0.2.77'), add('192.0.2.0/33')] }]));
    expect(r.applied).toEqual([]);
    expect(r.done).toEqual([]);
    expect(r.error).toMatch(/nft -f failed, nothing applied/);
    expect(setElements(ns, 'inet', 'dnsfence', 'web_v4')).toEqual(before);
  });

  fault(
    'a partial push cannot happen: a batch refused part-way applies nothing, and the next sync applies all of it',
    async () => {
      const lists = new Map([
        ['web', 'web'],
        ['api', 'api'],
      ]);
      const a = adapter({ table: 'partial' }, lists);
      const web = update(['192.0.2.10', '192.0.2.11'], [], ['192.0.2.10', '192.0.2.11']);
      // The second half of the batch (list api) holds an element nft refuses, after the first half.
      const broken = update(['198.51.100.10', '198.51.100.0/33'], [], [], 'api');
      const failed = await a.apply(await plan(a, [web, broken]));
      expect(failed.applied).toEqual([]);
      expect(failed.error).toMatch(/nothing applied/);
      // Not even the table the batch was to create exists: the kernel took all of it or none.
      expect(() => ns.exec(['list', 'table', 'inet', 'partial'])).toThrow(/No such file or directory/);
      const api = update(['198.51.100.10'], [], ['198.51.100.10'], 'api');
      // The next sync: read, plan, push.
      const next = adapter({ table: 'partial' }, lists);
      const retry = await next.apply(await plan(next, [web, api]));
      expect(retry.error).toBeUndefined();
      expect(retry.applied).toHaveLength(3);
      expect(setElements(ns, 'inet', 'partial', 'web_v4')).toEqual(['192.0.2.10', '192.0.2.11']);
      expect(setElements(ns, 'inet', 'partial', 'api_v4')).toEqual(['198.51.100.10']);
    },
  );

  it('add (held additions): creates what is missing and adds in one transaction without a read; an entry already there is no error', async () => {
    const a = adapter({ table: 'held' });
    const r = await a.add([
      { ref: { list: 'web', remote: 'web' }, add: [add('192.0.2.20'), add('2001:db8::20')] },
    ]);
    expect(r).toEqual({ applied: [add('192.0.2.20'), add('2001:db8::20')], done: [] });
    expect(setElements(ns, 'inet', 'held', 'web_v4')).toEqual(['192.0.2.20']);
    expect(setElements(ns, 'inet', 'held', 'web_v6')).toEqual(['2001:db8::20']);
    // The sets are as a sync makes them: a sync reads them without complaint.
    expect([...(await a.read(WEB)).lists.get('web')!.owned].sort()).toEqual(['192.0.2.20', '2001:db8::20']);
    const again = await a.add([
      { ref: { list: 'web', remote: 'web' }, add: [add('192.0.2.20'), add('192.0.2.21')] },
    ]);
    expect(again.error).toBeUndefined();
    expect(setElements(ns, 'inet', 'held', 'web_v4')).toEqual(['192.0.2.20', '192.0.2.21']);
    // A family the target does not hold is not confirmed.
    const v4 = adapter({ family: 'ip', table: 'heldv4' });
    expect(
      (await v4.add([{ ref: { list: 'web', remote: 'web' }, add: [add('2001:db8::9')] }])).applied,
    ).toEqual([]);
  });

  fault('add fails as a whole on an element inside a prefix of the set, adding nothing', async () => {
    const a = adapter({ table: 'heldover' });
    await a.add([{ ref: { list: 'web', remote: 'web' }, add: [add('198.51.100.0/24')] }]);
    const r = await a.add([
      { ref: { list: 'web', remote: 'web' }, add: [add('192.0.2.30'), add('198.51.100.7')] },
    ]);
    expect(r.applied).toEqual([]);
    expect(r.error).toMatch(/^nft -f failed, nothing added: .*overlaps/);
    expect([...(await a.read(WEB)).lists.get('web')!.owned]).toEqual(['198.51.100.0/24']);
  });

  it('family ip manages only IPv4 sets', async () => {
    const a = adapter({ family: 'ip', table: 'v4only' });
    const p = await plan(a, [update(['192.0.2.9'], [], ['192.0.2.9'])]);
    expect(p.operations.map((o) => o.kind)).toEqual(['create-table', 'create-set']);
    await a.apply(p);
    const sets = JSON.parse(ns.exec(['-j', 'list', 'sets', 'ip'])) as {
      nftables: { set?: { name: string } }[];
    };
    expect(sets.nftables.flatMap((x) => (x.set ? [x.set.name] : []))).toEqual(['web_v4']);
  });

  fault('refuses to manage a set of the right name but the wrong type', async () => {
    ns.exec(['-f', '-'], 'add table inet other\nadd set inet other web_v4 { type ipv4_addr; }\n');
    const a = adapter({ table: 'other' });
    await rejectsOnTarget(
      a.read(WEB),
      'local',
      'set inet other web_v4 has no flags interval; dnsfence needs { type ipv4_addr; flags interval; }: ' +
        'delete it (nft delete set inet other web_v4) and the next sync creates it anew',
    );
  });

  fault('check fails on every set made by hand that a sync would refuse, and says what to do', async () => {
    ns.exec(
      ['-f', '-'],
      'add table inet byhand\n' +
        'add set inet byhand web_v4 { type ipv4_addr; }\n' +
        'add set inet byhand web_v6 { type ipv4_addr; flags interval; }\n' +
        'add set inet byhand api_v4 { type ipv4_addr; flags interval; }\n',
    );
    const lists = new Map([
      ['web', 'web'],
      ['api', 'api'],
    ]);
    await rejectsOnTarget(
      adapter({ table: 'byhand' }, lists).check(),
      'local',
      'set inet byhand web_v4 has no flags interval; dnsfence needs { type ipv4_addr; flags interval; }: ' +
        'delete it (nft delete set inet byhand web_v4) and the next sync creates it anew; ' +
        'set inet byhand web_v6 has type ipv4_addr; dnsfence needs { type ipv6_addr; flags interval; }: ' +
        'delete it (nft delete set inet byhand web_v6) and the next sync creates it anew',
    );
    ns.exec(['delete', 'set', 'inet', 'byhand', 'web_v4']);
    ns.exec(['delete', 'set', 'inet', 'byhand', 'web_v6']);
    expect(await adapter({ table: 'byhand' }, lists).check()).toBe('table inet byhand holds 1 set(s)');
  });

  fault('nft written as one string with spaces: the error says to write it as a list', async () => {
    const a = adapter({ nft: [ns.nft.join(' ')] });
    const advice = `no program named "${ns.nft.join(' ')}" (write the command as a list: [${ns.nft.join(', ')}])`;
    await rejectsOnTarget(a.check(), 'local', advice);
    await rejectsOnTarget(a.read(WEB), 'local', advice);
  });

  fault('reports a missing nft binary in one line', async () => {
    const a = adapter({ nft: ['/nonexistent/nft'] });
    await rejectsOnTarget(a.read(WEB), 'local', '/nonexistent/nft not found (is nftables installed?)');
  });
});
