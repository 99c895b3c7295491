/** The exit codes dnsfence documents (README, docs/scheduling.md): scripts and timers rely on them. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  degraded: 3,
  locked: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error the user can cause and fix: printed as one line, no stack trace,
 * and mapped to the documented exit code.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.failed,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export class ConfigError extends UserError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'ConfigError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * A failure on one target (cannot connect, refused a write, a set of the wrong type). The target
 * is a field, not part of the message: it is named once, where the error is printed.
 */
export class TargetError extends UserError {
  constructor(
    readonly target: string,
    message: string,
    exitCode: ExitCode = ExitCode.failed,
  ) {
    super(message, exitCode);
    this.name = 'TargetError';
  }
}

/** The one line that says what went wrong: the target named in front when there is one. */
export function describeError(err: unknown): string {
  if (err instanceof TargetError) return `target ${err.target}: ${err.message}`;
  return errorMessage(err);
}
