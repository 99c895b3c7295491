import { z } from 'zod';
import type { TargetConfig } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';
import type { TargetType } from '../types.js';

export interface FileSettings {
  /** Absolute: relative to the configuration's folder when written relative. */
  dir: string;
}

export type FileTarget = TargetConfig<FileSettings>;

const schema = z.object({
  dir: z.string({ error: 'is required: the directory the list files are written to' }).min(1),
});

/** `<dir>/<list>.txt` for tools that read a list of addresses: pf tables, ipset restore, proxies. */
export const file: TargetType<FileSettings> = {
  type: 'file',
  schema,
  settings(raw, at) {
    return { dir: at.path((raw as z.output<typeof schema>).dir) };
  },
  describe(target) {
    return {
      families: ['ipv4', 'ipv6'],
      summary: `files in ${target.settings.dir}`,
      local: true,
      writes: [target.settings.dir],
      capabilities: [],
      hold: true,
    };
  },
  rules(target) {
    throw new ConfigError(
      `--target ${target.name}: a file target has no rules; the tool that reads ${target.settings.dir} uses the lists`,
    );
  },
  async create(target) {
    const { FileAdapter } = await import('./adapter.js');
    return new FileAdapter(target);
  },
};
