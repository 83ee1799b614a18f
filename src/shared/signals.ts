import { CANCEL_EXIT_CODES, cancel, cancellationLine, isCancelled, runForcedExitCleanups, type CancelSignalName } from './cancel.js';

const SIGNALS: CancelSignalName[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** How long the cleanup after a first signal may take before we exit regardless. */
export const CLEANUP_GRACE_MS = 10_000;
/**
 * GitHub's runner cancels a job with SIGINT, SIGTERM 7.5 s later and SIGKILL 2.5 s after that:
 * the SIGTERM is no "exit now", and the forced exit (8 s) with its lock deletes (1.5 s) is
 * over before the SIGKILL (10 s).
 */
export const ACTIONS_GRACE_MS = 8_000;
/** How long a forced exit spends deleting the locks this process holds. */
export const FORCED_EXIT_CLEANUP_MS = 1_500;

/** Uninstalls the handlers; `remainingMs()` is the grace left after a first signal (undefined before). */
export interface CancelHandling {
  (): void;
  remainingMs(): number | undefined;
}

/**
 * For the edges only (the CLI's main, the actions' runner): a first SIGINT/SIGTERM/SIGHUP
 * cancels the run, which then cleans up along its failure paths; a second signal, or a
 * cleanup taking longer than `graceMs`, exits at once, after at most FORCED_EXIT_CLEANUP_MS
 * spent deleting the locks this process holds. With `escalation` (the actions' runner), a
 * SIGTERM after a SIGINT is the runner's own escalation, not a user's "exit now": the
 * cleanup goes on until the grace period ends.
 */
export function handleCancelSignals(opts: {
  what: string;
  print: (line: string) => void;
  graceMs?: number;
  escalation?: boolean;
  now?: () => number;
}): CancelHandling {
  const graceMs = opts.graceMs ?? CLEANUP_GRACE_MS;
  const now = opts.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let deadline: number | undefined;
  let exiting = false;
  const exitNow = (sig: CancelSignalName, why: string) => {
    if (exiting) return;
    exiting = true;
    forcedExit = true;
    opts.print(`${cancellationLine(opts.what) ?? `cancelled by ${sig}: ${opts.what} stopped, nothing was committed`} (${why})`);
    void runForcedExitCleanups(FORCED_EXIT_CLEANUP_MS).finally(() => process.exit(CANCEL_EXIT_CODES[sig]));
  };
  let first: CancelSignalName | undefined;
  let escalated = false;
  const handlers = SIGNALS.map((sig) => {
    const handler = () => {
      if (first) {
        if (opts.escalation && first === 'SIGINT' && sig === 'SIGTERM' && !escalated) {
          escalated = true;
          return;
        }
        return exitNow(first, `second signal ${sig}: exited without finishing the cleanup`);
      }
      first = sig;
      deadline = now() + graceMs;
      cancel(sig);
      timer = setTimeout(() => exitNow(sig, `the cleanup took longer than ${graceMs / 1000} s`), graceMs);
      timer.unref();
    };
    process.on(sig, handler);
    return [sig, handler] as const;
  });
  return Object.assign(
    () => {
      clearTimeout(timer);
      for (const [sig, handler] of handlers) process.off(sig, handler);
    },
    { remainingMs: () => (deadline === undefined ? undefined : Math.max(0, deadline - now())) },
  );
}

let forcedExit = false;
/** True once a second signal (or the grace running out) has printed its line and is exiting: the run's own cancel line would be a second one. */
export function forcedExitUnderway(): boolean {
  return forcedExit;
}

/**
 * For the entry points, once the run has returned: a cancelled run has cleaned up, but a
 * stream it tore down may still hold a socket (a stalled download) that would keep the
 * process alive. Exit shortly if nothing else ends it first.
 */
export function exitSoonIfCancelled(graceMs = 1_000): void {
  if (!isCancelled()) return;
  setTimeout(() => process.exit(), graceMs).unref();
}
