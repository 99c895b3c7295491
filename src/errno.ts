/**
 * System error codes in words, with the code kept for searching: "read-only file system (EROFS)".
 * The words are those of strerror(3), which admins know from the shell.
 */
const WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EBUSY: 'device or resource busy',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'file exists',
  EIO: 'input/output error',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  ENOENT: 'no such file or directory',
  ENOSPC: 'no space left on device',
  ENOTDIR: 'not a directory',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EXDEV: 'invalid cross-device link',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'cannot assign requested address',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
  ETIMEDOUT: 'connection timed out',
};

export function errnoWords(code: string): string {
  const words = WORDS[code];
  return words ? `${words} (${code})` : code;
}

/** The cause of a failed system call in words; other errors by their message. */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)) {
    if (WORDS[e.code]) return errnoWords(e.code);
    // Node words its system errors "CODE: words, syscall 'path'": keep the words.
    const words = /^E[A-Z0-9]+: ([^,]+),/.exec(e.message)?.[1];
    return words ? `${words} (${e.code})` : e.code;
  }
  return err instanceof Error ? err.message : String(err);
}
