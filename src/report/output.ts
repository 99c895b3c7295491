import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { errnoText } from '../errno.js';
import { ConfigError, UserError } from '../errors.js';

/**
 * Whether a report can be written to `path`, asked before the report is built: a wrong path is
 * the user's to fix (exit 2), said in one line with the cause in words.
 */
export function checkOutputPath(path: string): void {
  const fail = (cause: string) => {
    throw new ConfigError(`--output ${path}: ${cause}`);
  };
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) fail(`${dir} is not a directory (ENOTDIR)`);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as { code?: string }).code;
    fail(code === 'ENOENT' ? `no such directory ${dir} (ENOENT)` : `${dir}: ${errnoText(err)}`);
  }
  let existing;
  try {
    existing = statSync(path);
  } catch {
    existing = undefined; // created by the write
  }
  if (existing?.isDirectory()) fail('is a directory (EISDIR)');
  try {
    accessSync(existing ? path : dir, constants.W_OK);
  } catch (err) {
    fail(`cannot write there: ${errnoText(err)}`);
  }
}

/** Writes a report file; a new one is created mode 0600, like every file dnsfence writes. */
export function writeReportFile(path: string, text: string): void {
  try {
    writeFileSync(path, text, { mode: 0o600 });
  } catch (err) {
    throw new UserError(`--output ${path}: cannot write the report: ${errnoText(err)}`);
  }
}
