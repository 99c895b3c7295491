import type { TargetConfig } from '../src/config/types.js';
import { ConfigError } from '../src/errors.js';
import { FileAdapter } from './file/index.js';
import { NftablesAdapter } from './nftables/index.js';
import { OpnsenseAdapter } from './opnsense/index.js';
import type { Adapter } from './types.js';

export type { Adapter, ApplyResult, ListRef, ListUpdate } from './types.js';

export function createAdapter(target: TargetConfig, file: string): Adapter {
  switch (target.type) {
    case 'nftables':
      return new NftablesAdapter(target);
    case 'file':
      return new FileAdapter(target);
    case 'opnsense':
      return new OpnsenseAdapter(target);
    case 'mikrotik':
      throw new ConfigError(
        `${file}: targets.${target.name}.type: the ${target.type} adapter is not part of this version yet (nftables and file are)`,
      );
  }
}
