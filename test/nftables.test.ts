import { recordTargetFaults } from './faults/campaign.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NftablesAdapter, chooseStrategy } from '../adapters/nftables/index.js';
import type { ListUpdate } from '../adapters/types.js';
import type { NftablesTargetConfig } from '../src/config/types.js';
import type { Change } from '../src/model/change.js';
import { netns, setElements } from './helpers.js';

let ns: ReturnType<typeof netns>;

beforeAll(() => {
  ns = netns();
});
afterAll(() => ns?.cleanup()); // undefined when netns() refused (not root)

function adapter(over: Partial<NftablesTargetConfig> = {}): NftablesAdapter {
  return new NftablesAdapter({
    type: 'nftables',
    name: 'local',
    family: 'inet',
    table: 'dnsfence',
    nft: ns.nft,
    timeoutMs: 10_000,
    lists: new Map([['web', 'web']]),
    ...over,
  });
}

const add = (address: string): Change => ({
  target: 'local',
  list: 'web',
  action: 'added',
  address,
  names: ['www.example.com'],
  reason: 'dns',
});
const del = (address: string): Change => ({ ...add(address), action: 'removed', reason: 'expired' });

function update(adds: string[], removes: string[], desired: string[]): ListUpdate {
  return { list: 'web', remote: 'web', add: adds.map(add), remove: removes.map(del), desired, relabel: [] };
}

describe('nftables adapter (real nft in a private network namespace)', () => {
  it('creates the table and both interval sets when missing, and reads them back normalised', async () => {
    const a = adapter();
    expect(await a.read([{ list: 'web', remote: 'web' }])).toEqual(new Map([['web', new Set()]]));
    const r = await a.apply([
      update(
        ['192.0.2.1', '2001:DB8::1', '198.51.100.0/24'],
        [],
        ['192.0.2.1', '2001:db8::1', '198.51.100.0/24'],
      ),
    ]);
    expect(r.error).toBeUndefined();
    expect(r.applied).toHaveLength(3);
    const listed = JSON.parse(ns.exec(['-j', 'list', 'set', 'inet', 'dnsfence', 'web_v4'])) as {
      nftables: { set?: { type: string; flags: string[] } }[];
    };
    expect(listed.nftables.find((x) => x.set)?.set).toMatchObject({ type: 'ipv4_addr', flags: ['interval'] });
    const back = await adapter().read([{ list: 'web', remote: 'web' }]);
    expect([...back.get('web')!].sort()).toEqual(['192.0.2.1', '198.51.100.0/24', '2001:db8::1']);
  });

  it('applies additions and a few deletions incrementally in one transaction', async () => {
    const a = adapter();
    await a.read([{ list: 'web', remote: 'web' }]);
    expect(
      a.script(
        [update(['192.0.2.2'], ['192.0.2.1'], ['192.0.2.2', '198.51.100.0/24', '2001:db8::1'])],
        false,
      ),
    ).toBe(
      'add element inet dnsfence web_v4 { 192.0.2.2 }\ndelete element inet dnsfence web_v4 { 192.0.2.1 }\n',
    );
    const r = await a.apply([
      update(['192.0.2.2'], ['192.0.2.1'], ['192.0.2.2', '198.51.100.0/24', '2001:db8::1']),
    ]);
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
    await a.read([{ list: 'web', remote: 'web' }]);
    await a.apply([update(many, [], [...many, '192.0.2.2', '198.51.100.0/24', '2001:db8::1'])]);
    await a.read([{ list: 'web', remote: 'web' }]);
    const script = a.script([update([], many, ['192.0.2.2', '198.51.100.0/24', '2001:db8::1'])], false);
    expect(script).toContain('flush set inet dnsfence web_v4');
    expect(script).not.toContain('flush set inet dnsfence web_v6');
    const r = await a.apply([update([], many, ['192.0.2.2', '198.51.100.0/24', '2001:db8::1'])]);
    expect(r.error).toBeUndefined();
    expect(setElements(ns, 'inet', 'dnsfence', 'web_v4')).toEqual([
      '192.0.2.2',
      '{"prefix":{"addr":"198.51.100.0","len":24}}',
    ]);
  });

  it('recovers when an element vanished between read and apply', async () => {
    const a = adapter();
    await a.read([{ list: 'web', remote: 'web' }]);
    ns.exec(['delete', 'element', 'inet', 'dnsfence', 'web_v4', '{ 192.0.2.2 }']);
    const r = await a.apply([update(['192.0.2.3'], ['192.0.2.2'], ['192.0.2.3', '198.51.100.0/24'])]);
    expect(r.error).toBeUndefined();
    expect(setElements(ns, 'inet', 'dnsfence', 'web_v4')).toEqual([
      '192.0.2.3',
      '{"prefix":{"addr":"198.51.100.0","len":24}}',
    ]);
  });

  it('a failing transaction changes nothing and says why', async () => {
    const a = adapter();
    await a.read([{ list: 'web', remote: 'web' }]);
    const before = setElements(ns, 'inet', 'dnsfence', 'web_v4');
    // A /33 prefix is refused by nft: the batch must roll back the valid addition with it.
    const r = await a.apply([
      {
        list: 'web',
        remote: 'web',
        add: [add('192.0.2.77'), add('192.0.2.0/33')],
        remove: [],
        desired: [],
        relabel: [],
      },
    ]);
    expect(r.applied).toEqual([]);
    expect(r.error).toMatch(/nft -f failed, nothing applied/);
    expect(setElements(ns, 'inet', 'dnsfence', 'web_v4')).toEqual(before);
  });

  it('a partial push cannot happen: a batch refused part-way applies nothing, and the next sync applies all of it', async () => {
    const lists = new Map([
      ['web', 'web'],
      ['api', 'api'],
    ]);
    const a = adapter({ table: 'partial', lists });
    await a.read([
      { list: 'web', remote: 'web' },
      { list: 'api', remote: 'api' },
    ]);
    const web = update(['192.0.2.10', '192.0.2.11'], [], ['192.0.2.10', '192.0.2.11']);
    // The second half of the batch (list api) holds an element nft refuses, after the first half.
    const broken: ListUpdate = {
      ...update(['198.51.100.10', '198.51.100.0/33'], [], []),
      list: 'api',
      remote: 'api',
    };
    const failed = await a.apply([web, broken]);
    expect(failed.applied).toEqual([]);
    expect(failed.error).toMatch(/nothing applied/);
    // Not even the table the batch was to create exists: the kernel took all of it or none.
    expect(() => ns.exec(['list', 'table', 'inet', 'partial'])).toThrow(/No such file or directory/);
    const api = { ...update(['198.51.100.10'], [], ['198.51.100.10']), list: 'api', remote: 'api' };
    // The next sync: read, then push.
    const next = adapter({ table: 'partial', lists });
    await next.read([
      { list: 'web', remote: 'web' },
      { list: 'api', remote: 'api' },
    ]);
    const retry = await next.apply([web, api]);
    expect(retry.error).toBeUndefined();
    expect(retry.applied).toHaveLength(3);
    expect(setElements(ns, 'inet', 'partial', 'web_v4')).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(setElements(ns, 'inet', 'partial', 'api_v4')).toEqual(['198.51.100.10']);
  });

  it('family ip manages only IPv4 sets', async () => {
    const a = adapter({ family: 'ip', table: 'v4only' });
    expect(a.families).toEqual(['ipv4']);
    await a.read([{ list: 'web', remote: 'web' }]);
    await a.apply([update(['192.0.2.9'], [], ['192.0.2.9'])]);
    const sets = JSON.parse(ns.exec(['-j', 'list', 'sets', 'ip'])) as {
      nftables: { set?: { name: string } }[];
    };
    expect(sets.nftables.flatMap((x) => (x.set ? [x.set.name] : []))).toEqual(['web_v4']);
  });

  it('refuses to manage a set of the right name but the wrong type', async () => {
    ns.exec(['-f', '-'], 'add table inet other\nadd set inet other web_v4 { type ipv4_addr; }\n');
    const a = adapter({ table: 'other' });
    await expect(a.read([{ list: 'web', remote: 'web' }])).rejects.toThrow(
      'target local: set inet other web_v4 has no flags interval; dnsfence needs { type ipv4_addr; flags interval; }: ' +
        'delete it (nft delete set inet other web_v4) and the next sync creates it anew',
    );
  });

  it('check fails on every set made by hand that a sync would refuse, and says what to do', async () => {
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
    await expect(adapter({ table: 'byhand', lists }).check()).rejects.toThrow(
      'target local: set inet byhand web_v4 has no flags interval; dnsfence needs { type ipv4_addr; flags interval; }: ' +
        'delete it (nft delete set inet byhand web_v4) and the next sync creates it anew; ' +
        'set inet byhand web_v6 has type ipv4_addr; dnsfence needs { type ipv6_addr; flags interval; }: ' +
        'delete it (nft delete set inet byhand web_v6) and the next sync creates it anew',
    );
    ns.exec(['delete', 'set', 'inet', 'byhand', 'web_v4']);
    ns.exec(['delete', 'set', 'inet', 'byhand', 'web_v6']);
    expect(await adapter({ table: 'byhand', lists }).check()).toBe('table inet byhand holds 1 set(s)');
  });

  it('nft written as one string with spaces: the error says to write it as a list', async () => {
    const a = adapter({ nft: [ns.nft.join(' ')] });
    const advice = `target local: no program named "${ns.nft.join(' ')}" (write the command as a list: [${ns.nft.join(', ')}])`;
    await expect(a.check()).rejects.toThrow(advice);
    await expect(a.read([{ list: 'web', remote: 'web' }])).rejects.toThrow(advice);
  });

  it('reports a missing nft binary in one line', async () => {
    const a = adapter({ nft: ['/nonexistent/nft'] });
    await expect(a.read([{ list: 'web', remote: 'web' }])).rejects.toThrow(
      'target local: /nonexistent/nft not found (is nftables installed?)',
    );
  });
});

afterEach((context) => recordTargetFaults('nftables', context.task));
