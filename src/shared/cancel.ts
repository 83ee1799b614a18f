/**
 * One cancellation source per process. Only the edges (the CLI's main, the actions' runner)
 * turn SIGINT/SIGTERM/SIGHUP into `cancel()`; pipelines, child processes, lock waits and
 * prune read `cancelSignal()`. Cancellation then travels the ordinary failure paths (partial
 * backups removed, staging removed, locks released in `finally`), and the edge turns the
 * outcome into one line and the signal's exit code. Nothing here installs a handler.
 */
import { printable } from './text.js';

export type CancelSignalName = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** 128 + the signal number, as shells report a process ended by that signal. */
export const CANCEL_EXIT_CODES: Record<CancelSignalName, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export class CancelledError extends Error {
  constructor(readonly signalName: CancelSignalName) {
    super(`cancelled by ${signalName}`);
    this.name = 'CancelledError';
  }
}

/** What is running, for the one line printed on cancellation; operations update `outcome`. */
export interface Activity {
  what: string;
  outcome: string;
  /**
   * While set, an activity started inside this one holds the truth (rollback's restore): the
   * line's outcome is `nested(inner outcome)` instead of `outcome`. Without an inner activity,
   * `outcome` stands.
   */
  nested?: (inner: string) => string;
}

let controller = new AbortController();
const running: Activity[] = [];
/** The activities running when the signal came, outermost first. */
let atCancel: Activity[] = [];
const forcedExitCleanups = new Set<() => Promise<unknown>>();

export function cancelSignal(): AbortSignal {
  return controller.signal;
}

export function isCancelled(): boolean {
  return controller.signal.aborted;
}

/** Throws the CancelledError once cancelled; for loops between steps (prune's deletes). */
export function throwIfCancelled(): void {
  controller.signal.throwIfAborted();
}

/** Cancels everything once; later calls are ignored. */
export function cancel(signalName: CancelSignalName): void {
  if (controller.signal.aborted) return;
  // The outermost operation is what the user asked for (a rollback, not its safety backup);
  // the inner ones may say what it has changed so far. Kept by reference, so one that still
  // commits during teardown can update its outcome.
  atCancel = [...running];
  controller.abort(new CancelledError(signalName));
}

/**
 * Registers a running operation (the outermost one is reported). `end()` when it is over; `outcome` says
 * what a cancellation now leaves behind ("nothing was committed" until a commit point).
 */
export function beginActivity(what: string, outcome = 'nothing was committed'): Activity & { end(): void } {
  const a: Activity = { what, outcome };
  running.push(a);
  return Object.assign(a, {
    end() {
      const i = running.lastIndexOf(a);
      if (i >= 0) running.splice(i, 1);
    },
  });
}

/** The signal and what was running when it arrived (the outermost, with the outcome its inner ones make), or undefined if not cancelled. */
export function cancellation(): { signal: CancelSignalName; activity?: Activity } | undefined {
  const reason = controller.signal.reason as unknown;
  if (!controller.signal.aborted || !(reason instanceof CancelledError)) return undefined;
  const outer = atCancel[0];
  if (!outer) return { signal: reason.signalName };
  let outcome = atCancel[atCancel.length - 1]!.outcome;
  for (let i = atCancel.length - 2; i >= 0; i--) {
    const a = atCancel[i]!;
    outcome = a.nested ? a.nested(outcome) : a.outcome;
  }
  return { signal: reason.signalName, activity: { what: outer.what, outcome } };
}

/**
 * Registers a cleanup that must run even when the process is forced to exit (a lock's
 * delete: the `finally` that normally releases it is skipped then). Returns the unregisterer.
 */
export function onForcedExit(cleanup: () => Promise<unknown>): () => void {
  forcedExitCleanups.add(cleanup);
  return () => forcedExitCleanups.delete(cleanup);
}

/** Before a forced exit: runs the registered cleanups at once, for at most `timeoutMs`. */
export async function runForcedExitCleanups(timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const work = Promise.allSettled([...forcedExitCleanups].map(async (c) => c()));
  await Promise.race([work, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
}

/** The one line the edges print, e.g. `cancelled by SIGTERM: backup 2026… stopped, nothing was committed`. */
export function cancellationLine(fallback: string): string | undefined {
  const c = cancellation();
  if (!c) return undefined;
  const a = c.activity ?? { what: fallback, outcome: 'nothing was committed' };
  // One line, whatever file names or URLs the outcome names.
  return printable(`cancelled by ${c.signal}: ${a.what} stopped, ${a.outcome}`);
}

/** For tests: a fresh, uncancelled source. */
export function resetCancellation(): void {
  controller = new AbortController();
  running.length = 0;
  atCancel = [];
}
