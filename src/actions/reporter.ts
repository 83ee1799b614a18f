import * as core from '@actions/core';
import type { Reporter } from '../core/reporter.js';

/** Reporter for GitHub Actions: the runner masks registered secrets in every log line. */
export const actionsReporter: Reporter = {
  debug: (m) => core.debug(m),
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  error: (m) => core.error(m),
  setSecret: (s) => {
    if (s) core.setSecret(s);
  },
};
