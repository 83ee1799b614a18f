import * as core from '@actions/core';
import { ExitCode, StrongboxError, errorMessage } from '../core/errors.js';

/**
 * Runs an action body: a StrongboxError fails the step with its message and hint and sets
 * the `exit-code` output (the CLI's documented codes), so a workflow can branch on the kind
 * of failure; anything else is an unexpected failure.
 */
export async function runAction(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const code = err instanceof StrongboxError ? err.exitCode : ExitCode.failure;
    core.setOutput('exit-code', String(code));
    const hint = err instanceof StrongboxError && err.hint ? `\n${err.hint}` : '';
    core.setFailed(`${errorMessage(err)}${hint}`);
    if (!(err instanceof StrongboxError) && err instanceof Error && err.stack) core.debug(err.stack);
  }
}

export async function writeSummary(build: (s: typeof core.summary) => void): Promise<void> {
  // summary.write() throws outside a runner (no GITHUB_STEP_SUMMARY); the summary is a courtesy.
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  build(core.summary);
  await core.summary.write();
}
