import {
  closeSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { errnoText } from '../errno.js';
import { ExitCode, UserError } from '../errors.js';

/**
 * How long a run may take between creating a file of the lock's and finishing it: a lock without
 * a holder younger than this is being written, a file left beside the lock older than this is litter.
 */
const SETTLE_MS = 10_000;

interface Holder {
  pid: number;
  host: string;
  command: string;
  since: string;
  /** Process start time from /proc, so a recycled pid is not taken for the holder. */
  start?: string;
}

export interface Lock {
  path: string;
  release(): void;
}

function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) counts from after the ")" that closes the command name.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(holder: Holder): boolean {
  if (holder.host !== hostname()) return true; // cannot check another machine: assume alive
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const start = processStart(holder.pid);
  return holder.start === undefined || start === undefined || start === holder.start;
}

/**
 * One writing run per database: `<db>.lock` holds the holder's pid, host and command.
 * A lock left by a process that no longer exists is taken over.
 */
export function acquireLock(dbPath: string, command: string, now = new Date()): Lock {
  const path = `${dbPath}.lock`;
  const me: Holder = { pid: process.pid, host: hostname(), command, since: now.toISOString() };
  const start = processStart(process.pid);
  if (start) me.start = start;
  const content = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    let created: boolean;
    try {
      created = createWith(path, content);
    } catch (err) {
      throw new UserError(`${path}: cannot create the lock file: ${errnoText(err)}`);
    }
    if (created) {
      removeAbandoned(path);
      return { path, release: () => releaseIfMine(path) };
    }
    const seen = readText(path);
    const holder = parseHolder(seen);
    if (holder === undefined && seen !== undefined && youngerThan(path, SETTLE_MS)) {
      // Being written by a run that has just created it: only a filesystem without hard links
      // (createWith), or a dnsfence from before them, makes the file before its content.
      throw new UserError(`${path}: another dnsfence run is taking the lock right now`, ExitCode.locked);
    }
    if (holder && isAlive(holder)) {
      throw new UserError(
        `${path}: another dnsfence run holds the lock: pid ${holder.pid} on ${holder.host} (dnsfence ${holder.command}, since ${holder.since})`,
        ExitCode.locked,
      );
    }
    // Stale (or unreadable half-written) lock: move it aside atomically so two runs that both
    // found it stale cannot both delete a fresh lock.
    const aside = `${path}.stale.${process.pid}`;
    try {
      renameSync(path, aside);
      if (readText(aside) === seen) unlinkSync(aside);
      else renameSync(aside, path); // a fresh lock slipped in between: put it back
    } catch {
      // someone else took it over first; loop and look again
    }
  }
  throw new UserError(`${path}: could not take the lock`, ExitCode.locked);
}

/** Errors of link(2) on a filesystem that has no hard links (vfat, some network filesystems). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Creates `path` holding `content`, or returns false when it exists. The content is written to a
 * file of this process's own first and linked into place, so that nobody ever finds the lock
 * empty: a run killed while writing it left an empty lock that made every run for SETTLE_MS
 * exit 4 as if another run were starting.
 */
function createWith(path: string, content: string): boolean {
  const own = `${path}.${process.pid}.tmp`;
  let linked: boolean | undefined;
  rmSync(own, { force: true }); // left by a killed run that had this pid
  try {
    // wx: never written through a link someone planted in a shared folder.
    writeFileSync(own, content, { mode: 0o600, flag: 'wx' });
    linked = link(own, path);
  } finally {
    rmSync(own, { force: true });
  }
  if (linked !== undefined) return linked;
  try {
    const fd = openSync(path, 'wx', 0o600);
    writeSync(fd, content);
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** link(2): true, false when `to` exists, undefined on a filesystem without hard links. */
function link(from: string, to: string): boolean | undefined {
  try {
    linkSync(from, to);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (NO_HARD_LINKS.has(code)) return undefined;
    throw err;
  }
}

/**
 * Removes what runs killed while taking the lock left beside it: their own file (createWith) or a
 * stale lock moved aside. A live run keeps either for microseconds.
 */
function removeAbandoned(path: string): void {
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return; // a folder that can be written but not listed: the litter stays, the lock is ours
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^(\d+\.tmp|stale\.\d+)$/.test(name.slice(prefix.length))) continue;
    const file = join(dirname(path), name);
    if (!youngerThan(file, SETTLE_MS)) rmSync(file, { force: true });
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function parseHolder(text: string | undefined): Holder | undefined {
  try {
    const h = JSON.parse(text ?? '') as Holder;
    return typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

function readHolder(path: string): Holder | undefined {
  return parseHolder(readText(path));
}

function youngerThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < ms;
  } catch {
    return false;
  }
}

function releaseIfMine(path: string): void {
  const holder = readHolder(path);
  if (holder && holder.pid === process.pid && holder.host === hostname()) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
}
