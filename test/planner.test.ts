import { describe, expect, it } from 'vitest';
import { parseAddress } from '../src/address.js';
import type { ListConfig } from '../src/config/types.js';
import { desiredList } from '../src/planner/desired.js';
import { diffList } from '../src/planner/diff.js';
import { applySafety } from '../src/planner/safety.js';
import type { NameStatus, Sighting } from '../src/model/observation.js';
import { familyOf } from '../src/address.js';

const H = 3_600_000;
const NOW = Date.parse('2026-11-28T12:00:00Z');

function list(over: Partial<ListConfig> = {}): ListConfig {
  return {
    name: 'web',
    names: ['a.example.com', 'b.example.com'],
    static: [],
    retentionMs: 24 * H,
    families: ['ipv4', 'ipv6'],
    maxAddressesPerName: 64,
    allowPrivate: false,
    ...over,
  };
}

function seen(name: string, address: string, hoursAgo: number, firstHoursAgo = hoursAgo): Sighting {
  return {
    name,
    family: familyOf(address),
    address,
    firstSeen: NOW - firstHoursAgo * H,
    lastSeen: NOW - hoursAgo * H,
  };
}

function ok(name: string, hoursAgo: number, family: 'ipv4' | 'ipv6' = 'ipv4'): NameStatus {
  return { name, family, lastSuccess: NOW - hoursAgo * H, failing: false, outcome: 'answer' };
}

function failing(name: string, lastSuccessHoursAgo: number, family: 'ipv4' | 'ipv6' = 'ipv4'): NameStatus {
  return { name, family, lastSuccess: NOW - lastSuccessHoursAgo * H, failing: true, outcome: 'timeout' };
}

const STALE = 7 * 24 * H;

describe('desired set of a list', () => {
  it('holds every address a name returned within retention, and static entries', () => {
    const d = desiredList({
      list: list({ static: [parseAddress('198.51.100.7')!, parseAddress('2001:db8:10::/64')!] }),
      sightings: [seen('a.example.com', '192.0.2.1', 0), seen('a.example.com', '192.0.2.2', 23)],
      statuses: [ok('a.example.com', 0)],
      staleLimitMs: STALE,
      now: NOW,
    });
    expect([...d.entries.keys()].sort()).toEqual([
      '192.0.2.1',
      '192.0.2.2',
      '198.51.100.7',
      '2001:db8:10::/64',
    ]);
    expect(d.entries.get('198.51.100.7')?.source).toBe('static');
  });

  it('an address not seen for longer than retention is excluded as expired', () => {
    const d = desiredList({
      list: list(),
      sightings: [seen('a.example.com', '192.0.2.1', 0), seen('a.example.com', '192.0.2.2', 25)],
      statuses: [ok('a.example.com', 0)],
      staleLimitMs: STALE,
      now: NOW,
    });
    expect(d.entries.has('192.0.2.2')).toBe(false);
    expect(d.excluded.get('192.0.2.2')?.reason).toBe('expired');
  });

  it('a failing name keeps the addresses of its last good answer for at most stale_limit', () => {
    const input = {
      list: list(),
      sightings: [seen('a.example.com', '192.0.2.1', 30), seen('a.example.com', '192.0.2.9', 40)],
      statuses: [failing('a.example.com', 30)],
      staleLimitMs: STALE,
      now: NOW,
    };
    const d = desiredList(input);
    expect(d.entries.get('192.0.2.1')?.source).toBe('stale');
    // 192.0.2.9 was not in the last good answer: it ages out as usual.
    expect(d.excluded.get('192.0.2.9')?.reason).toBe('expired');
    expect(d.staleNames).toEqual(['a.example.com']);
    const later = desiredList({ ...input, now: NOW + STALE });
    expect(later.entries.has('192.0.2.1')).toBe(false);
  });

  it('a failure of one family does not keep the other family', () => {
    const d = desiredList({
      list: list(),
      sightings: [seen('a.example.com', '192.0.2.1', 30), seen('a.example.com', '2001:db8::1', 30)],
      statuses: [failing('a.example.com', 30, 'ipv6'), ok('a.example.com', 0, 'ipv4')],
      staleLimitMs: STALE,
      now: NOW,
    });
    expect(d.entries.has('2001:db8::1')).toBe(true);
    expect(d.entries.has('192.0.2.1')).toBe(false);
  });

  it('caps a name at max_addresses_per_name, evicting the least recently seen', () => {
    const sightings = [0, 1, 2, 3].map((h) => seen('a.example.com', `192.0.2.${10 + h}`, h));
    const d = desiredList({
      list: list({ maxAddressesPerName: 2 }),
      sightings,
      statuses: [],
      staleLimitMs: STALE,
      now: NOW,
    });
    expect([...d.entries.keys()].sort()).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(d.excluded.get('192.0.2.13')?.reason).toBe('evicted');
  });

  it('drops private, loopback and mapped-private answers unless allow_private', () => {
    const sightings = [
      '10.0.0.1',
      '127.0.0.1',
      '::ffff:10.0.0.1',
      '169.254.1.1',
      '224.0.0.1',
      '0.0.0.0',
      '192.0.2.5',
    ].map((a) => seen('a.example.com', a, 0));
    const d = desiredList({ list: list(), sightings, statuses: [], staleLimitMs: STALE, now: NOW });
    expect([...d.entries.keys()]).toEqual(['192.0.2.5']);
    expect(d.rejected).toHaveLength(6);
    // Answers of earlier passes still within retention are not reported again (an outage must not
    // repeat them, as if they had just arrived).
    const later = desiredList({
      list: list(),
      sightings: sightings.map((s) => ({ ...s, lastSeen: s.lastSeen - H })),
      statuses: [],
      staleLimitMs: STALE,
      now: NOW,
    });
    expect(later.rejected).toEqual([]);
    expect([...later.entries.keys()]).toEqual(['192.0.2.5']);
    const internal = desiredList({
      list: list({ allowPrivate: true }),
      sightings,
      statuses: [],
      staleLimitMs: STALE,
      now: NOW,
    });
    expect([...internal.entries.keys()].sort()).toEqual(['10.0.0.1', '192.0.2.5', '::ffff:10.0.0.1']);
  });

  it("drops answers outside the list's allow prefixes and reports them", () => {
    const d = desiredList({
      list: list({ allow: [parseAddress('192.0.2.0/25')!, parseAddress('2001:db8:1::/48')!] }),
      sightings: ['192.0.2.5', '192.0.2.200', '2001:db8:1::9', '2001:db8:2::9'].map((a) =>
        seen('a.example.com', a, 0),
      ),
      statuses: [],
      staleLimitMs: STALE,
      now: NOW,
    });
    expect([...d.entries.keys()].sort()).toEqual(['192.0.2.5', '2001:db8:1::9']);
    expect(d.rejected).toEqual([
      { name: 'a.example.com', address: '192.0.2.200', why: 'outside-allow' },
      { name: 'a.example.com', address: '2001:db8:2::9', why: 'outside-allow' },
    ]);
  });

  it('an address shared by two names stays while either still produces it', () => {
    const d = desiredList({
      list: list(),
      sightings: [seen('a.example.com', '192.0.2.1', 30), seen('b.example.com', '192.0.2.1', 1)],
      statuses: [],
      staleLimitMs: STALE,
      now: NOW,
    });
    expect(d.entries.get('192.0.2.1')?.names).toEqual(['b.example.com']);
    expect(d.excluded.has('192.0.2.1')).toBe(false);
  });

  it('ignores names no longer configured and families the list does not want', () => {
    const d = desiredList({
      list: list({ families: ['ipv4'] }),
      sightings: [seen('gone.example.com', '192.0.2.1', 0), seen('a.example.com', '2001:db8::1', 0)],
      statuses: [],
      staleLimitMs: STALE,
      now: NOW,
    });
    expect(d.entries.size).toBe(0);
  });

  it('an address inside a static prefix of the same list is left to the prefix', () => {
    const d = desiredList({
      list: list({ static: [parseAddress('198.51.100.0/24')!] }),
      sightings: [seen('a.example.com', '198.51.100.9', 0)],
      statuses: [],
      staleLimitMs: STALE,
      now: NOW,
    });
    expect([...d.entries.keys()]).toEqual(['198.51.100.0/24']);
    expect(d.excluded.get('198.51.100.9')?.detail).toMatch(/covered by/);
  });
});

describe('diff against a target', () => {
  const desired = () =>
    desiredList({
      list: list({ static: [parseAddress('198.51.100.7')!] }),
      sightings: [seen('a.example.com', '192.0.2.1', 0), seen('a.example.com', '192.0.2.2', 30)],
      statuses: [],
      staleLimitMs: STALE,
      now: NOW,
    });

  it('adds what is missing and removes what expired, with reasons and names', () => {
    const diff = diffList({
      target: 'fw',
      desired: desired(),
      actual: new Set(['192.0.2.2']),
      applied: new Map([['192.0.2.2', { names: ['a.example.com'] }]]),
      families: ['ipv4', 'ipv6'],
      familyOf,
    });
    expect(diff.add.map((c) => [c.address, c.reason])).toEqual([
      ['192.0.2.1', 'dns'],
      ['198.51.100.7', 'static'],
    ]);
    expect(diff.remove).toMatchObject([
      { address: '192.0.2.2', reason: 'expired', names: ['a.example.com'] },
    ]);
    expect(diff.record).toEqual([]);
  });

  it('an entry of a name still configured, answered before what the list looks back over, leaves as expired; one of a name gone, for config', () => {
    const diff = diffList({
      target: 'fw',
      desired: desired(),
      actual: new Set(['192.0.2.1', '198.51.100.7', '203.0.113.8', '203.0.113.9']),
      applied: new Map([
        ['192.0.2.1', { names: ['a.example.com'] }],
        ['198.51.100.7', { names: ['static'] }],
        ['203.0.113.8', { names: ['a.example.com'] }],
        ['203.0.113.9', { names: ['gone.example.com'] }],
      ]),
      families: ['ipv4'],
      familyOf,
    });
    expect(diff.remove.map((c) => [c.address, c.reason])).toEqual([
      ['203.0.113.8', 'expired'],
      ['203.0.113.9', 'config'],
    ]);
  });

  it('an address a prefix of the list covers is left to the prefix, unless the target cannot hold prefixes', () => {
    const d = desiredList({
      list: list({ static: [parseAddress('198.51.100.0/24')!] }),
      sightings: [seen('a.example.com', '198.51.100.5', 0), seen('a.example.com', '192.0.2.5', 0)],
      statuses: [],
      staleLimitMs: STALE,
      now: NOW,
    });
    const plan = (accepts?: (a: string) => boolean) =>
      diffList({
        target: 'fw',
        desired: d,
        actual: new Set(),
        applied: new Map(),
        families: ['ipv4'],
        familyOf,
        ...(accepts ? { accepts } : {}),
      }).add.map((c) => c.address);
    expect(plan()).toEqual(['192.0.2.5', '198.51.100.0/24']);
    // An OPNsense host alias takes no prefixes: it holds what the prefix would have covered.
    expect(plan((a) => !a.includes('/'))).toEqual(['192.0.2.5', '198.51.100.5']);
  });

  it('restores an entry deleted by hand as drift', () => {
    const diff = diffList({
      target: 'fw',
      desired: desired(),
      actual: new Set(['198.51.100.7']),
      applied: new Map([
        ['192.0.2.1', { names: ['a.example.com'] }],
        ['198.51.100.7', { names: ['static'] }],
      ]),
      families: ['ipv4'],
      familyOf,
    });
    expect(diff.add).toMatchObject([{ address: '192.0.2.1', reason: 'drift' }]);
  });

  it('removes a foreign entry from an owned set as drift, and only records what changed outside dnsfence', () => {
    const diff = diffList({
      target: 'fw',
      desired: desired(),
      actual: new Set(['192.0.2.1', '198.51.100.7', '203.0.113.99']),
      applied: new Map([
        ['198.51.100.7', { names: ['static'] }],
        ['203.0.113.50', { names: ['b.example.com'] }],
      ]),
      families: ['ipv4'],
      familyOf,
    });
    expect(diff.add).toEqual([]);
    expect(diff.remove).toMatchObject([{ address: '203.0.113.99', reason: 'drift' }]);
    expect(diff.record.map((c) => [c.action, c.address])).toEqual([
      ['added', '192.0.2.1'],
      ['removed', '203.0.113.50'],
    ]);
  });

  it('leaves out families the target cannot hold', () => {
    const d = desiredList({
      list: list(),
      sightings: [seen('a.example.com', '2001:db8::1', 0)],
      statuses: [],
      staleLimitMs: STALE,
      now: NOW,
    });
    const diff = diffList({
      target: 'fw',
      desired: d,
      actual: new Set(),
      applied: new Map(),
      families: ['ipv4'],
      familyOf,
    });
    expect(diff.add).toEqual([]);
  });

  it('a second diff after applying the first has nothing to do', () => {
    const d = desired();
    const first = diffList({
      target: 'fw',
      desired: d,
      actual: new Set(),
      applied: new Map(),
      families: ['ipv4'],
      familyOf,
    });
    const actual = new Set(first.add.map((c) => c.address));
    const applied = new Map(first.add.map((c) => [c.address, { names: c.names }]));
    const second = diffList({ target: 'fw', desired: d, actual, applied, families: ['ipv4'], familyOf });
    expect([second.add, second.remove, second.record]).toEqual([[], [], []]);
  });
});

describe('safety', () => {
  it('holds back removals over max_remove unless forced', () => {
    const base = diffList({
      target: 'fw',
      desired: desiredList({
        list: list(),
        sightings: [seen('a.example.com', '192.0.2.1', 0)],
        statuses: [],
        staleLimitMs: STALE,
        now: NOW,
      }),
      actual: new Set(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']),
      applied: new Map(
        ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'].map((a) => [a, { names: ['a.example.com'] }]),
      ),
      families: ['ipv4'],
      familyOf,
    });
    expect(base.remove).toHaveLength(3);
    const held = applySafety(base, 0.5, false);
    expect(held.held).toHaveLength(3);
    expect(held.diff.remove).toEqual([]);
    expect(held.diff.desired.sort()).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']);
    expect(held.hold).toEqual({ count: 3, owned: 4, maxRemove: 0.5, limit: 2, forced: false });
    const forced = applySafety(base, 0.5, true);
    expect(forced.held).toEqual([]);
    expect(forced.diff.remove.every((c) => c.reason === 'forced')).toBe(true);
  });

  it('always lets a single removal through', () => {
    const base = diffList({
      target: 'fw',
      desired: desiredList({ list: list(), sightings: [], statuses: [], staleLimitMs: STALE, now: NOW }),
      actual: new Set(['192.0.2.1']),
      applied: new Map([['192.0.2.1', { names: ['a.example.com'] }]]),
      families: ['ipv4'],
      familyOf,
    });
    expect(applySafety(base, 0.5, false).held).toEqual([]);
  });
});
