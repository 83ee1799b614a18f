import type { Destination } from '../destinations/types.js';
import { isCancelled } from '../shared/cancel.js';
import { ExitCode, StrongboxError, UsageError, errorMessage, type ExitCodeValue } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import type { HeldLock } from './lock.js';
import { MANIFEST_NAME, SIGNATURE_NAME } from './types.js';

/** How one destination of a backup ended. */
export interface DestinationOutcome {
  /** Printable location (no credentials). */
  location: string;
  status: 'committed' | 'failed';
  error?: string;
  hint?: string;
  exitCode?: number;
}

/** Every destination of a backup failed; `outcomes` says why at each. */
export class AllDestinationsFailedError extends StrongboxError {
  constructor(
    message: string,
    opts: { exitCode: ExitCodeValue; hint?: string; cause?: unknown },
    readonly outcomes: DestinationOutcome[],
  ) {
    super(message, opts);
  }
}

/**
 * The destinations of one backup. Each is an independent repository: one that fails at any
 * stage is dropped (its lock released, its partial objects removed best effort) and the others
 * carry on. A cancellation is no destination's fault: it is rethrown, failing the whole run.
 */
export class DestinationRun {
  private readonly failures = new Map<Destination, unknown>();
  private readonly locks = new Map<Destination, HeldLock>();
  /** Locks written but still settling: nothing is written to that destination until they are held. */
  private readonly settling = new Map<Destination, Promise<void>>();
  private readonly cleanups: Promise<void>[] = [];
  /** Set once objects of this backup may exist: a dropped destination then has them removed. */
  backupId?: string;

  constructor(
    readonly all: Destination[],
    private readonly reporter: Reporter,
  ) {}

  /** The destinations still in the run, in the order given. */
  get live(): Destination[] {
    return this.all.filter((d) => !this.failures.has(d));
  }

  hasFailed(dest: Destination): boolean {
    return this.failures.has(dest);
  }

  holdLock(dest: Destination, lock: HeldLock): void {
    this.locks.set(dest, lock);
  }

  /**
   * A lock still settling (written, the check for racing runs not yet done): the run may read
   * meanwhile; `ready(dest)` holds back every write until it is held, and fails them with the
   * lock's error if it is not (that destination is then dropped like any failing one).
   */
  holdLockOnceSettled(dest: Destination, lock: Promise<HeldLock>): void {
    const gate = lock.then((held) => void this.locks.set(dest, held));
    gate.catch(() => {}); // surfaced by the writes that wait on it
    this.settling.set(dest, gate);
  }

  /** Resolves when `dest` may be written to (its lock held); rejects with the lock's error. */
  ready(dest: Destination): Promise<void> {
    return this.settling.get(dest) ?? Promise.resolve();
  }

  /**
   * Drops `dest` for `err`. Throws the all-failed error when none is left, and rethrows a
   * cancellation or a usage error as it is.
   */
  fail(dest: Destination, err: unknown): void {
    // Bad settings (a lock timeout that makes no sense) are no destination's fault either.
    if (isCancelled() || err instanceof UsageError) throw err;
    if (this.failures.has(dest)) return;
    this.failures.set(dest, err);
    const left = this.live.length;
    if (left) this.reporter.info(`${dest.display} failed and is left out of this backup (${left} destination(s) carry on): ${errorMessage(err)}`);
    this.cleanups.push(this.tidy(dest));
    if (!left) throw this.allFailedError();
  }

  /** Runs `step` at every live destination one after another, dropping those where it throws. */
  async each(step: (dest: Destination) => Promise<void>): Promise<void> {
    for (const dest of this.live) {
      try {
        await this.ready(dest);
        await step(dest);
      } catch (err) {
        this.fail(dest, err);
      }
    }
  }

  /** Waits for the tidying of dropped destinations and releases every lock still held. */
  async finish(): Promise<void> {
    // A lock that settles after the run failed is held for a moment, then released below.
    await Promise.allSettled(this.settling.values());
    await Promise.all(this.cleanups);
    for (const [dest, lock] of [...this.locks].reverse()) {
      this.locks.delete(dest);
      await lock.release().catch((err: unknown) => this.reporter.warning(`could not release lock ${lock.key}: ${errorMessage(err)}`));
    }
  }

  /** Removes what this backup wrote at every destination still in the run (a source failure, a cancellation). */
  async removeEverywhere(): Promise<void> {
    if (this.backupId) for (const dest of this.live) await removePartial(dest, this.backupId, this.reporter);
  }

  outcomes(): DestinationOutcome[] {
    return this.all.map((d) => {
      const err = this.failures.get(d);
      if (err === undefined) return { location: d.display, status: 'committed' };
      const hint = err instanceof StrongboxError ? err.hint : undefined;
      return { location: d.display, status: 'failed', error: errorMessage(err), ...(hint ? { hint } : {}), exitCode: exitCodeOf(err) };
    });
  }

  /**
   * One destination: its own error, unchanged. Several: one error naming each and its reason,
   * with their common exit code (all locked → 6), else 1.
   */
  allFailedError(): StrongboxError {
    const outcomes = this.outcomes();
    if (this.all.length === 1) {
      const err = this.failures.get(this.all[0]!);
      if (err instanceof StrongboxError) return err;
      return new StrongboxError(errorMessage(err), { cause: err });
    }
    const codes = new Set(outcomes.map((o) => o.exitCode));
    const exitCode = (codes.size === 1 ? [...codes][0]! : ExitCode.failure) as ExitCodeValue;
    const lines = outcomes.map((o) => `  ${o.location}: ${o.error}${o.hint ? ` (${o.hint})` : ''}`);
    return new AllDestinationsFailedError(
      `the backup failed at every destination; nothing was committed:\n${lines.join('\n')}`,
      { exitCode, hint: 'fix what each destination reports above and rerun the backup' },
      outcomes,
    );
  }

  /** Before its lock goes: the failed destination's partial objects of this backup (best effort). */
  private async tidy(dest: Destination): Promise<void> {
    if (this.backupId) await removePartial(dest, this.backupId, this.reporter);
    const lock = this.locks.get(dest);
    if (!lock) return;
    this.locks.delete(dest);
    await lock.release().catch(() => undefined); // release() warns itself
  }
}

function exitCodeOf(err: unknown): number {
  return err instanceof StrongboxError ? err.exitCode : ExitCode.failure;
}

/** Best effort: a failed run tidies its own objects; prune collects whatever a kill or an unreachable store leaves. */
export async function removePartial(dest: Destination, id: string, reporter: Reporter): Promise<void> {
  try {
    // The manifest first (a write that reported failure may have landed), then the signature:
    // a cleanup cut short must never leave a listed backup whose artifacts are gone.
    const keys: string[] = [];
    for await (const o of dest.list(`${id}/`)) keys.push(o.key);
    const rank = (k: string) => (k.endsWith(`/${MANIFEST_NAME}`) ? 0 : k.endsWith(`/${SIGNATURE_NAME}`) ? 1 : 2);
    for (const key of keys.sort((a, b) => rank(a) - rank(b))) await dest.delete(key);
  } catch (err) {
    reporter.warning(`could not remove the partial backup ${id} from ${dest.display}: ${errorMessage(err)} (prune will)`);
  }
}
