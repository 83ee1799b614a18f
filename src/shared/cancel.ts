/**
 * One cancellation source per process. Only the edges (the CLI's main, the actions' runner)
 * turn SIGINT/SIGTERM/SIGHUP into `cancel()`; pipelines, child processes, lock waits and
 * prune read `cancelSignal()`. Cancellation then travels the ordinary failure paths (partial
 * backups removed, staging removed, locks released in `finally`), and the edge turns the
 * outcome into one line and the signal's exit code. Nothing here installs a handler.
 */
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
}

let controller = new AbortController();
const running: Activity[] = [];
let atCancel: Activity | undefined;

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
  // kept by reference, so one that still commits during teardown can update its outcome.
  atCancel = running[0];
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

/** The signal and what was running when it arrived, or undefined if not cancelled. */
export function cancellation(): { signal: CancelSignalName; activity?: Activity } | undefined {
  const reason = controller.signal.reason as unknown;
  if (!controller.signal.aborted || !(reason instanceof CancelledError)) return undefined;
  return { signal: reason.signalName, ...(atCancel ? { activity: atCancel } : {}) };
}

/** The one line the edges print, e.g. `cancelled by SIGTERM: backup 2026… stopped, nothing was committed`. */
export function cancellationLine(fallback: string): string | undefined {
  const c = cancellation();
  if (!c) return undefined;
  const a = c.activity ?? { what: fallback, outcome: 'nothing was committed' };
  return `cancelled by ${c.signal}: ${a.what} stopped, ${a.outcome}`;
}

/** For tests: a fresh, uncancelled source. */
export function resetCancellation(): void {
  controller = new AbortController();
  running.length = 0;
  atCancel = undefined;
}
