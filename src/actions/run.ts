import * as core from '@actions/core';
import { ExitCode, StrongboxError, errorMessage } from '../core/errors.js';
import { CANCEL_EXIT_CODES, cancellation, cancellationLine } from '../shared/cancel.js';
import { handleCancelSignals } from '../shared/signals.js';
import { logText } from '../shared/text.js';

/**
 * Runs an action body: a StrongboxError fails the step with its message and hint and sets
 * the `exit-code` output (the CLI's documented codes), so a workflow can branch on the kind
 * of failure; anything else is an unexpected failure.
 */
export async function runAction(body: () => Promise<void>, what = 'the Strongbox step'): Promise<void> {
  // A cancelled job gets SIGINT, then SIGTERM: clean up, release the lock, say so once.
  const uninstall = handleCancelSignals({ what, print: (line) => core.error(line) });
  try {
    await body();
  } catch (err) {
    const cancelled = cancellation();
    if (cancelled) {
      const code = CANCEL_EXIT_CODES[cancelled.signal];
      core.setOutput('exit-code', String(code));
      core.setFailed(cancellationLine(what)!);
      process.exitCode = code;
      return;
    }
    const code = err instanceof StrongboxError ? err.exitCode : ExitCode.failure;
    core.setOutput('exit-code', String(code));
    const hint = err instanceof StrongboxError && err.hint ? `\n${err.hint}` : '';
    core.setFailed(logText(`${errorMessage(err)}${hint}`));
    if (!(err instanceof StrongboxError) && err instanceof Error && err.stack) core.debug(err.stack);
  } finally {
    uninstall();
  }
}

export async function writeSummary(build: (s: typeof core.summary) => void): Promise<void> {
  // summary.write() throws outside a runner (no GITHUB_STEP_SUMMARY); the summary is a courtesy.
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  build(core.summary);
  await core.summary.write();
}
