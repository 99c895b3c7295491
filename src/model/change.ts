/**
 * Why an address entered or left a list on a target, as the audit log records it:
 * `dns` a new answer, `expired` past retention, `evicted` over the per-name cap, `drift` repaired
 * on (or found on) the target, `static` a static entry, `forced` a removal over max_remove applied
 * with --force, `config` the configuration, not DNS and not someone on the target, changed what
 * the list holds (a name, static entry or setting changed, a list or target moved or renamed).
 */
export type Reason = 'dns' | 'expired' | 'evicted' | 'drift' | 'static' | 'forced' | 'config';
export type Action = 'added' | 'removed';

/** An address entering or leaving one list on one target: one row of the audit log. */
export interface Change {
  target: string;
  list: string;
  action: Action;
  address: string;
  /** The DNS names that produced the address; `static` for a static entry. */
  names: string[];
  reason: Reason;
  detail?: string;
}

/** `local  web  + 192.0.2.1  www.example.com  (dns)`: the line plan, sync, watch and the demo print. */
export function changeLine(c: Change): string {
  const sign = c.action === 'added' ? '+' : '-';
  const names = c.names.length > 0 ? c.names.join(',') : '-';
  return `${c.target}  ${c.list}  ${sign} ${c.address}  ${names}  (${c.reason}${c.detail ? `: ${c.detail}` : ''})`;
}
