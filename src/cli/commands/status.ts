import type { Command } from 'commander';
import { sortAddresses } from '../../address.js';
import { ExitCode } from '../../errors.js';
import { appliedCount } from '../../store/applied.js';
import { allLookups } from '../../store/observations.js';
import { lastDeliveries } from '../../store/notifications.js';
import { loadLeftovers } from '../../store/placements.js';
import { lastRun, latestPushes } from '../../store/runs.js';
import { computeDesired } from '../../sync/desired-from-store.js';
import { resolvedNamesOf } from '../../config/lists.js';
import { loadLearned, withLearned, type LearnedName } from '../../store/learned.js';
import { action } from '../context.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      'per list: names, addresses, last lookups, failing names; per target: last push and its result',
    )
    .action(
      action(async (ctx) => {
        const config = ctx.loadConfig();
        const db = ctx.openReadonly();
        try {
          const now = ctx.clock().getTime();
          const lookups = new Map(allLookups(db).map((l) => [`${l.name}|${l.family}`, l]));
          const counts = appliedCount(db);
          const learnedRows = new Map(loadLearned(db).map((l) => [`${l.list}|${l.name}`, l]));
          const known = withLearned(db, [...config.lists.values()], ctx.clock());
          const lists = known.map((list) => {
            const desired = computeDesired(db, config, list, now);
            return {
              list: list.name,
              addresses: sortAddresses(desired.entries.keys()),
              ...(list.wildcards ? { learns: list.wildcards } : {}),
              names: resolvedNamesOf(list).map((name) => ({
                name,
                ...learnedAs(learnedRows.get(`${list.name}|${name}`)),
                lookups: list.families.map((family) => {
                  const l = lookups.get(`${name}|${family}`);
                  return {
                    family,
                    outcome: l?.outcome ?? 'never looked up',
                    last_success: l?.last_success ?? null,
                    failing_since: l?.failing_since ?? null,
                    detail: l?.detail ?? null,
                  };
                }),
              })),
              failing: resolvedNamesOf(list).filter((n) =>
                list.families.some((f) => lookups.get(`${n}|${f}`)?.failing_since),
              ),
            };
          });
          const pushes = latestPushes(db);
          const targets = [...config.targets.values()].map((t) => {
            const p = pushes.find((x) => x.target === t.name);
            return {
              target: t.name,
              type: t.type,
              last_push: p?.last ?? null,
              last_success: p?.lastOk?.at ?? null,
              entries: Object.fromEntries(
                counts.filter((c) => c.target === t.name).map((c) => [c.list, c.count]),
              ),
            };
          });
          const run = lastRun(db);
          const leftovers = loadLeftovers(db).map((l) => ({
            target: l.target,
            list: l.list,
            place: l.place,
            entries: l.addresses.length,
            since: l.since,
            removal: l.removal,
          }));
          const delivered = lastDeliveries(db);
          const notifications = config.notify.map((n) => ({
            entry: n.label,
            last: delivered.find((d) => d.entry === n.label) ?? null,
          }));
          if (ctx.json) {
            ctx.printJson({
              database: config.database,
              last_run: run ?? null,
              lists,
              targets,
              leftovers,
              notifications,
            });
          } else {
            const out: string[] = [];
            out.push(
              run
                ? `last run #${run.id} ${run.command} ${run.started_at}: ${run.outcome}${run.summary ? ` (${run.summary})` : ''}`
                : 'no run yet',
            );
            out.push('', 'lists');
            for (const l of lists) {
              out.push(
                `  ${l.list}: ${l.addresses.length} address(es)${l.failing.length ? `, FAILING: ${l.failing.join(', ')}` : ''}` +
                  `${l.learns ? `; learns ${l.learns.join(', ')} from forwarded answers` : ''}`,
              );
              for (const n of l.names) {
                const parts = n.lookups.map(
                  (x) =>
                    `${x.family === 'ipv4' ? 'A' : 'AAAA'} ${x.outcome}${x.failing_since ? ` since ${x.failing_since}` : ''}`,
                );
                const last = n.lookups
                  .map((x) => x.last_success)
                  .filter(Boolean)
                  .sort()
                  .at(-1);
                out.push(`    ${n.name}  ${parts.join(', ')}${last ? `  (last answer ${last})` : ''}`);
                if (n.learned)
                  out.push(
                    `      learned ${n.learned.first_learned} from ${n.learned.client} (${n.learned.entry}); last asked ${n.learned.last_queried} by ${n.learned.last_client}`,
                  );
              }
              if (l.addresses.length) out.push(`    addresses: ${l.addresses.join(' ')}`);
            }
            out.push('', 'targets');
            for (const t of targets) {
              const p = t.last_push;
              out.push(
                `  ${t.target} (${t.type}): ${p ? `last push ${p.at} ${p.outcome} (+${p.added} -${p.removed})${p.detail ? `: ${p.detail}` : ''}` : 'never pushed'}` +
                  `${t.last_success && p && t.last_success !== p.at ? `; last success ${t.last_success}` : ''}`,
              );
              for (const [list, count] of Object.entries(t.entries))
                out.push(`    ${list}: ${count} entr${count === 1 ? 'y' : 'ies'}`);
            }
            if (leftovers.length > 0) {
              out.push('', 'left behind (filled by dnsfence, no longer configured)');
              for (const l of leftovers)
                out.push(
                  `  ${l.place} (target ${l.target}, list ${l.list}, ${l.entries} entr${l.entries === 1 ? 'y' : 'ies'}, since ${l.since})`,
                  `    remove it with: ${l.removal}`,
                );
            }
            if (notifications.length > 0) {
              out.push('', 'notifications');
              for (const { entry, last } of notifications)
                out.push(
                  `  ${entry}: ${
                    !last
                      ? 'nothing sent yet (dnsfence notify test sends a test event)'
                      : `last ${last.at} ${last.outcome === 'delivered' ? 'delivered' : `FAILED after ${last.tries} ${last.tries === 1 ? 'try' : 'tries'}: ${last.detail ?? ''}`} (${last.events.join(', ')})`
                  }`,
                );
            }
            ctx.print(out.join('\n'));
          }
          return ExitCode.ok;
        } finally {
          db.close();
        }
      }),
    );
}

/** A learned name's account, for status: when and from which client, through which entry. */
function learnedAs(row: LearnedName | undefined): { learned?: Omit<LearnedName, 'list' | 'name'> } {
  if (!row) return {};
  const { list: _list, name: _name, ...learned } = row;
  return { learned };
}
