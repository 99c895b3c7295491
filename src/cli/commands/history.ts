import type { Command } from 'commander';
import { parseAddress, type Address } from '../../address.js';
import { expandName } from '../../config/names.js';
import type { Config, ListConfig } from '../../config/types.js';
import { ConfigError, ExitCode } from '../../errors.js';
import { listDrops, type ListDrop } from '../../planner/hygiene.js';
import type { Db } from '../../store/db.js';
import {
  addressHistory,
  everLookedUp,
  nameHistory,
  prefixHistory,
  type AddressHistory,
} from '../../store/history.js';
import { learnedAs, stillMatched, type LearnedName } from '../../store/learned.js';
import { parseInstant } from '../../time.js';
import { action } from '../context.js';

const short = (t: string | null) => (t ? t.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'now');
const recordType = (family: string) => (family === 'ipv4' ? 'A' : 'AAAA');

export function registerHistory(program: Command): void {
  program
    .command('history <name-address-or-prefix>')
    .description(
      'the timeline of one DNS name (addresses, when, TTLs, CNAMEs, failures, NXDOMAIN/NODATA), one address (names, lists, targets) or each address in a prefix',
    )
    .option('--since <when>', 'a date or a duration back from now', '400d')
    .action(
      action(async (ctx, subject: string, opts: { since: string }) => {
        const since = parseInstant(opts.since, ctx.clock(), '--since').toISOString();
        const db = ctx.openReadonly();
        try {
          const config = ctx.loadConfig();
          const address = parseAddress(subject);
          const out = address
            ? addressLines(db, config, address, since, ctx.json)
            : nameLines(db, config, subject, since, ctx.json);
          if (typeof out === 'string') ctx.print(out);
          else ctx.printJson(out);
          return ExitCode.ok;
        } finally {
          db.close();
        }
      }),
    );
}

type WithDrops = AddressHistory & { dropped: ListDrop[] };

/** One address, or each address inside a prefix; lines, or the document for --json. */
function addressLines(
  db: Db,
  config: Config,
  address: Address,
  since: string,
  json: boolean,
): string | object {
  const withDrops = (h: AddressHistory): WithDrops => ({
    ...h,
    dropped: listDrops(config.lists.values(), h.address, [...new Set(h.presence.map((p) => p.name))]),
  });
  const host = address.prefix === (address.family === 'ipv4' ? 32 : 128);
  if (host) {
    const h = withDrops(addressHistory(db, address.text, since));
    return json ? h : addressBlock(h).join('\n');
  }
  // A prefix a list holds as such (a static entry) is inside itself: it is among the addresses.
  const inside = prefixHistory(db, address, since);
  const doc = { ...inside, addresses: inside.addresses.map(withDrops) };
  if (json) return doc;
  if (doc.addresses.length === 0)
    return `${doc.prefix}\n  no address inside it was answered or held in this period`;
  return [
    `${doc.prefix}: ${doc.addresses.length} address${doc.addresses.length === 1 ? '' : 'es'} inside it answered or held in this period`,
    ...doc.addresses.flatMap((h) => ['', ...addressBlock(h)]),
  ].join('\n');
}

function addressBlock(h: WithDrops): string[] {
  const out = [`${h.address}`, '  answered by:'];
  if (h.presence.length === 0) out.push('    no name returned it in this period');
  for (const p of h.presence)
    out.push(
      `    ${p.name}  ${short(p.first_seen)} .. ${short(p.last_seen)}${p.chain ? `  via ${p.chain}` : ''}`,
    );
  const names = new Set(h.presence.map((p) => p.name));
  if (names.size > 1) out.push(`  shared by ${names.size} names: ${[...names].join(', ')}`);
  for (const d of h.dropped) out.push(`  dropped by list ${d.list}: ${d.why}`);
  out.push('  held by:');
  if (h.held.length === 0) out.push('    no list on any target');
  for (const x of h.held)
    out.push(
      `    ${x.target}/${x.list}  ${short(x.added_at)} (${x.added_reason}) .. ${x.removed_at ? `${short(x.removed_at)} (${x.removed_reason})` : 'now'}`,
    );
  return out;
}

function nameLines(db: Db, config: Config, subject: string, since: string, json: boolean): string | object {
  const expanded = expandName(subject);
  if (!expanded.ok || expanded.names.length !== 1)
    throw new ConfigError(`"${subject}" is neither an address, a prefix nor a DNS name`);
  const name = expanded.names[0] as string;
  const learned = learnedAs(db, name).filter((l) => config.lists.has(l.list));
  const current = (l: LearnedName) => stillMatched(config.lists.get(l.list) as ListConfig, l);
  const lists = [
    ...new Set([
      ...[...config.lists.values()].filter((l) => l.names.includes(name)).map((l) => l.name),
      ...learned.filter(current).map((l) => l.list),
    ]),
  ];
  if (lists.length === 0 && !everLookedUp(db, name))
    throw new ConfigError(`${name} is not a name of this configuration and was never looked up`);
  const h = nameHistory(db, name, since);
  if (json) return { ...h, lists, learned };
  const out = [
    `${h.name}${lists.length > 0 ? `  (list${lists.length === 1 ? '' : 's'} ${lists.join(', ')})` : ''}`,
    ...learned.map(
      (l) =>
        `  learned by list ${l.list} ${short(l.first_learned)} from ${l.client} (${l.entry}); last asked ${short(l.last_queried)} by ${l.last_client}` +
        (current(l) ? '' : `; no longer a name of the list: ${l.entry} is not configured any more`),
    ),
  ];
  if (h.presence.length === 0 && h.failures.length === 0 && h.negative.length === 0)
    out.push(
      everLookedUp(db, name)
        ? '  no answer recorded in this period'
        : '  not looked up yet (dnsfence sync records its answers)',
    );
  else if (h.presence.length === 0) out.push('  no address answered in this period');
  for (const p of h.presence) {
    out.push(
      `  ${p.address.padEnd(24)} ${short(p.first_seen)} .. ${short(p.last_seen)}  ttl ${p.ttl}  @${p.resolver}${p.chain ? `  via ${p.chain}` : ''}${p.shared_with.length ? `  (also from ${p.shared_with.join(', ')})` : ''}`,
    );
  }
  for (const n of h.negative) {
    out.push(
      `  ${n.outcome.toUpperCase()} ${recordType(n.family)} x${n.count}  ${short(n.first_at)} .. ${short(n.last_at)}  (${n.outcome === 'nxdomain' ? 'no such name' : `the name has no ${recordType(n.family)} record`})`,
    );
  }
  for (const f of h.failures) {
    out.push(
      `  FAILED ${recordType(f.family)} ${f.outcome} x${f.count}  ${short(f.first_at)} .. ${short(f.last_at)}${f.detail ? `  (${f.detail})` : ''}`,
    );
  }
  return out.join('\n');
}
