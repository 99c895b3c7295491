/** What a system error code means, in words, for one-line messages: `read-only file system (EROFS)`. */
const WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'already exists',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  EBUSY: 'resource busy',
  EIO: 'input/output error',
};

/** `words (CODE)` for a Node.js system error; its message when it has no known code. */
export function errnoWords(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && WORDS[code]) return `${WORDS[code]} (${code})`;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : String(err);
}
