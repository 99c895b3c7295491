/** Logs and progress go to stderr, one line per event; results go to stdout. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function stderrLogger(
  min: Level,
  json = false,
  write = (s: string) => process.stderr.write(s),
): Logger {
  const emit = (level: Level, message: string) => {
    if (ORDER[level] < ORDER[min]) return;
    if (json) write(`${JSON.stringify({ time: new Date().toISOString(), level, message })}\n`);
    else write(`${level === 'info' ? '' : `${level}: `}${message}\n`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
