import * as core from '@actions/core';
import { ExitCode, StrongboxError, errorMessage } from '../core/errors.js';
import { quietAwsNodeVersionWarning } from '../shared/aws-warning.js';

export interface ActionHooks {
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
  try {
    await body();
  } catch (err) {
    const code = err instanceof StrongboxError ? err.exitCode : ExitCode.failure;
    core.setOutput('status', 'failure');
    core.setOutput('exit-code', String(code));
    const hint = err instanceof StrongboxError && err.hint ? `\n${err.hint}` : '';
    core.setFailed(`${errorMessage(err)}${hint}`);
    if (!(err instanceof StrongboxError) && err instanceof Error && err.stack) core.debug(err.stack);
    if (hooks.onFailure) {
      try {
        await hooks.onFailure(err, code);
      } catch (detail) {
        core.warning(`could not write the failure summary: ${errorMessage(detail)}`);
      }
    }
  }
}

export async function writeSummary(build: (s: typeof core.summary) => void): Promise<void> {
  // summary.write() throws outside a runner (no GITHUB_STEP_SUMMARY); the summary is a courtesy.
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  build(core.summary);
  await core.summary.write();
}
