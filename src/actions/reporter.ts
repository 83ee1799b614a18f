import * as core from '@actions/core';
import type { Reporter } from '../shared/reporter.js';
import { logText } from '../shared/text.js';
import { ProgressRenderer } from '../shared/progress.js';

/**
 * Reporter for GitHub Actions: the runner masks registered secrets in every log line. Every
 * message has its control characters escaped and no line starting a workflow command
 * (`core.info` writes lines as they are, so a file named `x\n::error::y` would otherwise be one).
 */
export const actionsReporter: Reporter = {
  debug: (m) => core.debug(logText(m)),
  info: (m) => core.info(logText(m)),
  warning: (m) => core.warning(logText(m)),
  error: (m) => core.error(logText(m)),
  setSecret: (s) => {
    if (s) core.setSecret(s);
  },
  // The runner timestamps every line and shows no terminal: a line every 15 s, none for shorter work.
  progress: new ProgressRenderer({ mode: 'log', write: (line) => core.info(logText(line)) }),
};
