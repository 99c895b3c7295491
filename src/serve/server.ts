import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { createSecureContext } from 'node:tls';
import { insideAny } from '../address.js';
import { isLoopback } from '../config/serve.js';
import type { Config, ServeSettings } from '../config/types.js';
import { errnoText } from '../errno.js';
import { ConfigError, UserError } from '../errors.js';
import type { Logger } from '../log.js';
import { FEED_FILES } from '../model/feed.js';
import type { Clock } from '../time.js';
import { FetchLog } from './fetch-log.js';
import { feedAnswer, type FeedRoute } from './feeds.js';
import {
  healthAnswer,
  metricsAnswer,
  pageAnswer,
  type Answer,
  type AnswerContext,
  type ServeState,
} from './answers.js';
import { FeedCounters } from './counters.js';
import { Published } from './published.js';
import { DatabaseReader } from './reader.js';
import { Users } from './users.js';

export interface ServeOptions {
  config: Config;
  settings: ServeSettings;
  /** /healthz when `serve.healthy_within` does not say. */
  healthyWithinMs: number;
  log: Logger;
  clock: Clock;
}

/** Generous for a list of a few hundred kilobytes on a slow link, short for a client that sends nothing. */
const TIMEOUTS = { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 };

const WHAT = 'the feeds, the status page and the metrics';

/**
 * `dnsfence serve`: the feeds of the feed targets, the status page, /metrics and /healthz, over
 * node's own http or https (a handful of fixed paths and conditional GETs need no framework). It
 * reads the database with short read-only transactions and never takes the run lock; a database
 * that cannot be read is answered from what was read last.
 */
export class FeedServer {
  private state: ServeState;
  private readonly reader: DatabaseReader;
  private readonly published: Published;
  private readonly fetches: FetchLog;
  private readonly counters = new FeedCounters();
  private readonly memory: AnswerContext['memory'] = {};

  private constructor(
    private readonly server: http.Server,
    private readonly options: ServeOptions,
    state: ServeState,
  ) {
    this.state = state;
    this.reader = new DatabaseReader(options.config.database, options.log, options.clock);
    this.published = new Published(this.reader);
    this.fetches = new FetchLog(options.config.database, options.log);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.handle(req, res));
  }

  /** Reads the users file and the certificate (a configuration error when it cannot), then listens. */
  static async start(options: ServeOptions): Promise<FeedServer> {
    const { settings, log } = options;
    const state = stateOf(options.config, settings, options.healthyWithinMs, log);
    const tls = settings.tls ? readTls(settings.tls) : undefined;
    const server = tls ? https.createServer({ ...tls, ...TIMEOUTS }) : http.createServer(TIMEOUTS);
    const self = new FeedServer(server, options, state);
    const { host, port } = settings.listen;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const hint =
          err.code === 'EACCES' && port < 1024
            ? ' (a port below 1024 needs CAP_NET_BIND_SERVICE: dnsfence systemd --serve adds it)'
            : '';
        self.fetches.close();
        reject(new UserError(`serve.listen ${host}:${port}: cannot listen: ${errnoText(err)}${hint}`));
      });
      server.listen({ host, port }, () => resolve());
    });
    for (const w of exposure(settings, state.users)) log.warn(w);
    log.info(
      `serve: answering on ${self.url}: ${describeRoutes(state.routes)}, / (status page), /metrics, /healthz`,
    );
    return self;
  }

  /** Where it listens, as a URL (the port the system chose when the configuration said 0). */
  get url(): string {
    const a = this.server.address();
    const { host } = this.options.settings.listen;
    const port = typeof a === 'object' && a ? a.port : this.options.settings.listen.port;
    const shown = host.includes(':') ? `[${host}]` : host;
    return `${this.options.settings.tls ? 'https' : 'http'}://${shown}:${port}`;
  }

  /**
   * SIGHUP: the configuration again (feed targets and lists, clients, users, healthy_within), the
   * users file, the certificate and key. What cannot be read keeps what was there, said once.
   */
  reload(config: Config): void {
    const { log } = this.options;
    if (config.database !== this.options.config.database) {
      log.error('serve: database: cannot change while serve runs; restart it (nothing was reloaded)');
      return;
    }
    const settings = config.serve ?? this.options.settings;
    const before = this.options.settings;
    if (settings.listen.host !== before.listen.host || settings.listen.port !== before.listen.port)
      log.warn(
        `serve.listen: still ${before.listen.host}:${before.listen.port}; restart serve to listen elsewhere`,
      );
    if (Boolean(settings.tls) !== Boolean(before.tls))
      log.warn(`serve.tls: still ${before.tls ? 'HTTPS' : 'plain HTTP'}; restart serve to change that`);
    try {
      this.state = stateOf(config, settings, settings.healthyWithinMs ?? this.options.healthyWithinMs, log);
    } catch (err) {
      log.error(`serve: ${(err as Error).message}; keeping the users and feeds it had`);
      return;
    }
    if (settings.tls && before.tls && this.server instanceof https.Server) {
      try {
        this.server.setSecureContext(readTls(settings.tls));
      } catch (err) {
        log.error(`serve: ${(err as Error).message}; keeping the certificate it had`);
      }
    }
    log.info(`serve: reloaded: ${describeRoutes(this.state.routes)}; ${this.state.users?.size ?? 0} user(s)`);
  }

  /** Stops listening, writes the fetch records still waiting, and lets go of the database. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.fetches.close();
    this.reader.close();
  }

  /** A fault in answering one request is that request's 500 and a log line, never the end of serve. */
  private guarded(answer: () => Answer): Answer {
    try {
      return answer();
    } catch (err) {
      this.options.log.error(`serve: internal error: ${(err as Error).message}`);
      return { status: 500, body: 'internal error\n' };
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const { clock } = this.options;
    const client = clientAddress(req.socket.remoteAddress);
    const path = pathOf(req.url);
    const feed = path.startsWith('/feeds/') ? (this.state.routes.get(path) ?? unknownFeed(path)) : undefined;
    let user: string | null = null;
    const answer = this.guarded((): Answer => {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return { status: 405, headers: { Allow: 'GET, HEAD' }, body: 'only GET and HEAD\n' };
      // Who may connect is decided before anything else, credentials included.
      if (this.state.clients.length > 0 && !insideAny(client, this.state.clients))
        return { status: 403, body: 'forbidden\n' };
      if (path !== '/healthz' && this.state.users) {
        const credentials = this.state.users.check(req.headers.authorization);
        if (!('user' in credentials))
          return {
            status: 401,
            headers: { 'WWW-Authenticate': 'Basic realm="dnsfence", charset="UTF-8"' },
            body: 'authentication required\n',
          };
        user = credentials.user;
      }
      if (feed) return feedAnswer(req, feed, this.published);
      const ctx = {
        state: this.state,
        reader: this.reader,
        published: this.published,
        clock,
        memory: this.memory,
      };
      if (path === '/') return pageAnswer(ctx);
      if (path === '/metrics') return metricsAnswer(ctx, this.counters);
      if (path === '/healthz') return healthAnswer(ctx);
      return { status: 404, body: 'not found\n' };
    });
    res.writeHead(
      answer.status,
      answer.complete
        ? answer.headers
        : {
            'X-Content-Type-Options': 'nosniff',
            ...(answer.body !== undefined ? { 'Content-Length': Buffer.byteLength(answer.body) } : {}),
            ...answer.headers,
          },
    );
    res.end(req.method === 'HEAD' ? undefined : answer.body);
    if (feed) {
      // A HEAD learns the version but takes nothing away: it holds none.
      const fetch = {
        client,
        user,
        target: feed.target,
        list: feed.list,
        file: feed.file,
        etag: req.method === 'GET' ? (answer.etag ?? null) : null,
        status: answer.status,
      };
      const at = clock().getTime();
      this.fetches.add(fetch, at);
      this.counters.count(fetch, at);
    }
    this.options.log.debug(
      `serve: ${req.method} ${path} ${answer.status} ${client}${user ? ` ${user}` : ''}`,
    );
  }
}

/**
 * What `check` says of `serve:`: where it listens and what it reads, after reading the users file
 * and the certificate as serve would. Throws the ConfigError serve would stop with.
 */
export function describeServe(settings: ServeSettings): { line: string; warnings: string[] } {
  const users = settings.usersFile ? Users.read(settings.usersFile) : undefined;
  if (settings.tls) readTls(settings.tls);
  const { host, port } = settings.listen;
  const warnings = users?.warning ? [users.warning] : [];
  if (!users) warnings.push(`serve: no serve.users_file: anyone who can connect reads ${WHAT}`);
  if (!settings.tls && !isLoopback(host))
    warnings.push(
      `serve: plain HTTP on ${host}:${port}: ${WHAT} and any credentials cross the network unencrypted`,
    );
  return {
    line:
      `listens on ${host}:${port}, ${settings.tls ? `HTTPS with ${settings.tls.certFile}` : 'plain HTTP'}, ` +
      `${users ? `${users.size} user(s)` : 'no users'}, ${settings.clients.length > 0 ? `${settings.clients.length} client prefix(es)` : 'any client'}`,
    warnings,
  };
}

/** What serving without TLS off this host, or without users, exposes: said when serve starts and by check. */
function exposure(settings: ServeSettings, users: Users | undefined): string[] {
  const { host, port } = settings.listen;
  const warnings: string[] = [];
  if (!settings.tls && !isLoopback(host))
    warnings.push(
      `serve: plain HTTP on ${host}:${port}: ${WHAT} and any credentials cross the network unencrypted; configure serve.tls`,
    );
  if (!users) warnings.push(`serve: no serve.users_file: anyone who can connect reads ${WHAT}`);
  return warnings;
}

/** The users, routes and clients for a configuration; the users file is read (and warned about) here. */
function stateOf(config: Config, settings: ServeSettings, healthyWithinMs: number, log: Logger): ServeState {
  const users = settings.usersFile ? Users.read(settings.usersFile) : undefined;
  if (users?.warning) log.warn(users.warning);
  return {
    config,
    users,
    clients: settings.clients,
    routes: routesOf(config),
    healthyWithinMs: settings.healthyWithinMs ?? healthyWithinMs,
  };
}

/** Every file of every list of every feed target: `/feeds/<target>/<list>.txt`, `.v4.txt`, `.v6.txt`. */
function routesOf(config: Config): Map<string, FeedRoute> {
  const routes = new Map<string, FeedRoute>();
  for (const t of config.targets.values()) {
    if (t.type !== 'feed') continue;
    for (const [list, remote] of t.lists)
      for (const { suffix } of FEED_FILES) {
        const file = `${remote}${suffix}`;
        const path = `/feeds/${t.name}/${file}`;
        // A list name holding `.v4` would collide with another's family file: the whole list wins.
        if (!routes.has(path) || suffix === '.txt') routes.set(path, { target: t.name, list, file, path });
      }
  }
  return routes;
}

function describeRoutes(routes: Map<string, FeedRoute>): string {
  const lists = [...routes.values()].filter((r) => r.file.endsWith('.txt') && !/\.v[46]\.txt$/.test(r.file));
  if (lists.length === 0) return 'no feed target configured';
  return `${lists.map((r) => r.path).join(', ')} (and .v4.txt, .v6.txt)`;
}

/** A path under /feeds/ that names no configured feed: recorded by the names it gave. */
function unknownFeed(path: string): FeedRoute {
  const [target = '', ...rest] = path.slice('/feeds/'.length).split('/');
  return {
    target: target.slice(0, 100),
    list: null,
    file: rest.join('/').slice(0, 200),
    path,
    unknown: true,
  };
}

/** The request's path, without its query; `/` for anything that is not a path. */
function pathOf(url: string | undefined): string {
  if (!url || !url.startsWith('/')) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** An IPv4 client on a dual-stack socket arrives as `::ffff:192.0.2.1`: it is 192.0.2.1. */
function clientAddress(remote: string | undefined): string {
  if (!remote) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote);
  return mapped ? (mapped[1] as string) : remote;
}

function readTls(tls: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  const read = (path: string, key: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`serve.tls.${key}: cannot read ${path}: ${errnoText(err)}`);
    }
  };
  const pair = { cert: read(tls.certFile, 'cert_file'), key: read(tls.keyFile, 'key_file') };
  try {
    // Fails here, with the files named, when the key does not belong to the certificate.
    createSecureContext(pair);
  } catch (err) {
    throw new ConfigError(
      `serve.tls: ${tls.certFile} and ${tls.keyFile} are not a certificate and its key (${(err as Error).message})`,
    );
  }
  return pair;
}
