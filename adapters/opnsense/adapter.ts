import { parseAddress, sortAddresses } from '../../src/address.js';
import { readSecret, readSecretFile } from '../../src/config/secrets.js';
import { ConfigError, TargetError } from '../../src/errors.js';
import type { Change } from '../../src/model/change.js';
import type {
  ListPlan,
  ListRef,
  ListState,
  Operation,
  Snapshot,
  TargetPlan,
} from '../../src/planner/target.js';
import type { Place } from '../../src/store/placements.js';
import type { Adapter, ApplyResult } from '../types.js';
import { JsonClient } from './client.js';
import { aliasNameProblem } from './names.js';
import type { OpnsenseTarget } from './settings.js';

/** Every alias dnsfence creates says so in its description; others are never adopted silently. */
const MARKER = 'dnsfence';

export interface Alias {
  uuid: string | undefined;
  content: ReadonlySet<string>;
  /** A foreign alias taken over with `adopt: true`: its description gets the marker on the next write. */
  adopting: boolean;
}

export interface OpnsenseDetail {
  /** Per configured list. */
  aliases: ReadonlyMap<string, Alias>;
  /** Aliases (by name) whose pf table does not match their saved content: a refresh is still to come. */
  stale: ReadonlySet<string>;
}

type Json = Record<string, unknown>;

/** The API key file OPNsense offers for download: `key=…` and `secret=…` lines. */
function readApiKeyFile(path: string, key: string): { credentials: string; warning?: string } {
  const { text, warning } = readSecretFile(path, key);
  const field = (name: string) => new RegExp(`^\\s*${name}\\s*=\\s*(\\S+)\\s*$`, 'm').exec(text)?.[1];
  const k = field('key');
  const s = field('secret');
  if (!k || !s) throw new ConfigError(`${key}: ${path} must hold key=… and secret=… lines`);
  return { credentials: `${k}:${s}`, ...(warning !== undefined ? { warning } : {}) };
}

/**
 * OPNsense firewall aliases over the REST API: one `host` alias per list (v4 and v6 together),
 * replaced whole with `set_item`, then one `reconfigure` for the sync. Nothing is written when
 * nothing changed: every write is a configuration revision on the firewall.
 */
export class OpnsenseAdapter implements Adapter<OpnsenseDetail> {
  readonly target: string;
  readonly warnings: string[] = [];
  private readonly client: JsonClient;

  constructor(private readonly config: OpnsenseTarget) {
    this.target = config.name;
    const { settings } = config;
    const key = `targets.${config.name}`;
    let credentials: string;
    if (settings.apiKeyFile) {
      const r = readApiKeyFile(settings.apiKeyFile, `${key}.api_key_file`);
      credentials = r.credentials;
      if (r.warning) this.warnings.push(r.warning);
    } else {
      const k = readSecret(settings.key!);
      const s = readSecret(settings.secret!);
      for (const w of [k.warning, s.warning]) if (w) this.warnings.push(w);
      credentials = `${k.value}:${s.value}`;
    }
    if (settings.url.startsWith('http:'))
      this.warnings.push(`${key}.url: plain http sends the API key unencrypted`);
    this.client = new JsonClient({
      target: config.name,
      baseUrl: settings.url,
      tls: settings.tls,
      timeoutMs: config.timeoutMs,
      credentials,
    });
  }

  place({ remote }: ListRef): Place {
    const { url } = this.config.settings;
    return {
      location: `opnsense ${url} ${remote}`,
      place: `alias ${remote} on ${url}`,
      removal: `delete alias ${remote} under Firewall > Aliases on ${url}, then Apply`,
    };
  }

  /** A host alias refuses CIDR, even /32: prefixes cannot be expressed on this target. */
  accepts(address: string): boolean {
    return !address.includes('/');
  }

  private fail(message: string): never {
    throw new TargetError(this.target, message);
  }

  /** One API call; HTTP errors become one-line messages that say what to fix. */
  private async api(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const { status, json } = await this.client.call(method, path, body);
    if (status === 200) return json;
    const where = `${method} ${path}`;
    if (status === 401) this.fail(`${where}: authentication failed (HTTP 401): check the API key and secret`);
    if (status === 403) {
      const privilege = path.includes('/alias_util/')
        ? 'page-diagnostics-tables'
        : 'page-firewall-alias-edit';
      this.fail(`${where}: forbidden (HTTP 403): the API user lacks the privilege "${privilege}"`);
    }
    if (status === 404)
      this.fail(`${where}: endpoint not found (HTTP 404): is this OPNsense, and recent enough?`);
    const message =
      (json as { errorMessage?: string; message?: string } | null)?.errorMessage ??
      (json as { message?: string } | null)?.message;
    return this.fail(`${where}: HTTP ${status}${message ? `: ${message}` : ''}`);
  }

  async read(lists: readonly ListRef[]): Promise<Snapshot<OpnsenseDetail>> {
    const states = new Map<string, ListState>();
    const aliases = new Map<string, Alias>();
    const stale = new Set<string>();
    const warnings: string[] = [];
    let canVerify = true;
    for (const { list, remote } of lists) {
      const problem = aliasNameProblem(remote);
      if (problem)
        this.fail(
          `list ${list}: OPNsense refuses the alias name ${problem}; rename it for this target (lists: { ${list}: other_name })`,
        );
      const alias = await this.readAlias(remote);
      aliases.set(list, alias);
      states.set(list, { owned: alias.content });
      if (!alias.uuid || !canVerify) continue;
      const same = await this.pfMatches(remote, alias.content);
      if (same === undefined) {
        canVerify = false;
        warnings.push('cannot verify pf tables: the API user lacks "page-diagnostics-tables"');
      } else if (!same) stale.add(remote);
    }
    return { lists: states, detail: { aliases, stale }, warnings };
  }

  private async readAlias(remote: string): Promise<Alias> {
    const found = (await this.api(
      'GET',
      `/api/firewall/alias/get_alias_uuid/${encodeURIComponent(remote)}`,
    )) as Json | unknown[];
    const uuid = !Array.isArray(found) && typeof found?.uuid === 'string' ? found.uuid : undefined;
    if (!uuid) return { uuid: undefined, content: new Set(), adopting: false };
    const item = ((await this.api('GET', `/api/firewall/alias/get_item/${uuid}`)) as { alias?: Json } | null)
      ?.alias;
    if (!item || item.name !== remote) this.fail(`alias ${remote}: get_item/${uuid} did not return it`);
    const type = selectedKeys(item.type as Json)[0];
    const description = typeof item.description === 'string' ? item.description : '';
    const foreign = !description.startsWith(MARKER);
    if (foreign && !this.config.settings.adopt) {
      this.fail(
        `alias ${remote} exists and was not created by dnsfence (description "${description}"); ` +
          `rename the list for this target, or set adopt: true to take the alias over`,
      );
    }
    if (type !== 'host')
      this.fail(`alias ${remote} is of type ${type ?? 'unknown'}; dnsfence manages host aliases only`);
    // get_item lists every alias on the box in `content` too, unselected: only selected entries are this alias's.
    const content = new Set(
      selectedKeys(item.content as Json)
        .filter((k) => k !== '')
        .map((k) => parseAddress(k)?.text ?? k),
    );
    return { uuid, content, adopting: foreign };
  }

  /**
   * Whether pf's table holds the alias's saved content; a difference means a refresh is still to
   * come. Undefined when the API user may not look (no page-diagnostics-tables).
   */
  private async pfMatches(remote: string, content: ReadonlySet<string>): Promise<boolean | undefined> {
    let json: unknown;
    try {
      json = await this.api('POST', `/api/firewall/alias_util/list/${encodeURIComponent(remote)}`, {
        rowCount: -1,
      });
    } catch (err) {
      if (/HTTP 403/.test((err as Error).message)) return undefined;
      throw err;
    }
    const rows = ((json as { rows?: { ip?: string }[] } | null)?.rows ?? []).map(
      (r) => parseAddress(String(r.ip))?.text ?? String(r.ip),
    );
    return rows.length === content.size && rows.every((ip) => content.has(ip));
  }

  /** A refresh OPNsense skipped earlier, and the takeover of a foreign alias, show in the plan. */
  operations(snapshot: Snapshot<OpnsenseDetail>, plan: TargetPlan<OpnsenseDetail>): Operation[] {
    const ops: Operation[] = [];
    for (const l of plan.lists) {
      const changes = l.add.length + l.remove.length > 0;
      if (snapshot.detail.aliases.get(l.list)?.adopting)
        ops.push({
          kind: 'adopt',
          list: l.list,
          description: `adopt alias ${l.remote}: mark it as dnsfence's`,
        });
      if (snapshot.detail.stale.has(l.remote) && !changes)
        ops.push({
          kind: 'refresh',
          list: l.list,
          description: `reload pf table of alias ${l.remote}: its saved content is not active yet`,
        });
    }
    return ops;
  }

  async apply(plan: TargetPlan<OpnsenseDetail>): Promise<ApplyResult> {
    const applied: Change[] = [];
    const done: Operation[] = [];
    const errors: string[] = [];
    const messages: string[] = [];
    /** What pf must hold per alias once refreshed: what was saved now, or the saved content a refresh is due for. */
    const expected = new Map<string, ReadonlySet<string>>();
    const adopting = new Set(plan.operations.filter((o) => o.kind === 'adopt').map((o) => o.list));
    for (const l of plan.lists) {
      const alias = plan.snapshot.detail.aliases.get(l.list) ?? {
        uuid: undefined,
        content: new Set<string>(),
        adopting: false,
      };
      const changed = l.add.length + l.remove.length > 0;
      if (!changed && !adopting.has(l.list)) {
        if (plan.snapshot.detail.stale.has(l.remote)) expected.set(l.remote, alias.content);
        continue;
      }
      const content = changed ? sortAddresses(l.desired) : sortAddresses(alias.content);
      try {
        await this.save(l, alias, content);
        applied.push(...l.add, ...l.remove);
        done.push(...plan.operations.filter((o) => o.kind === 'adopt' && o.list === l.list));
        expected.set(l.remote, new Set(content));
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (expected.size > 0) {
      try {
        const r = (await this.api('POST', '/api/firewall/alias/reconfigure', {})) as {
          status?: string;
        } | null;
        if (r?.status !== 'ok')
          throw new TargetError(this.target, `reconfigure answered ${JSON.stringify(r)}`);
        for (const [remote, content] of expected) {
          if ((await this.pfMatches(remote, content)) === false) {
            messages.push(
              `alias ${remote} saved, pf refresh pending (OPNsense's own refresh held the lock); verified again on the next sync`,
            );
            continue;
          }
          done.push(
            ...plan.operations.filter(
              (o) => o.kind === 'refresh' && plan.lists.find((l) => l.list === o.list)?.remote === remote,
            ),
          );
        }
      } catch (err) {
        errors.push(`saved, but reconfigure failed: ${(err as Error).message}; the next sync retries`);
      }
    }
    return { applied, done, messages, ...(errors.length > 0 ? { error: errors.join('; ') } : {}) };
  }

  /** add_item for a new alias, set_item with the whole content for an existing one. */
  private async save(l: ListPlan, alias: Alias, content: string[]): Promise<void> {
    const description = `${MARKER}: list ${l.list}, kept in step with DNS; edits here are overwritten`;
    const body: Json = { content: content.join('\n') };
    if (!alias.uuid) Object.assign(body, { name: l.remote, type: 'host', enabled: '1', description });
    else if (alias.adopting) body.description = description;
    const path = alias.uuid ? `/api/firewall/alias/set_item/${alias.uuid}` : '/api/firewall/alias/add_item';
    const r = (await this.api('POST', path, { alias: body })) as {
      result?: string;
      uuid?: string;
      validations?: Json;
    } | null;
    if (r?.result !== 'saved') {
      const fields = Object.entries(r?.validations ?? {})
        .map(
          ([field, message]) => `${field}: ${Array.isArray(message) ? message.join(' ') : String(message)}`,
        )
        .join('; ');
      this.fail(
        `alias ${l.remote}: OPNsense refused the change${fields ? ` (${fields})` : ` (${JSON.stringify(r)})`}`,
      );
    }
  }

  async check(): Promise<string> {
    const lists = [...this.config.lists].map(([list, remote]) => ({ list, remote }));
    const { detail } = await this.read(lists);
    const parts = lists.map(({ list, remote }) => {
      const alias = detail.aliases.get(list);
      return `${remote} ${alias?.uuid ? `(${alias.content.size} entries)` : '(created on first sync)'}`;
    });
    const stale = [...detail.stale];
    return `authenticated; aliases: ${parts.join(', ') || 'none'}${stale.length ? `; pf refresh pending for ${stale.join(', ')}` : ''}`;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

function selectedKeys(options: Json | undefined): string[] {
  if (!options || typeof options !== 'object') return [];
  return Object.entries(options)
    .filter(([, v]) => Number((v as { selected?: unknown })?.selected) === 1)
    .map(([k]) => k);
}
