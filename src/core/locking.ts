import type { Destination } from '../destinations/types.js';
import { acquireLock, type HeldLock } from './lock.js';
import type { Reporter } from '../shared/reporter.js';

/** How a run waits for and holds the destination lock (`--lock-wait`, stale timeout). */
export interface LockSettings {
  waitMs?: number;
  staleMs?: number;
  runId?: string;
  /** The caller already holds the exclusive lock on these destinations (rollback's inner steps). */
  held?: boolean;
}

/**
 * Runs `fn` holding the lock on every destination: shared for backup, verify and restore
 * (they may overlap each other), exclusive for prune and rollback (nothing else may run).
 * Locks are always released, also when `fn` fails.
 */
export async function withLocks<T>(
  dests: Destination[],
  operation: string,
  exclusive: boolean,
  settings: LockSettings | undefined,
  reporter: Reporter,
  fn: (locks: HeldLock[]) => Promise<T>,
): Promise<T> {
  if (settings?.held) return fn([]);
  const held: HeldLock[] = [];
  try {
    // One global order, so two runs naming the same destinations differently can't each hold
    // one lock and wait for the other's.
    for (const dest of [...dests].sort((a, b) => a.display.localeCompare(b.display))) {
      held.push(
        await acquireLock(dest, {
          exclusive,
          operation,
          waitMs: settings?.waitMs,
          staleMs: settings?.staleMs,
          runId: settings?.runId,
          reporter,
        }),
      );
    }
    return await fn(held);
  } finally {
    for (const lock of held.reverse()) {
      await lock.release().catch((err: unknown) => reporter.warning(`could not release lock ${lock.key}: ${String(err)}`));
    }
  }
}
