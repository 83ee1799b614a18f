/**
 * Every failure Strongbox reports is a StrongboxError: a message that names what failed and
 * the input or object involved, an optional hint saying what to do next, and the process exit
 * code the CLI and actions end with. The codes are documented in the README; keep them stable.
 */
export const ExitCode = {
  ok: 0,
  /** A runtime failure: a dump, an upload, a restore or a server failed. */
  failure: 1,
  /** Bad flags, inputs or configuration; nothing was attempted. */
  usage: 2,
  /** Verification found a problem: missing, damaged, stale or undecryptable backups. */
  verifyFailed: 3,
  /** No backup (or repository) matched what was asked for. */
  notFound: 4,
  /** The identity or passphrase does not open the backup. */
  wrongKey: 5,
  /** Another Strongbox run holds the lock on this destination. */
  locked: 6,
  /** The target is not empty / not confirmed; rerun with --force or --confirm. */
  refused: 7,
  /** A backup (or copy) committed at some destinations and failed at others. */
  partial: 8,
  /** The run succeeded but raised an anomaly alert, and --fail-on-alert was given. */
  alert: 9,
  /** A restore drill restored something different from what the manifest records, or a check failed. */
  drillFailed: 10,
  // Cancelled by a signal: 128 + its number (130 SIGINT, 143 SIGTERM, 129 SIGHUP), set by the
  // edges from src/shared/cancel.ts, never carried by an error.
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class StrongboxError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint?: string;
  constructor(message: string, opts: { exitCode?: ExitCodeValue; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode ?? ExitCode.failure;
    this.hint = opts.hint;
  }
}

export class UsageError extends StrongboxError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, hint });
  }
}

export class NotFoundError extends StrongboxError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.notFound, hint });
  }
}

export class VerificationError extends StrongboxError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.verifyFailed, hint });
  }
}

/** The key is wrong (no stanza opens), as opposed to a damaged file. */
export class WrongKeyError extends StrongboxError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.wrongKey, hint });
  }
}

/** Ciphertext failed authentication: tampered, truncated or extended. */
export class IntegrityError extends StrongboxError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.verifyFailed, hint });
  }
}

export class LockedError extends StrongboxError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.locked, hint });
  }
}

export class RefusedError extends StrongboxError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.refused, hint });
  }
}

/**
 * A producer or consumer was torn down before it finished — usually because something else
 * failed first. When several things fail together, the other error is the cause to report.
 */
export class StoppedError extends StrongboxError {}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
