import { Option, type Command } from 'commander';
import { loadConfigFile } from '../config/file.js';
import { pingFailedSetup, resolveNotifyConfig, type NotifyFlags } from '../config/notify.js';
import type { Operation } from '../notify/event.js';
import { monitoringOff, startMonitor, type RunMonitor } from '../notify/monitor.js';
import type { LogTail } from '../notify/log-tail.js';
import type { ConsoleReporter } from '../shared/reporter.js';
import { collect } from './options.js';

/** The commands that run unattended and report their own outcome (issue 10 §1). */
export const NOTIFYING_COMMANDS: readonly Operation[] = ['backup', 'verify', 'drill', 'prune', 'copy', 'restore', 'rollback'];


/**
 * --notify, --notify-secret-env, --notify-on, --notify-timeout and --healthcheck. main.ts adds
 * them to every command of NOTIFYING_COMMANDS it finds, so a new command (drill) gets them by
 * being in that list. No commander defaults: the file's notify-on:/notify-timeout: apply when
 * a flag is not given.
 */
export function notifyOptions(cmd: Command): Command {
  // Idempotent: a command that adds them itself and main adding them again must not clash.
  if (cmd.options.some((o) => o.long === '--notify')) return cmd;
  return cmd
    .option('--notify <url>', 'send the outcome to this channel: https://… (JSON webhook), slack+https://hooks.slack.com/services/…, smtp://user@host:587?from=…&to=… (repeatable; replaces notify: of --config; webhook and Slack URLs are credentials: prefer --notify-env)', collect)
    .option('--notify-env <name>', 'send the outcome to the channel whose URL is in this environment variable (repeatable; keeps webhook and Slack URLs, which are credentials, out of the process list)', collect)
    .option('--notify-secret-env <name>', 'sign webhook bodies with the secret in this environment variable (header X-Strongbox-Signature: sha256=HMAC)')
    .addOption(new Option('--notify-on <when>', 'failure: failures, partial results and alerts (the default); always: also every success').choices(['failure', 'always']))
    .option('--notify-timeout <duration>', 'give up one delivery attempt after this long (default 10s; 2 retries with backoff)')
    .option('--healthcheck <url>', 'healthchecks.io ping URL: URL/start at the start, URL on success, URL/fail on failure, with the last lines of the log')
    .option('--healthcheck-env <name>', 'the healthcheck ping URL from this environment variable (it is a credential: keeps it out of the process list)');
}

export function notifyFlags(o: Record<string, unknown>): NotifyFlags {
  return {
    notify: o.notify as string[] | undefined,
    notifySecretEnv: o.notifySecretEnv as string | undefined,
    notifyOn: o.notifyOn as string | undefined,
    notifyTimeout: o.notifyTimeout as string | undefined,
    healthcheck: o.healthcheck as string | undefined,
    notifyEnv: o.notifyEnv as string[] | undefined,
    healthcheckEnv: o.healthcheckEnv as string | undefined,
    argv: true,
  };
}

/**
 * Starts the monitor of one CLI command from its parsed options (and --config's notify:), or
 * returns undefined when it has nothing to send. A bad URL is a UsageError (exit 2) before
 * the command does anything.
 */
export async function startCliMonitor(operation: Operation, o: Record<string, unknown>, env: NodeJS.ProcessEnv, reporter: ConsoleReporter, tail: LogTail): Promise<RunMonitor | undefined> {
  const file = typeof o.config === 'string' ? await loadConfigFile(o.config) : undefined;
  const deps = { reporter, mask: (s: string) => reporter.mask(s), logTail: () => tail.get() };
  let settings;
  try {
    settings = resolveNotifyConfig(notifyFlags(o), file, env, reporter);
  } catch (err) {
    await pingFailedSetup(operation, err, deps);
    throw err;
  }
  if (monitoringOff(settings)) return undefined;
  return startMonitor(operation, settings, deps);
}
