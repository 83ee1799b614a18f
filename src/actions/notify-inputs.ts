import type { NotifyFlags } from '../config/notify.js';
import { list, optional, secret } from './inputs.js';
import { actionsReporter } from './reporter.js';

/** How the resolver names the inputs in its messages (`notify #2: …`, never the URL). */
const INPUT_NAMES = { notify: 'notify', healthcheck: 'healthcheck', secretEnv: 'notify-secret', on: 'notify-on', timeout: 'notify-timeout' };

export interface NotifyInputs {
  flags: NotifyFlags;
  /** `config`: the file whose notify: keys apply when the inputs are empty. */
  config?: string;
}

/**
 * The notification inputs every action takes. `notify` and `healthcheck` come from secrets
 * (whoever has the URL can post): each line is masked whole here, before anything can log it;
 * the resolver then masks its token parts too.
 */
export function getNotifyInputs(): NotifyInputs {
  const notify = list('notify');
  for (const url of notify) actionsReporter.setSecret(url);
  return {
    flags: {
      notify,
      notifySecret: secret('notify-secret'),
      notifyOn: optional('notify-on'),
      notifyTimeout: optional('notify-timeout'),
      healthcheck: secret('healthcheck')?.trim() || undefined,
      names: INPUT_NAMES,
    },
    config: optional('config'),
  };
}
