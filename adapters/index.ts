import type { TargetConfig } from '../src/config/types.js';
import type { Adapter } from './types.js';

export type { Adapter, ApplyResult, ListRef, ListUpdate } from './types.js';

/**
 * Each adapter is loaded only when a target of its type is configured: the HTTP and RouterOS
 * client libraries cost a CLI run a good part of its start-up time (docs/benchmarks.md).
 */
export async function createAdapter(target: TargetConfig): Promise<Adapter> {
  switch (target.type) {
    case 'nftables':
      return new (await import('./nftables/index.js')).NftablesAdapter(target);
    case 'file':
      return new (await import('./file/index.js')).FileAdapter(target);
    case 'opnsense':
      return new (await import('./opnsense/index.js')).OpnsenseAdapter(target);
    case 'mikrotik':
      return new (await import('./mikrotik/index.js')).MikrotikAdapter(target);
  }
}
