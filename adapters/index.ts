import type { TargetConfig } from '../src/config/types.js';
import { FileAdapter } from './file/index.js';
import { MikrotikAdapter } from './mikrotik/index.js';
import { NftablesAdapter } from './nftables/index.js';
import { OpnsenseAdapter } from './opnsense/index.js';
import type { Adapter } from './types.js';

export type { Adapter, ApplyResult, ListRef, ListUpdate } from './types.js';

export function createAdapter(target: TargetConfig): Adapter {
  switch (target.type) {
    case 'nftables':
      return new NftablesAdapter(target);
    case 'file':
      return new FileAdapter(target);
    case 'opnsense':
      return new OpnsenseAdapter(target);
    case 'mikrotik':
      return new MikrotikAdapter(target);
  }
}
