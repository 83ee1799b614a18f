import * as core from '@actions/core';
import { ExitCode, StrongboxError, errorMessage } from '../shared/errors.js';
import { quietAwsNodeVersionWarning } from '../shared/aws-warning.js';
import { CANCEL_EXIT_CODES, cancellation, cancellationLine } from '../shared/cancel.js';
import { ACTIONS_GRACE_MS, FORCED_EXIT_CLEANUP_MS, handleCancelSignals } from '../shared/signals.js';
import { logText } from '../shared/text.js';
import { loadConfigFile } from '../config/file.js';
import { pingFailedSetup, resolveNotifyConfig } from '../config/notify.js';
import type { Timers } from '../notify/deliver.js';
import type { Operation, RunEvent } from '../notify/event.js';
import { monitored, monitoringOff, type RunOutcome } from '../notify/monitor.js';
import type { NotifyInputs } from './notify-inputs.js';
import { actionLogTail, actionSecrets, actionsReporter } from './reporter.js';

export interface ActionHooks {
  /** Names the step in the one line a cancellation prints. */
  what?: string;
  /**
   * Runs after a failure has been reported (outputs set, step failed), to add detail such as
   * a job summary, also after a cancellation. Best effort: its own failure is a warning and
   * never replaces the original. `budgetMs`, when given, is how long it may take (what is
   * left of the grace before the runner kills the job); it is stopped waiting for after that.
   */
  onFailure?: (err: unknown, exitCode: number, budgetMs?: number) => Promise<void>;
  /**
   * The step reports its own outcome (the notify and healthcheck inputs, or the config
   * file's notify: keys): which operation (decided when the step starts) and its inputs.
   */
  monitor?: {
    operation: Operation | (() => Operation);
    inputs: () => NotifyInputs;
    /** What a thrown error says about the run (a failed backup's planned id, labels, destinations), for its event. */
    failedOutcome?: (err: unknown) => Partial<RunEvent> | undefined;
  };
}

/** What the action entry points may be given (tests): the notifications' clock and timers. */
export interface ActionDeps {
  timers?: Timers;
  now?: () => Date;
}

/** After a cancellation what is left of the grace is for the summary and the lock: one short try per notification. */
const CANCELLED_DELIVERY = { timeoutMs: 1_500, retries: 0 };

/**
 * Runs an action body: a StrongboxError fails the step with its message and hint and sets
 * the `status: failure` and `exit-code` outputs (the CLI's documented codes), so a workflow
 * can branch on the kind of failure; anything else is an unexpected failure.
 */
export async function runAction(body: () => Promise<RunOutcome | void>, hooks: ActionHooks = {}, deps: ActionDeps = {}): Promise<void> {
  quietAwsNodeVersionWarning();
  const what = hooks.what ?? 'the Strongbox step';
  // A cancelled job gets SIGINT, then SIGTERM 7.5 s later (the runner escalating, not a
  // second "exit now"), then SIGKILL: clean up, release the lock, say so once.
  const handling = handleCancelSignals({ what, print: (line) => core.error(line), escalation: true, graceMs: ACTIONS_GRACE_MS });
  // Declared by every action: `[]` unless a notification or healthcheck ping was not delivered.
  core.setOutput('notify-failed', '[]');
  try {
    await monitoredBody(body, hooks, deps);
  } catch (err) {
    const cancelled = cancellation();
    if (cancelled) {
      const code = CANCEL_EXIT_CODES[cancelled.signal];
      const line = cancellationLine(what)!;
      core.setOutput('status', 'failure');
      core.setOutput('exit-code', String(code));
      core.setFailed(line);
      process.exitCode = code;
      // The summary must be written before the forced exit: what is left of the grace, less the lock deletes.
      const budget = Math.max(0, (handling.remainingMs() ?? ACTIONS_GRACE_MS) - FORCED_EXIT_CLEANUP_MS);
      await failureDetail(hooks, new Error(line), code, budget);
      return;
    }
    const code = err instanceof StrongboxError ? err.exitCode : ExitCode.failure;
    core.setOutput('status', 'failure');
    core.setOutput('exit-code', String(code));
    const hint = err instanceof StrongboxError && err.hint ? `\n${err.hint}` : '';
    core.setFailed(logText(`${errorMessage(err)}${hint}`));
    if (!(err instanceof StrongboxError) && err instanceof Error && err.stack) core.debug(err.stack);
    await failureDetail(hooks, err, code);
  } finally {
    handling();
  }
}

/**
 * Runs the body under the step's monitor when it has anything to notify: the healthcheck's
 * /start at once, and at the end the event from the exit code and outcome the body hands
 * back (or its error). A delivery that fails is a warning and the `notify-failed` output,
 * never the step's result: errors are rethrown as they were.
 */
async function monitoredBody(body: () => Promise<RunOutcome | void>, hooks: ActionHooks, deps: ActionDeps): Promise<void> {
  const m = hooks.monitor;
  if (!m) {
    await body();
    return;
  }
  // The notify inputs are masked first; a bad URL fails the step (exit 2) before any work.
  const inputs = m.inputs();
  const file = inputs.config !== undefined ? await loadConfigFile(inputs.config) : undefined;
  const operation = typeof m.operation === 'function' ? m.operation() : m.operation;
  const monitorDeps = { reporter: actionsReporter, mask: (s: string) => actionSecrets.mask(s), logTail: actionLogTail, timers: deps.timers, now: deps.now, outcomeOf: m.failedOutcome };
  let settings;
  try {
    settings = resolveNotifyConfig(inputs.flags, file, process.env, actionsReporter);
  } catch (err) {
    await pingFailedSetup(operation, err, monitorDeps);
    throw err;
  }
  if (monitoringOff(settings)) {
    await body();
    return;
  }
  await monitored(
    operation,
    settings,
    monitorDeps,
    async () => {
      try {
        return (await body()) ?? { exitCode: ExitCode.ok };
      } catch (err) {
        const cancelled = cancellation();
        if (!cancelled) throw err;
        settings.delivery = { ...settings.delivery, ...CANCELLED_DELIVERY };
        // Reported as the cancellation it is (exit 130/143), not as the teardown's error.
        throw Object.assign(new Error(cancellationLine(hooks.what ?? 'the Strongbox step')!), { exitCode: CANCEL_EXIT_CODES[cancelled.signal] });
      }
    },
    (report) => core.setOutput('notify-failed', JSON.stringify(report.failed.map((d) => d.channel))),
  );
}

async function failureDetail(hooks: ActionHooks, err: unknown, code: number, budgetMs?: number): Promise<void> {
  if (!hooks.onFailure) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<never>((_, reject) => {
      if (budgetMs === undefined) return;
      timer = setTimeout(() => reject(new Error(`it took longer than the ${(budgetMs / 1000).toFixed(1)} s left before the job is killed`)), budgetMs);
      timer.unref();
    });
    const work = hooks.onFailure(err, code, budgetMs);
    work.catch(() => undefined); // a late rejection after the budget is not an unhandled one
    await Promise.race([work, late]);
  } catch (detail) {
    core.warning(`could not write the failure summary: ${errorMessage(detail)}`);
  } finally {
    clearTimeout(timer);
  }
}

export async function writeSummary(build: (s: typeof core.summary) => void): Promise<void> {
  // summary.write() throws outside a runner (no GITHUB_STEP_SUMMARY); the summary is a courtesy.
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  build(core.summary);
  await core.summary.write();
}
