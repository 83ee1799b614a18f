import { CANCEL_EXIT_CODES, cancel, cancellationLine, isCancelled, type CancelSignalName } from './cancel.js';

const SIGNALS: CancelSignalName[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** How long the cleanup after a first signal may take before we exit regardless. */
export const CLEANUP_GRACE_MS = 10_000;

/**
 * For the edges only (the CLI's main, the actions' runner): a first SIGINT/SIGTERM/SIGHUP
 * cancels the run, which then cleans up along its failure paths; a second signal, or a
 * cleanup taking longer than `graceMs`, exits at once (a lock left behind by that is broken
 * by the next run on this host, its holder being gone). Returns the uninstaller.
 */
export function handleCancelSignals(opts: { what: string; print: (line: string) => void; graceMs?: number }): () => void {
  let timer: NodeJS.Timeout | undefined;
  const exitNow = (sig: CancelSignalName, why: string) => {
    opts.print(`${cancellationLine(opts.what) ?? `cancelled by ${sig}: ${opts.what} stopped, nothing was committed`} (${why})`);
    process.exit(CANCEL_EXIT_CODES[sig]);
  };
  let first: CancelSignalName | undefined;
  const handlers = SIGNALS.map((sig) => {
    const handler = () => {
      if (first) return exitNow(first, `second signal ${sig}: exited without finishing the cleanup`);
      first = sig;
      cancel(sig);
      timer = setTimeout(() => exitNow(sig, `the cleanup took longer than ${(opts.graceMs ?? CLEANUP_GRACE_MS) / 1000} s`), opts.graceMs ?? CLEANUP_GRACE_MS);
      timer.unref();
    };
    process.on(sig, handler);
    return [sig, handler] as const;
  });
  return () => {
    clearTimeout(timer);
    for (const [sig, handler] of handlers) process.off(sig, handler);
  };
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
