import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { errnoText } from '../../src/errno.js';

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * `mkdir -p` that fails with the true cause. Node's recursive mkdir answers ENOENT for a folder
 * that cannot be made on a read-only file system (it stats the path after EROFS and reports that).
 */
export function makeFolder(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && isDirectory(dir)) return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw err;
    makeFolder(dirname(dir));
    try {
      mkdirSync(dir);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST' || !isDirectory(dir)) throw again;
    }
  }
}

/**
 * Why a sync could not write files into `dir`, which it creates when missing; undefined when it
 * can. access(2) sees read-only mounts (EROFS) and permissions, without writing anything.
 */
export function folderProblem(dir: string): string | undefined {
  let at = dir;
  for (;;) {
    try {
      if (!statSync(at).isDirectory()) return `${at}: not a directory`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && dirname(at) !== at) {
        at = dirname(at);
        continue;
      }
      return `${at}: ${errnoText(err)}`;
    }
    try {
      accessSync(at, constants.W_OK | constants.X_OK);
    } catch (err) {
      return at === dir
        ? `${dir}: ${errnoText(err)}`
        : `${dir} does not exist and cannot be created in ${at}: ${errnoText(err)}`;
    }
    return undefined;
  }
}
