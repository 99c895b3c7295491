import type { Config, Endpoint, ForwardConfig } from '../config/types.js';
import { errorMessage } from '../errors.js';
import type { KeyedLock } from '../keyed-lock.js';
import type { Logger } from '../log.js';
import { systemResolvers } from '../config/resolver-spec.js';
import type { Db } from '../store/db.js';
import { formatDuration, type Clock } from '../time.js';
import type { Change } from '../model/change.js';
import { Clients, RateLimit } from './clients.js';
import type { Addition } from './hold.js';
import { Holder } from './hold.js';
import { LearnedNames } from './learned-names.js';
import { learnable, learnFrom, type Learning, type Taught } from './learn.js';
import { ListIndex, type Match } from './match.js';
import { Recorder } from './record.js';
import { listenOn, TCP_LARGEST, type Listening, type Via } from './server.js';
import { Upstreams } from './upstream.js';
import { anyAnswer, QTYPE, RCODE, readQuery, reply, truncated } from './wire.js';

export interface ForwarderOptions {
  db: Db;
  /** Shared with the watch's syncs: a target is written by one of them at a time. */
  gate: KeyedLock;
  clock: Clock;
  log: Logger;
  /** `watch --listen`: these instead of forward.listen. */
  listen?: Endpoint[];
  /** Asks the watch to sync these lists on every target soon. */
  wantSync: (lists: string[]) => void;
  /** What a hold target confirmed, once recorded: watch prints it as it prints a sync's changes. */
  held?: (changes: readonly Change[], at: Date) => void;
}

/** Queries being forwarded or held at once; beyond, SERVFAIL: memory stays bounded under a flood. */
export const IN_FLIGHT = 10_000;

const FULL_SAID_MS = 60_000;

/** What the forwarder did, counted (tests and the benchmark look at it). */
export interface ForwardStats {
  queries: number;
  refused: number;
  limited: number;
  dropped: number;
  servfail: number;
  held: number;
  late: number;
}

const NONE: readonly Match[] = [];

/** What a configuration's `forward` becomes: rebuilt on a reload. */
interface Settings {
  forward: ForwardConfig;
  index: ListIndex;
  clients: Clients;
  rate: RateLimit;
  upstreams: Upstreams;
  /** Per list, the names it is configured with: those are observed, not learned. */
  configured: Map<string, Set<string>>;
}

/**
 * The DNS forwarder of `watch`: answers the clients it may on `forward.listen`, forwards every
 * query to the upstreams as the client asked it, and returns the answer unchanged but for its ID.
 * An answer for a name of a list (or whose CNAME chain leads to one) is learned: recorded as an
 * observation, the name learned when a wildcard matched it, and the answer held until the hold
 * targets have its new addresses, or `hold` ran out.
 */
export class Forwarder {
  readonly stats: ForwardStats = {
    queries: 0,
    refused: 0,
    limited: 0,
    dropped: 0,
    servfail: 0,
    held: 0,
    late: 0,
  };
  private settings: Settings;
  private listening: Listening[] = [];
  private inFlight = 0;
  private readonly recorder: Recorder;
  private readonly holder: Holder;
  private readonly names: LearnedNames;
  private readonly said = new Said();
  private upstreamDown = false;

  private constructor(
    private config: Config,
    private readonly options: ForwarderOptions,
  ) {
    this.settings = settingsOf(config);
    this.recorder = new Recorder(options.db, () => this.config.hash, options.log);
    this.holder = new Holder(
      options.db,
      options.gate,
      this.recorder,
      options.clock,
      options.log,
      options.wantSync,
      options.held,
    );
    this.names = new LearnedNames(options.db, this.settings.forward.maxLearned);
  }

  /**
   * Starts answering. An address it cannot listen on is said in one line and left out: the watch
   * goes on syncing either way.
   */
  static async start(config: Config, options: ForwarderOptions): Promise<Forwarder> {
    const forwarder = new Forwarder(config, options);
    await forwarder.holder.configure(config, forwarder.settings.forward.holdTargets);
    await forwarder.bind();
    return forwarder;
  }

  /** The addresses it answers on. */
  get endpoints(): Endpoint[] {
    return this.listening.map((l) => l.endpoint);
  }

  private async bind(): Promise<void> {
    const { log } = this.options;
    const endpoints = this.options.listen ?? this.settings.forward.listen;
    for (const endpoint of endpoints) {
      try {
        this.listening.push(await listenOn(endpoint, this.handle));
      } catch (err) {
        log.error(`forward: ${errorMessage(err)}; watch goes on syncing without answering there`);
      }
    }
    const f = this.settings.forward;
    if (this.listening.length > 0)
      log.info(
        `forward: answering on ${this.endpoints.map((e) => e.label).join(', ')} (UDP and TCP) for ${f.clients.map((c) => c.text).join(', ')}; ` +
          `hold ${f.holdMs > 0 ? `${formatDuration(f.holdMs)} for ${f.holdTargets.join(', ') || 'no target'}` : 'off'}`,
      );
  }

  /** One query, from a client, over UDP or TCP. */
  private readonly handle = (
    message: Buffer,
    client: string,
    via: Via,
    send: (answer: Buffer) => void,
  ): void => {
    const query = readQuery(message);
    this.stats.queries += 1;
    if (!query) {
      this.stats.dropped += 1;
      return;
    }
    const s = this.settings;
    if (!s.clients.allows(client)) {
      this.stats.refused += 1;
      // Answered (REFUSED is no larger than the query), but not faster than the rate limit allows.
      if (s.rate.take(client, Date.now())) send(reply(message, query, RCODE.REFUSED));
      return;
    }
    if (!s.rate.take(client, Date.now())) {
      this.stats.limited += 1;
      send(reply(message, query, RCODE.REFUSED));
      return;
    }
    if (query.opcode !== 0) return send(reply(message, query, RCODE.NOTIMP));
    if (query.type === QTYPE.ANY) return send(anyAnswer(message, query));
    if (this.inFlight >= IN_FLIGHT) {
      this.stats.servfail += 1;
      return send(reply(message, query, RCODE.SERVFAIL));
    }
    this.inFlight += 1;
    const learns = learnable(query) && !s.index.empty;
    const matched = learns ? s.index.match(query.name) : NONE;
    s.upstreams.forward(message, via === 'tcp', (result) => {
      if (result.kind === 'failed') {
        this.inFlight -= 1;
        this.stats.servfail += 1;
        this.upstreamFailed(result.detail);
        send(reply(message, query, RCODE.SERVFAIL));
        return;
      }
      if (this.upstreamDown) this.upstreamAnswers();
      // The answer is this forwarder's own buffer: only the ID is the client's again.
      const answer = result.message;
      answer.writeUInt16BE(query.id, 0);
      const out =
        via === 'udp' && answer.length > query.udpSize
          ? truncated(answer, query)
          : via === 'tcp' && answer.length > TCP_LARGEST
            ? reply(message, query, RCODE.SERVFAIL) // more than a TCP frame can carry (DoH can answer that)
            : answer;
      const learning = learns
        ? learnFrom(query, answer, matched, s.index, result.upstream, client)
        : undefined;
      const waits = learning ? this.learn(learning) : undefined;
      if (!waits || s.forward.holdMs === 0) {
        for (const w of waits ?? []) w.released = true;
        this.inFlight -= 1;
        send(out);
        return;
      }
      this.hold(waits, learning as Learning, out, send);
    });
  };

  /** Records what an answer taught; returns the additions it must wait for. */
  private learn(learning: Learning): Addition[] | undefined {
    const at = this.options.clock();
    const { client } = learning;
    const refused = new Set<Taught>();
    for (const m of learning.matches) {
      if (this.settings.configured.get(m.list)?.has(m.name)) continue;
      const retentionMs = this.config.lists.get(m.list)?.retentionMs ?? 0;
      const asked = this.names.asked(m.list, m.name, at.getTime(), retentionMs);
      if (asked.refused) {
        refused.add(m);
        this.said.full(this.options.log, m.list, m.name, this.settings.forward.maxLearned, at.getTime());
        continue;
      }
      this.recorder.asked(m.list, m.name, m.entry, client, at, asked.isNew);
      if (asked.isNew) this.said.learned(this.options.log, m.list, m.name, m.entry, client);
      // Only from memory: in the database they stay forgotten (not asked within retention), and
      // their addresses age out as any forgotten name's do.
      if (asked.forgotten.length > 0)
        this.said.forgot(this.options.log, m.list, asked.forgotten, this.settings.forward.maxLearned);
    }
    const matches = learning.matches.filter((m) => !refused.has(m));
    if (matches.length === 0) return undefined;
    const taught = new Set(matches.map((m) => m.name));
    for (const result of learning.results) if (taught.has(result.name)) this.recorder.observe(result, at);
    return this.holder.admit(refused.size === 0 ? learning : { ...learning, matches });
  }

  /** The answer goes once the hold targets confirmed its addresses, or when the hold runs out. */
  private hold(waits: Addition[], learning: Learning, answer: Buffer, send: (a: Buffer) => void): void {
    this.stats.held += 1;
    let sent = false;
    const go = (expired: boolean) => {
      if (sent) return;
      sent = true;
      clearTimeout(timer);
      this.inFlight -= 1;
      send(answer);
      const missing = waits.filter((w) => !w.ok);
      if (missing.length === 0) return;
      for (const w of missing) w.released = true;
      this.stats.late += 1;
      const holdMs = this.settings.forward.holdMs;
      for (const w of missing)
        this.said.late(this.options.log, w.target, learning.asked, w.change.address, expired, holdMs);
    };
    const timer = setTimeout(() => go(true), this.settings.forward.holdMs);
    const done = waits.length === 1 ? (waits[0] as Addition).done : Promise.all(waits.map((w) => w.done));
    void done.then(() => go(false));
  }

  private upstreamFailed(detail: string): void {
    if (this.upstreamDown) return;
    this.upstreamDown = true;
    this.options.log.warn(`forward: no upstream answers (${detail}); clients get SERVFAIL until one does`);
  }

  private upstreamAnswers(): void {
    this.upstreamDown = false;
    this.options.log.info('forward: an upstream answers again');
  }

  /** After a sync: what these targets hold now, as the audit log says. */
  synced(targets: Iterable<string>): void {
    this.holder.synced(targets);
  }

  /** A new configuration (SIGHUP). The addresses it listens on change only with a restart of them. */
  async reload(config: Config): Promise<void> {
    const before = this.settings;
    this.config = config;
    this.settings = settingsOf(config);
    this.names.setMax(this.settings.forward.maxLearned);
    await this.holder.configure(config, this.settings.forward.holdTargets);
    const was = before.forward.listen.map((l) => l.label).join(',');
    if (!this.options.listen && was !== this.settings.forward.listen.map((l) => l.label).join(',')) {
      await Promise.all(this.listening.map((l) => l.close()));
      this.listening = [];
      await this.bind();
    }
    // Queries on their way finish with the upstreams they went to.
    setTimeout(() => void before.upstreams.close(), 10_000).unref();
  }

  async close(): Promise<void> {
    await Promise.all(this.listening.map((l) => l.close()));
    this.listening = [];
    await this.holder.close();
    this.recorder.close();
    await this.settings.upstreams.close();
  }
}

function settingsOf(config: Config): Settings {
  const forward = config.forward as ForwardConfig;
  return {
    forward,
    index: new ListIndex(config.lists.values()),
    clients: new Clients(forward.clients),
    rate: new RateLimit(forward.rateLimit),
    upstreams: new Upstreams(
      forward.upstreams ?? config.resolvers ?? systemResolvers(),
      config.resolve.timeoutMs,
      config.resolve.attempts,
    ),
    configured: new Map([...config.lists.values()].map((l) => [l.name, new Set(l.names)])),
  };
}

/**
 * The forwarder's log lines, gathered per turn of the event loop: a burst of answers makes one
 * line per kind and target, not one per answer.
 */
class Said {
  private learnedNames = new Map<string, string[]>();
  private lateByTarget = new Map<string, { names: string[]; expired: boolean; holdMs: number }>();
  private forgotten = new Map<string, { names: string[]; max: number }>();
  private readonly fullSaid = new Map<string, number>();
  private scheduled = false;
  private log: Logger | undefined;

  learned(log: Logger, list: string, name: string, entry: string, client: string): void {
    const key = `${list} (${entry}) from ${client}`;
    this.learnedNames.set(key, [...(this.learnedNames.get(key) ?? []), name]);
    this.soon(log);
  }

  forgot(log: Logger, list: string, names: string[], max: number): void {
    const prior = this.forgotten.get(list);
    this.forgotten.set(list, { names: [...(prior?.names ?? []), ...names], max });
    this.soon(log);
  }

  /** A name refused by a full list: said at most once a minute per list, however long a flood lasts. */
  full(log: Logger, list: string, name: string, max: number, now: number): void {
    const last = this.fullSaid.get(list);
    if (last !== undefined && now - last < FULL_SAID_MS) return;
    this.fullSaid.set(list, now);
    log.warn(
      `forward: list ${list} holds ${max} learned names, each asked for within its retention (forward.max_learned): not learning ${name} (and others for a minute)`,
    );
  }

  late(log: Logger, target: string, name: string, address: string, expired: boolean, holdMs: number): void {
    const prior = this.lateByTarget.get(target);
    this.lateByTarget.set(target, {
      names: [...(prior?.names ?? []), `${name} (${address})`],
      expired: (prior?.expired ?? true) && expired,
      holdMs,
    });
    this.soon(log);
  }

  private soon(log: Logger): void {
    this.log = log;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.say());
  }

  private say(): void {
    this.scheduled = false;
    const log = this.log as Logger;
    for (const [where, names] of this.learnedNames)
      log.info(`forward: learned ${few(names)} for list ${where}`);
    for (const [list, { names, max }] of this.forgotten)
      log.warn(
        `forward: list ${list} keeps at most ${max} learned names (forward.max_learned): made room by forgetting ${few(names)}, not asked for within its retention`,
      );
    for (const [target, { names, expired, holdMs }] of this.lateByTarget)
      log.warn(
        `forward: late: answered ${few(names)} before target ${target} had ${names.length === 1 ? 'it' : 'them'} ` +
          `(${expired ? `not confirmed within the ${formatDuration(holdMs)} hold` : 'the target failed'})`,
      );
    this.learnedNames = new Map();
    this.forgotten = new Map();
    this.lateByTarget = new Map();
  }
}

/** `a, b, c and 7 more` */
function few(names: readonly string[]): string {
  const unique = [...new Set(names)];
  return unique.length <= 5
    ? unique.join(', ')
    : `${unique.slice(0, 5).join(', ')} and ${unique.length - 5} more`;
}
