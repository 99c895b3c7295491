import type { Family } from '../src/address.js';

/** The sources of one family; undefined when none was given (any source), empty when only the other family's were. */
export function sourcesOf(sources: readonly string[], family: Family): string[] | undefined {
  if (sources.length === 0) return undefined;
  return sources.filter((s) => s.includes(':') === (family === 'ipv6'));
}
