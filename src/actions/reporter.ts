import * as core from '@actions/core';
import { SecretMasker, type Reporter } from '../shared/reporter.js';
import { logText } from '../shared/text.js';
import { ProgressRenderer } from '../shared/progress.js';
import { LogTail } from '../notify/log-tail.js';

/**
 * Every secret registered in this step. The runner masks the log, but a notification or a
 * healthcheck body leaves the runner unmasked: the step's monitor masks them with this.
 */
export const actionSecrets = new SecretMasker();

/** The last lines this step logged through the reporter (masked), for the healthcheck log. */
const tail = new LogTail();
function remember(prefix: string, m: string): string {
  const text = logText(m);
  for (const line of text.split('\n')) tail.add(`${prefix}${actionSecrets.mask(line)}`);
  return text;
}

export const actionLogTail = (): string[] => tail.get();

/**
 * Reporter for GitHub Actions: the runner masks registered secrets in every log line. Every
 * message has its control characters escaped and no line starting a workflow command
 * (`core.info` writes lines as they are, so a file named `x\n::error::y` would otherwise be one).
 */
export const actionsReporter: Reporter = {
  debug: (m) => core.debug(logText(m)),
  info: (m) => core.info(remember('', m)),
  warning: (m) => core.warning(remember('warning: ', m)),
  error: (m) => core.error(remember('error: ', m)),
  setSecret: (s) => {
    if (!s) return;
    core.setSecret(s);
    actionSecrets.add(s);
  },
  // The runner timestamps every line and shows no terminal: a line every 15 s, none for shorter work.
  progress: new ProgressRenderer({ mode: 'log', write: (line) => core.info(logText(line)) }),
};
