import type { TargetSettingsContext } from './types.js';

/**
 * A command setting (`nft`, `ipset`) as an argv prefix. A string is one program name, never split:
 * one holding spaces is warned about with the list the admin most likely meant.
 */
export function argvSetting(
  value: string | string[] | undefined,
  program: string,
  key: string,
  at: Pick<TargetSettingsContext, 'key' | 'warn'>,
): string[] {
  if (Array.isArray(value)) return value;
  if (value !== undefined && /\s/.test(value.trim()))
    at.warn(
      `${at.key}.${key}: ${JSON.stringify(value)} is one program name; to pass arguments write a list: [${value.trim().split(/\s+/).join(', ')}]`,
    );
  return [value ?? program];
}
