import { dirname, join } from 'node:path';
import { traitsOf } from '../../adapters/registry.js';
import type { Config } from '../config/types.js';
import { formatDuration } from '../time.js';

export interface UnitOptions {
  intervalMs: number;
  user: boolean;
  /** A system user of its own to run as (system units only). */
  systemUser?: string;
  watch: boolean;
  /** A long-running `serve` service (its own unit, beside the timer or the watch). */
  serve?: boolean;
  /** How to start dnsfence: the node binary and the CLI script, absolute. */
  exec: string[];
}

export interface Units {
  service: string;
  timer?: string;
  cron?: string;
  /** What the admin must know before installing them, one line each. */
  warnings: string[];
}

const quote = (arg: string) =>
  /^[\w@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\$`])/g, '\\$1')}"`;

/** systemd wants a calendar expression for Persistent=true: every N minutes or hours when that divides evenly. */
export function calendarFor(ms: number): string | undefined {
  const minutes = ms / 60_000;
  if (Number.isInteger(minutes) && minutes >= 1 && minutes < 60 && 60 % minutes === 0)
    return `*:0/${minutes}`;
  const hours = ms / 3_600_000;
  if (Number.isInteger(hours) && hours >= 1 && hours < 24 && 24 % hours === 0) return `0/${hours}:00`;
  if (ms === 86_400_000) return 'daily';
  return undefined;
}

/** Intervals cron repeats evenly, in minutes: divisors of an hour, of a day, and a day. */
const EVEN_MINUTES = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440];

const minutesText = (m: number) => (m < 60 ? `${m}min` : m < 1440 ? `${m / 60}h` : '1d');

/**
 * A cron schedule for an interval. `*\/7` in the minute field fires at :56 and again at :00, so
 * an interval cron cannot repeat evenly gets the nearest one it can (the shorter on a tie), with
 * both neighbours named in a warning.
 */
export function cronSchedule(ms: number): { time: string; minutes: number; warning?: string } {
  const wanted = ms / 60_000;
  const below = [...EVEN_MINUTES].reverse().find((m) => m <= wanted);
  const above = EVEN_MINUTES.find((m) => m >= wanted);
  const nearest =
    below === undefined
      ? (above as number)
      : above === undefined || wanted - below <= above - wanted
        ? below
        : above;
  const time =
    nearest < 60
      ? `*/${nearest} * * * *`
      : nearest === 60
        ? '0 * * * *'
        : nearest < 1440
          ? `0 */${nearest / 60} * * *`
          : '0 0 * * *';
  if (nearest === wanted) return { time, minutes: nearest };
  const choices = [below, above].filter((m): m is number => m !== undefined && m !== wanted).map(minutesText);
  return {
    time,
    minutes: nearest,
    warning:
      `--interval ${formatDuration(ms)}: cron cannot repeat that evenly, so the cron line runs every ` +
      `${minutesText(nearest)}; use ${choices.join(' or ')} for an even schedule (the timer runs every ${formatDuration(ms)})`,
  };
}

/**
 * Folders the service cannot use with PrivateTmp=yes and PrivateDevices=yes: it gets empty ones
 * of its own instead.
 */
const PRIVATE_DIRS = ['/tmp', '/var/tmp', '/dev/shm'];

function privateTmpWarning(config: Config): string | undefined {
  const paths = [config.file, config.database];
  const serve = config.serve;
  if (serve?.tls) paths.push(serve.tls.certFile, serve.tls.keyFile);
  if (serve?.usersFile) paths.push(serve.usersFile);
  for (const t of config.targets.values()) paths.push(...traitsOf(t).writes);
  const hidden = [...new Set(paths)].filter((p) =>
    PRIVATE_DIRS.some((d) => p === d || p.startsWith(`${d}/`)),
  );
  if (hidden.length === 0) return undefined;
  return (
    `${hidden.join(', ')}: the service gets a private, empty /tmp, /var/tmp and /dev/shm (PrivateTmp=yes, ` +
    'PrivateDevices=yes) and would not find what is there; move the configuration to /etc/dnsfence and ' +
    'the database and list files to /var/lib/dnsfence'
  );
}

/**
 * Units an admin can drop into /etc/systemd/system (or ~/.config/systemd/user): a hardened oneshot
 * service with a timer, or a long-running watch service. Write access only where dnsfence writes.
 */
export function renderUnits(config: Config, options: UnitOptions): Units {
  const base = [...options.exec, '-c', config.file];
  const writable = new Set<string>([dirname(config.database)]);
  const capabilities = new Set<string>();
  // `serve` writes only its fetch records, into the database, and pushes to no target.
  if (!options.serve)
    for (const t of config.targets.values()) {
      const traits = traitsOf(t);
      for (const dir of traits.writes) writable.add(dir);
      for (const cap of traits.capabilities) capabilities.add(cap);
    }
  // A listening port below 1024 (443 for the feeds, 53 for the forwarder) takes a capability of its own.
  const serving = options.serve || (options.watch && config.serve !== undefined);
  const privileged = options.watch ? (config.forward?.listen ?? []).filter((l) => l.port < 1024) : [];
  if ((serving && (config.serve?.listen.port ?? 1024) < 1024) || privileged.length > 0)
    capabilities.add('CAP_NET_BIND_SERVICE');
  const caps = [...capabilities].sort().join(' ');
  const runAs =
    !options.user && options.systemUser ? [`User=${options.systemUser}`, `Group=${options.systemUser}`] : [];
  const hardening = options.user
    ? ['NoNewPrivileges=yes']
    : [
        ...runAs,
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        // read-only, not yes: an nft reached over ssh needs the key in the home directory.
        'ProtectHome=read-only',
        'PrivateTmp=yes',
        'PrivateDevices=yes',
        'ProtectKernelTunables=yes',
        'ProtectKernelModules=yes',
        'ProtectControlGroups=yes',
        'RestrictSUIDSGID=yes',
        'LockPersonality=yes',
        'StateDirectory=dnsfence',
        'StateDirectoryMode=0700',
        `ReadWritePaths=${[...writable].map(quote).join(' ')}`,
        // Only what a target's commands need on this host (a local nft: CAP_NET_ADMIN); RouterOS,
        // OPNsense, nft over ssh and files need none.
        `CapabilityBoundingSet=${caps}`,
        ...(caps ? [`AmbientCapabilities=${caps}`] : []),
        `RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX${options.serve ? '' : ' AF_NETLINK'}`,
      ];
  const hidden = options.user ? undefined : privateTmpWarning(config);
  const warnings = hidden ? [hidden] : [];
  if (options.user && privileged.length > 0)
    warnings.push(
      `forward.listen: ${privileged.map((l) => l.label).join(', ')} is below port 1024, which a user service cannot bind ` +
        '(it gets no capability): use a system unit, or a port from 1024 up',
    );
  const header = (what: string) => [`# ${what}, generated by dnsfence systemd for ${config.file}`];
  if (options.serve) {
    const service = [
      ...header('dnsfence serve'),
      '[Unit]',
      'Description=dnsfence: feeds for polling firewalls, status page and metrics (serve)',
      'Wants=network-online.target',
      'After=network-online.target',
      '',
      '[Service]',
      'Type=simple',
      `ExecStart=${[...base, 'serve'].map(quote).join(' ')}`,
      // Reloads the configuration, the users file and the certificate.
      'ExecReload=/bin/kill -HUP $MAINPID',
      'Restart=on-failure',
      'RestartSec=10s',
      ...hardening,
      '',
      '[Install]',
      `WantedBy=${options.user ? 'default.target' : 'multi-user.target'}`,
    ];
    return { service: `${service.join('\n')}\n`, warnings };
  }
  if (options.watch) {
    const service = [
      ...header('dnsfence watch'),
      '[Unit]',
      'Description=dnsfence: keep firewall address lists in step with DNS (watch)',
      'Wants=network-online.target',
      'After=network-online.target',
      '',
      '[Service]',
      'Type=simple',
      `ExecStart=${[...base, '--quiet', 'watch'].map(quote).join(' ')}`,
      'ExecReload=/bin/kill -HUP $MAINPID',
      'Restart=on-failure',
      'RestartSec=10s',
      ...hardening,
      '',
      '[Install]',
      `WantedBy=${options.user ? 'default.target' : 'multi-user.target'}`,
    ];
    return { service: `${service.join('\n')}\n`, warnings };
  }
  const service = [
    ...header('dnsfence sync'),
    '[Unit]',
    'Description=dnsfence: keep firewall address lists in step with DNS',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${[...base, '--quiet', 'sync'].map(quote).join(' ')}`,
    // Exit 3 (degraded: a name failed and kept its addresses) is reported, not a unit failure.
    'SuccessExitStatus=3',
    ...hardening,
  ];
  const calendar = calendarFor(options.intervalMs);
  const every = formatDuration(options.intervalMs);
  const timer = [
    ...header('dnsfence timer'),
    '[Unit]',
    `Description=dnsfence sync every ${every}`,
    '',
    '[Timer]',
    ...(calendar
      ? [`OnCalendar=${calendar}`, 'Persistent=true']
      : ['OnBootSec=1min', `OnUnitActiveSec=${Math.round(options.intervalMs / 1000)}s`]),
    `RandomizedDelaySec=${Math.max(1, Math.min(60, Math.round(options.intervalMs / 10_000)))}s`,
    'AccuracySec=1s',
    '',
    '[Install]',
    'WantedBy=timers.target',
  ];
  const schedule = cronSchedule(options.intervalMs);
  // Cron cannot hand a user a capability: with one needed, its line stays root.
  const cronUser = options.systemUser && !caps ? options.systemUser : 'root';
  if (options.systemUser && caps && !options.user)
    warnings.push(
      `--system-user ${options.systemUser}: the cron line runs as root, since cron cannot give ${options.systemUser} ${caps}; the timer can`,
    );
  const cron = [
    ...(schedule.warning
      ? [`# every ${minutesText(schedule.minutes)}: cron cannot repeat every ${every} evenly`]
      : []),
    `${schedule.time} ${options.user ? '' : `${cronUser} `}${[...base, '--quiet', 'sync'].map(quote).join(' ')}`,
  ];
  if (schedule.warning) warnings.push(schedule.warning);
  return {
    service: `${service.join('\n')}\n`,
    timer: `${timer.join('\n')}\n`,
    cron: `${cron.join('\n')}\n`,
    warnings,
  };
}

export function defaultExec(root: string): string[] {
  return [process.execPath, join(root, 'bin', 'dnsfence.cjs')];
}
