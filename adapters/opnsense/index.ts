import { readFileSync, statSync } from 'node:fs';
import { parseAddress, sortAddresses, type Family } from '../../src/address.js';
import { readSecret } from '../../src/config/secrets.js';
import type { OpnsenseTargetConfig } from '../../src/config/types.js';
import { ConfigError, UserError } from '../../src/errors.js';
import type { Place } from '../../src/store/placements.js';
import type { Adapter, ApplyResult, ListRef, ListUpdate } from '../types.js';
import { JsonClient } from './client.js';
import { aliasNameProblem } from './names.js';

/** Every alias dnsfence creates says so in its description; others are never adopted silently. */
const MARKER = 'dnsfence';

interface AliasState {
  list: string;
  remote: string;
  uuid: string | undefined;
  content: Set<string>;
  /** A foreign alias taken over with `adopt: true`: its description gets the marker on the next write. */
  adopting: boolean;
}

type Json = Record<string, unknown>;

/** The API key file OPNsense offers for download: `key=…` and `secret=…` lines. */
function readApiKeyFile(path: string, key: string): { credentials: string; warning?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const field = (name: string) => new RegExp(`^\\s*${name}\\s*=\\s*(\\S+)\\s*$`, 'm').exec(text)?.[1];
  const k = field('key');
  const s = field('secret');
  if (!k || !s) throw new ConfigError(`${key}: ${path} must hold key=… and secret=… lines`);
  const mode = statSync(path).mode;
  return {
    credentials: `${k}:${s}`,
    ...((mode & 0o077) !== 0
      ? {
          warning: `${key}: ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
        }
      : {}),
  };
}

/**
 * OPNsense firewall aliases over the REST API: one `host` alias per list (v4 and v6 together),
 * replaced whole with `set_item`, then one `reconfigure` for the sync. Nothing is written when
 * nothing changed: every write is a configuration revision on the firewall.
 */
export class OpnsenseAdapter implements Adapter {
  readonly target: string;
  readonly families: readonly Family[] = ['ipv4', 'ipv6'];
  readonly warnings: string[] = [];
  private readonly client: JsonClient;
  private readonly aliases = new Map<string, AliasState>();
  /** Aliases whose pf table does not match the saved content yet (refresh skipped or failed). */
  private readonly pendingRefresh = new Set<string>();
  private canVerify = true;

  constructor(private readonly config: OpnsenseTargetConfig) {
    this.target = config.name;
    const key = `targets.${config.name}`;
    let credentials: string;
    if (config.apiKeyFile) {
      const r = readApiKeyFile(config.apiKeyFile, `${key}.api_key_file`);
      credentials = r.credentials;
      if (r.warning) this.warnings.push(r.warning);
    } else {
      const k = readSecret(config.key!);
      const s = readSecret(config.secret!);
      for (const w of [k.warning, s.warning]) if (w) this.warnings.push(w);
      credentials = `${k.value}:${s.value}`;
    }
    if (config.url.startsWith('http:'))
      this.warnings.push(`${key}.url: plain http sends the API key unencrypted`);
    this.client = new JsonClient({
      target: config.name,
      baseUrl: config.url.replace(/\/+$/, ''),
      tls: config.tls,
      timeoutMs: config.timeoutMs,
      credentials,
    });
  }

  place({ remote }: ListRef): Place {
    const url = this.config.url.replace(/\/+$/, '');
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

  pending(): boolean {
    return this.pendingRefresh.size > 0;
  }

  private fail(message: string): never {
    throw new UserError(`target ${this.target}: ${message}`);
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

  async read(lists: ListRef[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    for (const { list, remote } of lists) {
      const problem = aliasNameProblem(remote);
      if (problem)
        this.fail(
          `list ${list}: OPNsense refuses the alias name ${problem}; rename it for this target (lists: { ${list}: other_name })`,
        );
      const state = await this.readAlias(list, remote);
      this.aliases.set(list, state);
      out.set(list, state.content);
      if (state.uuid) await this.verifyPf(remote, state.content);
    }
    return out;
  }

  private async readAlias(list: string, remote: string): Promise<AliasState> {
    const found = (await this.api(
      'GET',
      `/api/firewall/alias/get_alias_uuid/${encodeURIComponent(remote)}`,
    )) as Json | unknown[];
    const uuid = !Array.isArray(found) && typeof found?.uuid === 'string' ? found.uuid : undefined;
    if (!uuid) return { list, remote, uuid: undefined, content: new Set(), adopting: false };
    const item = ((await this.api('GET', `/api/firewall/alias/get_item/${uuid}`)) as { alias?: Json } | null)
      ?.alias;
    if (!item || item.name !== remote) this.fail(`alias ${remote}: get_item/${uuid} did not return it`);
    const type = selectedKeys(item.type as Json)[0];
    const description = typeof item.description === 'string' ? item.description : '';
    const foreign = !description.startsWith(MARKER);
    if (foreign && !this.config.adopt) {
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
    return { list, remote, uuid, content, adopting: foreign };
  }

  /** Compares pf's table with the saved content; a difference means a refresh is still pending. */
  private async verifyPf(remote: string, content: Set<string>): Promise<boolean> {
    if (!this.canVerify) return true;
    let json: unknown;
    try {
      json = await this.api('POST', `/api/firewall/alias_util/list/${encodeURIComponent(remote)}`, {
        rowCount: -1,
      });
    } catch (err) {
      if (/HTTP 403/.test((err as Error).message)) {
        this.canVerify = false;
        this.warnings.push(
          `target ${this.target}: cannot verify pf tables: the API user lacks "page-diagnostics-tables"`,
        );
        return true;
      }
      throw err;
    }
    const rows = ((json as { rows?: { ip?: string }[] } | null)?.rows ?? []).map(
      (r) => parseAddress(String(r.ip))?.text ?? String(r.ip),
    );
    const same = rows.length === content.size && rows.every((ip) => content.has(ip));
    if (same) this.pendingRefresh.delete(remote);
    else this.pendingRefresh.add(remote);
    return same;
  }

  async apply(updates: ListUpdate[]): Promise<ApplyResult> {
    const applied: ApplyResult['applied'] = [];
    const errors: string[] = [];
    const messages: string[] = [];
    const saved = new Map<string, Set<string>>();
    for (const u of updates) {
      const state = this.aliases.get(u.list) ?? {
        list: u.list,
        remote: u.remote,
        uuid: undefined,
        content: new Set<string>(),
        adopting: false,
      };
      const content = sortAddresses(u.desired);
      try {
        await this.save(state, content);
        applied.push(...u.add, ...u.remove);
        saved.set(u.remote, new Set(content));
        this.pendingRefresh.add(u.remote);
      } catch (err) {
        errors.push((err as Error).message.replace(`target ${this.target}: `, ''));
      }
    }
    if (this.pendingRefresh.size > 0) {
      try {
        const r = (await this.api('POST', '/api/firewall/alias/reconfigure', {})) as {
          status?: string;
        } | null;
        if (r?.status !== 'ok') throw new UserError(`reconfigure answered ${JSON.stringify(r)}`);
        for (const remote of [...this.pendingRefresh]) {
          const state = [...this.aliases.values()].find((a) => a.remote === remote);
          const expected = saved.get(remote) ?? state?.content ?? new Set<string>();
          if (!(await this.verifyPf(remote, expected))) {
            messages.push(
              `target ${this.target}: alias ${remote} saved, pf refresh pending (OPNsense's own refresh held the lock); verified again on the next sync`,
            );
          }
        }
      } catch (err) {
        errors.push(
          `saved, but reconfigure failed: ${(err as Error).message.replace(`target ${this.target}: `, '')}; the next sync retries`,
        );
      }
    }
    return { applied, messages, ...(errors.length > 0 ? { error: errors.join('; ') } : {}) };
  }

  /** add_item for a new alias, set_item with the whole content for an existing one. */
  private async save(state: AliasState, content: string[]): Promise<void> {
    const description = `${MARKER}: list ${state.list}, kept in step with DNS; edits here are overwritten`;
    const alias: Json = { content: content.join('\n') };
    if (!state.uuid) Object.assign(alias, { name: state.remote, type: 'host', enabled: '1', description });
    else if (state.adopting) alias.description = description;
    const path = state.uuid ? `/api/firewall/alias/set_item/${state.uuid}` : '/api/firewall/alias/add_item';
    const r = (await this.api('POST', path, { alias })) as {
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
        `alias ${state.remote}: OPNsense refused the change${fields ? ` (${fields})` : ` (${JSON.stringify(r)})`}`,
      );
    }
    if (!state.uuid && r.uuid) state.uuid = r.uuid;
    state.adopting = false;
    state.content = new Set(content);
  }

  async check(): Promise<string> {
    const lists = [...this.config.lists].map(([list, remote]) => ({ list, remote }));
    const found = await this.read(lists);
    const parts = [...this.aliases.values()].map(
      (a) =>
        `${a.remote} ${a.uuid ? `(${found.get(a.list)?.size ?? 0} entries)` : '(created on first sync)'}`,
    );
    return `authenticated; aliases: ${parts.join(', ') || 'none'}${this.pendingRefresh.size ? `; pf refresh pending for ${[...this.pendingRefresh].join(', ')}` : ''}`;
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
