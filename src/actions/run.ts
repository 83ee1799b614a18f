import * as core from '@actions/core';
import { ExitCode, StrongboxError, errorMessage } from '../core/errors.js';
import { quietAwsNodeVersionWarning } from '../shared/aws-warning.js';
import { CANCEL_EXIT_CODES, cancellation, cancellationLine } from '../shared/cancel.js';
import { handleCancelSignals } from '../shared/signals.js';
import { logText } from '../shared/text.js';

export interface ActionHooks {
  /** Names the step in the one line a cancellation prints. */
  what?: string;
  /**
   * Runs after a failure has been reported (outputs set, step failed), to add detail such as
   * a job summary. Best effort: its own failure is a warning and never replaces the original.
   */
  onFailure?: (err: unknown, exitCode: number) => Promise<void>;
}

/**
 * Runs an action body: a StrongboxError fails the step with its message and hint and sets
 * the `status: failure` and `exit-code` outputs (the CLI's documented codes), so a workflow
 * can branch on the kind of failure; anything else is an unexpected failure.
 */
export async function runAction(body: () => Promise<void>, hooks: ActionHooks = {}): Promise<void> {
  quietAwsNodeVersionWarning();
  const what = hooks.what ?? 'the Strongbox step';
  // A cancelled job gets SIGINT, then SIGTERM: clean up, release the lock, say so once.
  const uninstall = handleCancelSignals({ what, print: (line) => core.error(line) });
  try {
    await body();
  } catch (err) {
    const cancelled = cancellation();
    if (cancelled) {
      const code = CANCEL_EXIT_CODES[cancelled.signal];
      core.setOutput('status', 'failure');
      core.setOutput('exit-code', String(code));
      core.setFailed(cancellationLine(what)!);
      process.exitCode = code;
      return;
    }
    const code = err instanceof StrongboxError ? err.exitCode : ExitCode.failure;
    core.setOutput('status', 'failure');
    core.setOutput('exit-code', String(code));
    const hint = err instanceof StrongboxError && err.hint ? `\n${err.hint}` : '';
    core.setFailed(logText(`${errorMessage(err)}${hint}`));
    if (!(err instanceof StrongboxError) && err instanceof Error && err.stack) core.debug(err.stack);
    if (hooks.onFailure) {
      try {
        await hooks.onFailure(err, code);
      } catch (detail) {
        core.warning(`could not write the failure summary: ${errorMessage(detail)}`);
      }
    }
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
