import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cronSchedule } from '../src/scheduling/systemd.js';
import { cli, tempDir } from './helpers.js';

let dir: ReturnType<typeof tempDir>;

beforeEach(() => {
  dir = tempDir();
});

afterEach(() => dir.cleanup());

function writeConfig(folder: string): string {
  const path = join(folder, 'dnsfence.yaml');
  writeFileSync(
    path,
    'resolvers: ["127.0.0.1:53"]\nlists:\n  web:\n    names: [www.test.example]\ntargets:\n  export:\n    type: file\n    dir: lists\n',
  );
  return path;
}

const warnings = (stderr: string) => stderr.split('\n').filter(Boolean);

describe('systemd --interval', () => {
  it('an interval cron cannot repeat evenly: one warning, and a cron line for the nearest even one', async () => {
    const config = writeConfig(dir.path);
    const r = await cli(['-c', config, 'systemd', '--user', '--interval', '7min']);
    expect(r.code).toBe(0);
    expect(warnings(r.stderr)).toEqual([
      'warn: --interval 7m: cron cannot repeat that evenly, so the cron line runs every 6min; use 6min or 10min for an even schedule (the timer runs every 7m)',
    ]);
    expect(r.stdout).toMatch(
      /^# every 6min: cron cannot repeat every 7m evenly\n\*\/6 \* \* \* \* \S+node /m,
    );
    expect(r.stdout).not.toContain('*/7');
    // The timer repeats it evenly from the last run.
    expect(r.stdout).toMatch(/^OnUnitActiveSec=420s$/m);
    const even = await cli(['-c', config, 'systemd', '--user', '--interval', '10min']);
    expect(even.stderr).toBe('');
    expect(even.stdout).toMatch(/^\*\/10 \* \* \* \* \S+node /m);
  });

  it('picks the nearest even schedule in minutes, hours or days', () => {
    const minutes = (m: number) => m * 60_000;
    expect(cronSchedule(minutes(5))).toEqual({ time: '*/5 * * * *', minutes: 5 });
    expect(cronSchedule(minutes(60))).toEqual({ time: '0 * * * *', minutes: 60 });
    expect(cronSchedule(minutes(180))).toEqual({ time: '0 */3 * * *', minutes: 180 });
    expect(cronSchedule(minutes(1440))).toEqual({ time: '0 0 * * *', minutes: 1440 });
    expect(cronSchedule(minutes(7))).toMatchObject({ time: '*/6 * * * *' });
    expect(cronSchedule(minutes(25)).warning).toMatch(/runs every 20min; use 20min or 30min /);
    expect(cronSchedule(minutes(45)).warning).toMatch(/runs every 30min; use 30min or 1h /);
    expect(cronSchedule(minutes(300))).toMatchObject({ time: '0 */4 * * *' });
    expect(cronSchedule(minutes(300)).warning).toMatch(/use 4h or 6h /);
    expect(cronSchedule(minutes(2880)).warning).toMatch(/runs every 1d; use 1d for an even schedule/);
    expect(cronSchedule(90_000).warning).toMatch(/^--interval 1m30s: .* every 1min; use 1min or 2min /);
  });
});

describe('systemd and private /tmp', () => {
  it('warns in one line when the config or database is where PrivateTmp=yes hides it', async () => {
    const config = writeConfig(dir.path);
    const r = await cli(['-c', config, 'systemd']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^PrivateTmp=yes$/m);
    expect(warnings(r.stderr)).toEqual([
      `warn: ${config}, ${join(dir.path, 'dnsfence.db')}, ${join(dir.path, 'lists')}: the service gets a private, empty /tmp, /var/tmp and /dev/shm (PrivateTmp=yes, PrivateDevices=yes) and would not find what is there; move the configuration to /etc/dnsfence and the database and list files to /var/lib/dnsfence`,
    ]);
    // A user unit has no private /tmp.
    expect((await cli(['-c', config, 'systemd', '--user'])).stderr).toBe('');
    const watch = await cli(['-c', config, 'systemd', '--watch']);
    expect(warnings(watch.stderr)).toHaveLength(1);
  });

  it('says nothing for a configuration elsewhere', async () => {
    const home = mkdtempSync(join(homedir(), '.dnsfence-test-'));
    try {
      const r = await cli(['-c', writeConfig(home), 'systemd']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('systemd --system-user', () => {
  it('runs the service as a user of its own; cron too, unless a local nft needs a capability', async () => {
    const folder = mkdtempSync(join(homedir(), '.dnsfence-systemd-'));
    try {
      const config = writeConfig(folder);
      const r = await cli(['-c', config, 'systemd', '--system-user', 'dnsfence']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^User=dnsfence\nGroup=dnsfence$/m);
      expect(r.stdout).toMatch(/^CapabilityBoundingSet=$/m);
      expect(r.stdout).toMatch(/^\*\/5 \* \* \* \* dnsfence \S+node /m);
      writeFileSync(
        config,
        'resolvers: ["127.0.0.1:53"]\nlists:\n  web:\n    names: [www.test.example]\n' +
          'targets:\n  fw:\n    type: nftables\n    nft: [ip, netns, exec, fw, nft]\n',
      );
      const local = await cli(['-c', config, 'systemd', '--system-user', 'dnsfence']);
      expect(local.stdout).toMatch(/^AmbientCapabilities=CAP_NET_ADMIN$/m);
      expect(local.stdout).toMatch(/^\*\/5 \* \* \* \* root \S+node /m);
      expect(warnings(local.stderr)).toEqual([
        'warn: --system-user dnsfence: the cron line runs as root, since cron cannot give dnsfence CAP_NET_ADMIN; the timer can',
      ]);
      const bad = await cli(['-c', config, 'systemd', '--system-user', 'Bad User']);
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim()).toBe(
        'dnsfence: --system-user: "Bad User" is not a user name (e.g. dnsfence)',
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('systemd --serve', () => {
  function serveConfig(listen: string): string {
    const path = join(dir.path, 'dnsfence.yaml');
    writeFileSync(
      path,
      `lists:\n  web:\n    static: [192.0.2.1]\ntargets:\n  feeds: { type: feed }\n  export: { type: file, dir: lists }\nserve:\n  listen: "${listen}"\n`,
    );
    return path;
  }

  it('a hardened unit for serve: writes only beside the database, a capability only for a port below 1024', async () => {
    const config = serveConfig('0.0.0.0:443');
    const r = await cli(['-c', config, '--json', 'systemd', '--serve', '--system-user', 'dnsfence']);
    expect(r.code).toBe(0);
    const { service } = JSON.parse(r.stdout) as { service: string };
    expect(service).toMatch(/^ExecStart=\S+node \S+bin\/dnsfence\.cjs -c \S+dnsfence\.yaml serve$/m);
    expect(service).toContain('ExecReload=/bin/kill -HUP $MAINPID');
    expect(service).toContain('ProtectSystem=strict');
    expect(service).toMatch(/^User=dnsfence$/m);
    // The fetch records go into the database; the list files are the timer's business.
    expect(service).toMatch(new RegExp(`^ReadWritePaths=${dir.path}$`, 'm'));
    expect(service).toMatch(/^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
    expect(service).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    expect(service).toMatch(/^RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX$/m);
    const text = await cli(['-c', config, 'systemd', '--serve']);
    expect(text.stdout).toContain('# ---- /etc/systemd/system/dnsfence-serve.service ----');
    expect(text.stdout).toContain('enable --now dnsfence-serve.service');
    if (existsSync('/usr/bin/systemd-analyze')) {
      writeFileSync(join(dir.path, 'dnsfence-serve.service'), service);
      execFileSync('systemd-analyze', ['verify', '--man=no', join(dir.path, 'dnsfence-serve.service')], {
        stdio: 'pipe',
      });
    }
    const high = JSON.parse(
      (await cli(['-c', serveConfig('0.0.0.0:8443'), '--json', 'systemd', '--serve'])).stdout,
    ) as {
      service: string;
    };
    expect(high.service).toMatch(/^CapabilityBoundingSet=$/m);
  });

  it('a watch serving on port 443 gets the capability too; --serve beside --watch is refused', async () => {
    const config = serveConfig('[::]:443');
    const watch = JSON.parse((await cli(['-c', config, '--json', 'systemd', '--watch'])).stdout) as {
      service: string;
    };
    expect(watch.service).toMatch(/^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
    const both = await cli(['-c', config, 'systemd', '--watch', '--serve']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--serve: a watch answers feeds itself/);
  });
});

describe('systemd --watch with forward', () => {
  const forward = (listen: string) => {
    const path = join(dir.path, 'dnsfence.yaml');
    writeFileSync(
      path,
      `resolvers: ["192.0.2.53"]\nforward:\n  listen: ["${listen}"]\nlists:\n  web:\n    names: [www.test.example]\ntargets:\n  export:\n    type: file\n    dir: lists\n`,
    );
    return path;
  };

  it('a watch that answers DNS on port 53 gets CAP_NET_BIND_SERVICE; the timer, which never listens, does not', async () => {
    const config = forward('127.0.0.1:53');
    const watch = await cli(['-c', config, 'systemd', '--watch', '--system-user', 'dnsfence']);
    expect(watch.code).toBe(0);
    expect(watch.stdout).toMatch(/^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
    expect(watch.stdout).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    const timer = await cli(['-c', config, 'systemd']);
    expect(timer.stdout).toMatch(/^CapabilityBoundingSet=$/m);
    expect(timer.stdout).not.toMatch(/AmbientCapabilities/);
  });

  it('on a port from 1024 up it needs none; a user unit is told it cannot bind port 53', async () => {
    const high = await cli(['-c', forward('127.0.0.1:5353'), 'systemd', '--watch']);
    expect(high.stdout).toMatch(/^CapabilityBoundingSet=$/m);
    const user = await cli(['-c', forward('127.0.0.1:53'), 'systemd', '--watch', '--user']);
    expect(user.code).toBe(0);
    expect(warnings(user.stderr)).toEqual([
      'warn: forward.listen: 127.0.0.1:53 is below port 1024, which a user service cannot bind (it gets no capability): use a system unit, or a port from 1024 up',
    ]);
  });
});
