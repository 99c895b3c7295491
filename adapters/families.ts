import type { Family } from '../src/address.js';
import type { TargetSettingsContext } from '../src/config/types.js';

/** A list that asks for a family this target cannot hold: said once at load, not dropped silently. */
export function warnFamilyNotHeld(holds: readonly Family[], at: TargetSettingsContext, advice: string): void {
  const other = (['ipv4', 'ipv6'] as const).find((f) => !holds.includes(f));
  if (!other) return;
  const held = holds[0] === 'ipv4' ? 'IPv4' : 'IPv6';
  for (const list of at.lists) {
    const statics = list.static.filter((a) => a.family === other).map((a) => a.text);
    const asks = list.names.length > 0 && list.families.includes(other);
    if (!asks && statics.length === 0) continue;
    const what = [
      ...(asks ? [`${other === 'ipv6' ? 'AAAA' : 'A'} answers`] : []),
      ...(statics.length > 0 ? [`static ${statics.join(', ')}`] : []),
    ].join(' and ');
    at.warn(
      `${at.key}: holds ${held} only; list ${list.name}'s ${what} will not reach it` +
        ` (set families: [${holds.join(', ')}] on the list, or ${advice})`,
    );
  }
}
