import { randomUUID } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import ipaddr from 'ipaddr.js';
import { registerSecret } from '../helpers.js';

/**
 * A fake OPNsense that answers the firewall alias API with the real product's shapes and quirks
 * (read from opnsense/core's alias controllers): Basic auth with 401/403 JSON bodies, snake_case
 * and camelCase routes, `get_alias_uuid` answering `[]`, `get_item` listing every alias with
 * `selected` flags, validations, and a pf table that only `reconfigure` refreshes.
 */
export interface FakeAlias {
  uuid: string;
  name: string;
  type: string;
  content: string[];
  description: string;
  enabled: string;
}

type Failure = { status: number; body: string } | 'hang' | 'drop';

const RESERVED = new Set([
  'all',
  'any',
  'table',
  'port',
  'set',
  'user',
  'http',
  'https',
  'ntp',
  'ssh',
  'tcp',
  'udp',
]);
const NAME = /^([a-zA-Z]|(([_a-zA-Z][a-zA-Z0-9]|[a-zA-Z][_a-zA-Z0-9])[_a-zA-Z0-9]{0,29}))$/;

export class FakeOpnsense {
  // Registered with the leak scan (test/helpers.ts): no output of dnsfence may contain either.
  key = registerSecret('opnkey-b6b1d5a1f0c3');
  secret = registerSecret('opnsecret-do-not-leak');
  privileges = new Set(['page-firewall-alias-edit', 'page-diagnostics-tables']);
  readonly aliases = new Map<string, FakeAlias>();
  readonly pf = new Map<string, string[]>();
  /** Reproduce OPNsense skipping the table refresh because its cron holds the lock. */
  skipRefresh = false;
  /** Requests as `METHOD /api/...`. */
  readonly requests: string[] = [];
  writes = 0;
  reconfigures = 0;
  private failures: { match: RegExp; failure: Failure }[] = [];
  private server: https.Server | undefined;
  private readonly sockets = new Set<Socket>();
  url = '';

  constructor() {
    for (const name of ['bogons', 'bogonsv6', 'virusprot', 'sshlockout']) {
      this.aliases.set(randomUUID(), {
        uuid: randomUUID(),
        name,
        type: 'external',
        content: [],
        description: '',
        enabled: '1',
      });
    }
  }

  /** The next request whose path matches fails this way (once). */
  failNext(match: RegExp, failure: Failure): void {
    this.failures.push({ match, failure });
  }

  byName(name: string): FakeAlias | undefined {
    return [...this.aliases.values()].find((a) => a.name === name);
  }

  /** What a hand edit in the web UI does: config changes, pf follows on the next refresh. */
  addForeign(name: string, content: string[], type = 'host'): FakeAlias {
    const alias = { uuid: randomUUID(), name, type, content, description: 'made by hand', enabled: '1' };
    this.aliases.set(alias.uuid, alias);
    this.pf.set(name, [...content]);
    return alias;
  }

  async start(tls: { cert: string; key: string }): Promise<string> {
    this.server = https.createServer(tls, (req, res) => void this.handle(req, res));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `https://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    this.requests.push(`${req.method} ${path}`);
    const send = (status: number, body: unknown) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json' }).end(text);
    };
    const failure = this.failures.find((f) => f.match.test(path));
    if (failure) {
      this.failures = this.failures.filter((f) => f !== failure);
      if (failure.failure === 'hang') return;
      if (failure.failure === 'drop') {
        req.socket.destroy();
        return;
      }
      res.writeHead(failure.failure.status, { 'content-type': 'application/json' }).end(failure.failure.body);
      return;
    }
    const auth = req.headers.authorization ?? '';
    const decoded = Buffer.from(auth.split(' ')[1] ?? '', 'base64').toString();
    if (!auth.startsWith('Basic ') || decoded !== `${this.key}:${this.secret}`) {
      send(401, { status: 401, message: 'Authentication Failed' });
      return;
    }
    const parts = path.split('/').filter(Boolean);
    if (parts[0] !== 'api' || parts[1] !== 'firewall' || parts.length < 4) {
      send(404, { errorMessage: 'Endpoint not found' });
      return;
    }
    const controller = parts[2] as string;
    // PHP resolves actions case-insensitively after turning snake_case into camelCase.
    const action = (parts[3] as string).replace(/_/g, '').toLowerCase();
    const params = parts.slice(4).map(decodeURIComponent);
    const needed = controller === 'alias_util' ? 'page-diagnostics-tables' : 'page-firewall-alias-edit';
    if (!this.privileges.has(needed)) {
      send(403, { status: 403, message: 'Forbidden' });
      return;
    }
    let body: Record<string, unknown> = {};
    if (req.method === 'POST' && /json/.test(req.headers['content-type'] ?? '')) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        send(400, { status: 400, message: 'Invalid JSON syntax' });
        return;
      }
    }
    if (controller === 'alias') return this.alias(req.method ?? 'GET', action, params, body, send);
    if (controller === 'alias_util' && action === 'list') {
      const rows = (this.pf.get(params[0] ?? '') ?? []).map((ip) => ({ ip }));
      const rowCount = Number(body.rowCount ?? 9999);
      send(200, {
        total: rows.length,
        rowCount: rows.length,
        current: 1,
        rows: rowCount < 0 ? rows : rows.slice(0, rowCount),
      });
      return;
    }
    send(404, { errorMessage: 'Endpoint not found' });
  }

  private alias(
    method: string,
    action: string,
    params: string[],
    body: Record<string, unknown>,
    send: (s: number, b: unknown) => void,
  ): void {
    switch (action) {
      case 'getaliasuuid': {
        const a = this.byName(params[0] ?? '');
        send(200, a ? { uuid: a.uuid } : []);
        return;
      }
      case 'getitem': {
        const a = this.aliases.get(params[0] ?? '');
        const content: Record<string, { value: string; selected: number; description?: string }> = {};
        for (const item of a?.content ?? []) content[item] = { value: item, selected: 1 };
        if (a && a.content.length === 0) content[''] = { value: '', selected: 1 };
        // getItemAction adds every alias name on the box, unselected.
        for (const other of this.aliases.values())
          content[other.name] ??= { value: other.name, selected: 0, description: other.description };
        const types = [
          'host',
          'network',
          'port',
          'url',
          'urltable',
          'geoip',
          'networkgroup',
          'mac',
          'asn',
          'dynipv6host',
          'authgroup',
          'internal',
          'external',
        ];
        send(200, {
          alias: {
            enabled: a?.enabled ?? '1',
            name: a?.name ?? '',
            type: Object.fromEntries(types.map((t) => [t, { value: t, selected: a?.type === t ? 1 : 0 }])),
            content,
            description: a?.description ?? '',
          },
        });
        return;
      }
      case 'additem':
      case 'setitem': {
        if (method !== 'POST') {
          send(200, { result: 'failed' });
          return;
        }
        const input = (body.alias ?? {}) as Record<string, unknown>;
        const existing = action === 'setitem' ? this.aliases.get(params[0] ?? '') : undefined;
        if (action === 'setitem' && !/^[0-9a-f-]{36}$/.test(params[0] ?? '')) {
          send(200, { result: 'failed' });
          return;
        }
        if (Array.isArray(input.content)) {
          send(500, { errorMessage: 'Unexpected error, check log for details' });
          return;
        }
        const next: FakeAlias = {
          uuid: existing?.uuid ?? params[0] ?? randomUUID(),
          name: String(input.name ?? existing?.name ?? ''),
          type: String(input.type ?? existing?.type ?? 'host'),
          content:
            input.content !== undefined
              ? String(input.content).split('\n').filter(Boolean)
              : (existing?.content ?? []),
          description: String(input.description ?? existing?.description ?? ''),
          enabled: String(input.enabled ?? existing?.enabled ?? '1'),
        };
        const validations: Record<string, string> = {};
        if (!NAME.test(next.name))
          validations['alias.name'] =
            'The name must start with a letter or single underscore, be less than 32 characters and only consist of alphanumeric characters or underscores.';
        else if (RESERVED.has(next.name))
          validations['alias.name'] = 'Reserved protocol or service names may not be used';
        else if ([...this.aliases.values()].some((a) => a.name === next.name && a.uuid !== next.uuid))
          validations['alias.name'] = 'An alias with this name already exists.';
        if (next.type === 'host') {
          const bad = next.content.find((item) => !ipaddr.isValid(item) || item.includes('/'));
          if (bad !== undefined)
            validations['alias.content'] = `Entry "${bad}" is not a valid hostname, IP address or range.`;
        }
        if (Object.keys(validations).length > 0) {
          send(200, { result: 'failed', validations });
          return;
        }
        this.aliases.set(next.uuid, next);
        this.writes += 1;
        send(200, action === 'additem' ? { result: 'saved', uuid: next.uuid } : { result: 'saved' });
        return;
      }
      case 'reconfigure': {
        if (method !== 'POST') {
          send(200, { status: 'failed' });
          return;
        }
        this.reconfigures += 1;
        if (!this.skipRefresh) this.refresh();
        send(200, { status: 'ok' });
        return;
      }
      default:
        send(404, { errorMessage: 'Endpoint not found' });
    }
  }

  /** What update_tables.py does for host aliases: pf tables follow the saved content. */
  refresh(): void {
    for (const a of this.aliases.values())
      if (a.type === 'host')
        this.pf.set(
          a.name,
          a.content.map((c) => ipaddr.parse(c).toString()),
        );
  }
}
