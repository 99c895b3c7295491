import ipaddr from 'ipaddr.js';
import { parseAddress, type Address } from '../address.js';
import { systemResolvers, type ResolverSpec, type ResolverTrust } from './resolver-spec.js';
import { formatDuration } from '../time.js';
import { resolverSpec } from './resolvers.js';
import { isLoopback } from './serve.js';
import type { RawConfig } from './schema.js';
import type { Endpoint, ForwardConfig, TargetConfig, TargetTypeSpec } from './types.js';

export const FORWARD_DEFAULTS = {
  listen: '127.0.0.1:53',
  clients: ['127.0.0.0/8', '::1/128'],
  holdMs: 200,
  rateLimit: 1000,
  maxLearned: 10_000,
};

/** A client gives up on an answer after a few seconds: holding it longer only makes it ask again. */
const LONGEST_HOLD_MS = 2000;

type Fail = (path: PropertyKey[], message: string) => never;

/**
 * `127.0.0.1:53`, `[::1]:53`, `0.0.0.0:53`, `::1` (port 53): an address this host listens on.
 * Returns a message instead when the text is not one.
 */
export function parseEndpoint(text: string): Endpoint | string {
  const input = text.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(input);
  let host = input;
  let port = '53';
  if (bracketed) {
    host = bracketed[1] as string;
    port = bracketed[2] ?? '53';
  } else if (input.split(':').length === 2) {
    [host, port] = input.split(':') as [string, string];
  }
  const ipv4 = !host.includes(':');
  if (!ipaddr.isValid(host) || (ipv4 && !ipaddr.IPv4.isValidFourPartDecimal(host)))
    return `${JSON.stringify(text)} is not an address and port such as "127.0.0.1:53" or "[::1]:53"`;
  const number = Number(port);
  if (!/^\d+$/.test(port) || number < 1 || number > 65535)
    return `${JSON.stringify(text)}: port must be 1-65535`;
  const normal = ipaddr.parse(host).toString();
  return {
    host: normal,
    port: number,
    label: normal.includes(':') ? `[${normal}]:${number}` : `${normal}:${number}`,
  };
}

export interface ForwardInputs {
  /** `resolvers`, parsed; undefined: the system's. */
  resolvers: ResolverSpec[] | undefined;
  trust: ResolverTrust | undefined;
  targets: ReadonlyMap<string, TargetConfig>;
  types: readonly TargetTypeSpec[];
  fail: Fail;
  warn: (message: string) => void;
}

/** The `forward` key, with its defaults; undefined when the configuration has none. */
export function buildForward(raw: RawConfig['forward'], at: ForwardInputs): ForwardConfig | undefined {
  if (raw === undefined) return undefined;
  const own = raw ?? {};
  const { fail, warn } = at;
  const listen = (own.listen ?? [FORWARD_DEFAULTS.listen]).map((text, i) => {
    const endpoint = parseEndpoint(text);
    return typeof endpoint === 'string' ? fail(['forward', 'listen', i], endpoint) : endpoint;
  });
  const upstreams = own.upstreams?.map((text, i) =>
    resolverSpec(text, ['forward', 'upstreams', i], at.trust, fail),
  );
  checkNoLoop(listen, upstreams, at.resolvers, fail);
  const clients = (own.clients ?? FORWARD_DEFAULTS.clients).map(
    (text, i): Address =>
      parseAddress(text) ??
      fail(
        ['forward', 'clients', i],
        `${JSON.stringify(text)} is not an address or prefix (e.g. 192.0.2.0/24)`,
      ),
  );
  const holdMs = own.hold ?? FORWARD_DEFAULTS.holdMs;
  if (holdMs > LONGEST_HOLD_MS)
    fail(
      ['forward', 'hold'],
      `${formatDuration(holdMs)} is longer than ${formatDuration(LONGEST_HOLD_MS)}: a client would have asked again long before`,
    );
  warnOpen(listen, clients, own.clients !== undefined, warn);
  return {
    listen,
    upstreams,
    clients,
    holdMs,
    holdTargets: holdTargets(own.hold_targets, at),
    rateLimit: own.rate_limit ?? FORWARD_DEFAULTS.rateLimit,
    maxLearned: own.max_learned ?? FORWARD_DEFAULTS.maxLearned,
  };
}

/** Named targets must exist and be able to hold answers; by default every target that can. */
function holdTargets(names: string[] | undefined, at: ForwardInputs): string[] {
  const canHold = (t: TargetConfig) =>
    at.types.find((type) => type.type === t.type)?.describe(t).hold === true;
  if (names === undefined) return [...at.targets.values()].filter(canHold).map((t) => t.name);
  return names.map((name, i) => {
    const target = at.targets.get(name);
    if (!target)
      return at.fail(
        ['forward', 'hold_targets', i],
        `no target ${JSON.stringify(name)} (have: ${[...at.targets.keys()].join(', ') || 'none'})`,
      );
    if (!canHold(target))
      at.fail(
        ['forward', 'hold_targets', i],
        `${name} is a ${target.type} target, which answers cannot wait for (nftables, ipset and file targets can); ` +
          'it gets new addresses with the next push',
      );
    return name;
  });
}

/** The forwarder must not be its own upstream: every query would go round until it timed out. */
function checkNoLoop(
  listen: Endpoint[],
  upstreams: ResolverSpec[] | undefined,
  resolvers: ResolverSpec[] | undefined,
  fail: Fail,
): void {
  const asked = upstreams ?? resolvers ?? systemResolvers();
  asked.forEach((u, i) => {
    if (u.protocol === 'https') return;
    const self = listen.find(
      (l) =>
        l.port === u.port && (l.host === u.host || (isAny(l.host) && (isLoopback(u.host) || isAny(u.host)))),
    );
    if (!self) return;
    if (upstreams)
      fail(['forward', 'upstreams', i], `${u.label} is where the forwarder listens itself (${self.label})`);
    fail(
      ['forward'],
      `upstreams not given, so the forwarder would ask ${resolvers ? 'resolvers' : 'the nameservers of /etc/resolv.conf'}, ` +
        `and ${u.label} is where it listens itself (${self.label}): set forward.upstreams to the resolvers to ask`,
    );
  });
}

const isAny = (host: string) => host === '0.0.0.0' || host === '::';

/** Listening beyond loopback while only loopback may ask is almost always an oversight. */
function warnOpen(
  listen: Endpoint[],
  clients: Address[],
  explicit: boolean,
  warn: (m: string) => void,
): void {
  const reachable = listen.filter((l) => !isLoopback(l.host));
  if (reachable.length > 0 && !explicit)
    warn(
      `forward.listen: ${reachable.map((l) => l.label).join(', ')} can be reached from the network, but only ` +
        'loopback clients may ask (forward.clients): name the clients, e.g. clients: [192.0.2.0/24]',
    );
  const everyone = clients.filter((c) => c.prefix === 0);
  if (everyone.length > 0)
    warn(
      `forward.clients: ${everyone.map((c) => c.text).join(', ')} lets anyone ask: an open resolver is abused ` +
        'for attacks on others; name your networks instead',
    );
}
