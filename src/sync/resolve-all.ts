import type { Family } from '../address.js';
import { resolvedNamesOf } from '../config/lists.js';
import type { Config, ListConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { Resolver } from '../resolver/resolver.js';
import { systemResolvers, type ResolverSpec } from '../config/resolver-spec.js';
import type { LookupResult, Question } from '../resolver/types.js';

export function resolversOf(config: Config): ResolverSpec[] {
  const servers = config.resolvers ?? systemResolvers();
  if (servers.length === 0) {
    throw new UserError(
      `${config.file}: resolvers: none configured and no nameserver in /etc/resolv.conf`,
      2,
    );
  }
  return servers;
}

/** Every (name, family) the given lists need, each once. */
export function questionsOf(lists: Iterable<ListConfig>): Question[] {
  const wanted = new Map<string, Set<Family>>();
  for (const list of lists) {
    for (const name of resolvedNamesOf(list)) {
      const set = wanted.get(name) ?? new Set<Family>();
      for (const f of list.families) set.add(f);
      wanted.set(name, set);
    }
  }
  return [...wanted].flatMap(([name, families]) => [...families].sort().map((family) => ({ name, family })));
}

/**
 * Resolves every question with the configured resolvers. `onResult` sees each lookup as it
 * finishes, so the caller can do its work on one answer while the rest are still on the wire.
 */
export async function resolveAll(
  config: Config,
  questions: readonly Question[],
  onResult?: (result: LookupResult) => void,
): Promise<LookupResult[]> {
  const resolver = new Resolver({ servers: resolversOf(config), ...config.resolve });
  try {
    return await resolver.lookupAll(questions, onResult);
  } finally {
    await resolver.close();
  }
}
