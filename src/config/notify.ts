import { hostname } from 'node:os';
import { parseDuration } from '../core/duration.js';
import type { ChannelOptions, Notifier } from '../notify/channel.js';
import { DEFAULT_DELIVERY } from '../notify/deliver.js';
import type { Operation, RunEvent } from '../notify/event.js';
import { openHealthcheck, type Healthcheck } from '../notify/healthcheck.js';
import { startMonitor, type MonitorDeps, type MonitorSettings } from '../notify/monitor.js';
import { channelFactories, findChannelFactory } from '../notify/registry.js';
import { StrongboxError, UsageError } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { given, secretFromEnv } from './env.js';
import type { ConfigFile } from './file.js';

/** The flags (CLI) or inputs (actions) of notifications; undefined: not given. */
export interface NotifyFlags {
  /** `--notify URL` (repeatable; input notify, one per line): replaces the file's `notify:` list. */
  notify?: string[];
  /** `--notify-secret-env NAME`: the HMAC key for webhooks. */
  notifySecretEnv?: string;
  /** The HMAC key itself (action input notify-secret). */
  notifySecret?: string;
  notifyOn?: string;
  notifyTimeout?: string;
  healthcheck?: string;
  /** `--notify-env NAME` (repeatable): channel URLs read from the environment, after the `--notify` ones. */
  notifyEnv?: string[];
  /** `--healthcheck-env NAME`: the ping URL read from the environment. */
  healthcheckEnv?: string;
  /** The URLs were typed into argv (the CLI): warn about a credential URL there. */
  argv?: boolean;
  /** What the edge calls them in messages: `--notify` (CLI) or `notify` (input). */
  names?: { notify: string; healthcheck: string; secretEnv: string; on: string; timeout: string };
}

export type NotifySettings = MonitorSettings;

const CLI_NAMES = { notify: '--notify', healthcheck: '--healthcheck', secretEnv: '--notify-secret-env', on: '--notify-on', timeout: '--notify-timeout' };

/**
 * A webhook, Slack or healthcheck URL is a credential (whoever has it can post or ping), and
 * argv is readable by every user of the machine (`ps`, /proc/<pid>/cmdline): say so, naming
 * the `-env` flag that keeps it out. The warning never quotes the URL.
 */
function warnCredentialInArgv(what: string, flag: string, reporter: Reporter): void {
  reporter.warning(
    `the ${flag} URL (${what}) is a credential, which other users of this machine can read in the process list (ps): ` +
      `put it in an environment variable and pass ${flag}-env NAME instead`,
  );
}

/** True for a channel URL that is itself the credential (webhook, Slack; not a mail URL, whose password comes from the environment). */
function isCredentialUrl(text: string): boolean {
  try {
    return !!findChannelFactory(new URL(text.trim()).protocol.replace(/:$/, ''))?.urlIsSecret;
  } catch {
    return false;
  }
}

/** A notification timeout below 1 s would fail every slow-but-working endpoint; above 5 min would hold a finished run. */
const TIMEOUT_LIMITS = { minMs: 1_000, maxMs: 300_000 };

/**
 * A path segment or query value that looks like a token: long (a Slack or webhook key), or
 * mixing letters and digits (a healthcheck UUID part). Common words (`backup`, `hooks`,
 * `Strongbox`) are not: masking them would rewrite every log line and the event's own fields.
 */
export function looksLikeToken(s: string): boolean {
  return s.length >= 16 || (s.length >= 8 && /[0-9]/.test(s) && /[a-z]/i.test(s));
}

/**
 * The parts of a notification URL that are credentials: the whole URL (and the form fetch
 * uses, without `slack+`), its user info, and every path segment or query value that looks
 * like a token (`T0123ABCD/B0456EFGH/XyZ…`, a healthcheck UUID). Never the joined path.
 * Masked before anything can print them.
 */
export function urlSecrets(text: string, url: URL): string[] {
  const out = [text, text.replace(/^[a-z]+\+/i, ''), url.href, url.href.replace(/^[a-z]+\+/i, '')];
  // A user name is a secret only beside a password (https://user:pass@…); a mail login name is not.
  if (url.password) out.push(url.username, decodeURIComponent(url.username), url.password, decodeURIComponent(url.password));
  for (const seg of url.pathname.split('/')) if (looksLikeToken(decodeURIComponent(seg))) out.push(seg, decodeURIComponent(seg));
  for (const [k, v] of url.searchParams) if (k !== 'from' && k !== 'to' && k !== 'password-env' && looksLikeToken(v)) out.push(v, encodeURIComponent(v));
  return [...new Set(out.filter(Boolean))];
}

const CHANNEL_FORMS = () => `give one of: ${channelFactories.map((f) => f.form).join('; ')}`;
const PING_FORM = 'give a healthchecks.io ping URL, e.g. https://hc-ping.com/<check UUID> (or a self-hosted https://hc.example.com/ping/<UUID>)';

function parse(text: string, where: string, reporter: Reporter, expected: string = CHANNEL_FORMS()): URL {
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    // Register what we can first: the value may be a token pasted without its scheme.
    if (trimmed) reporter.setSecret(trimmed);
    throw new UsageError(`${where} is not a URL (the value is not shown)`, expected);
  }
  for (const s of urlSecrets(trimmed, url)) reporter.setSecret(s);
  return url;
}

/** Opens one channel URL; a problem is a UsageError naming `where`, never the URL. */
export function openChannel(text: string, where: string, opts: ChannelOptions, reporter: Reporter): Notifier {
  const url = parse(text, where, reporter);
  const scheme = url.protocol.replace(/:$/, '');
  const factory = findChannelFactory(scheme);
  if (!factory) throw new UsageError(`${where}: "${scheme}://" is not a notification channel`, `give one of: ${channelFactories.map((f) => f.form).join('; ')}`);
  try {
    return factory.open(url, opts);
  } catch (err) {
    if (err instanceof StrongboxError) throw new UsageError(`${where}: ${err.message}`, err.hint);
    throw err;
  }
}

function healthcheckOf(text: string, where: string, reporter: Reporter): Healthcheck {
  const url = parse(text, where, reporter, PING_FORM);
  try {
    return openHealthcheck(url);
  } catch (err) {
    if (err instanceof StrongboxError) throw new UsageError(`${where}: ${err.message}`, err.hint);
    throw err;
  }
}

/** In GitHub Actions, where the run is (its page is what a person opens from the message). */
export function githubFromEnv(env: NodeJS.ProcessEnv): RunEvent['github'] {
  if (!env.GITHUB_RUN_ID || !env.GITHUB_REPOSITORY) return undefined;
  const server = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, '');
  return {
    repository: env.GITHUB_REPOSITORY,
    workflow: env.GITHUB_WORKFLOW,
    runId: env.GITHUB_RUN_ID,
    runUrl: `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${env.GITHUB_RUN_ATTEMPT && env.GITHUB_RUN_ATTEMPT !== '1' ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : ''}`,
    sha: env.GITHUB_SHA,
    ref: env.GITHUB_REF,
  };
}

/**
 * Notifications and the healthcheck of one run: the flags' (a given `--notify`/`--notify-env` list replaces
 * the file's `notify:`), else the file's. Every URL is checked here, before the run starts,
 * and masked; a problem exits 2 naming the flag or the file's line, never the URL.
 */
export function resolveNotifyConfig(flags: NotifyFlags, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter, tls?: ChannelOptions['tls']): NotifySettings {
  const names = flags.names ?? CLI_NAMES;
  const n = file?.notify;
  const onText = flags.notifyOn?.trim() || n?.on;
  if (onText !== undefined && onText !== 'failure' && onText !== 'always') {
    throw new UsageError(`${flags.notifyOn?.trim() ? names.on : file!.where(['notify-on'])} must be failure or always`, 'failure (the default) notifies on failures, partial results and alerts; always also on success');
  }
  const timeoutText = flags.notifyTimeout?.trim() || n?.timeout;
  const timeoutMs = timeoutText ? parseDuration(timeoutText, flags.notifyTimeout?.trim() ? names.timeout : file!.where(['notify-timeout']), TIMEOUT_LIMITS) : DEFAULT_DELIVERY.timeoutMs;

  let signingSecret: string | undefined = flags.notifySecret || undefined;
  if (signingSecret) reporter.setSecret(signingSecret);
  else if (flags.notifySecretEnv?.trim()) signingSecret = secretFromEnv(flags.notifySecretEnv.trim(), env, names.secretEnv, 'the webhook signing secret', reporter);
  else if (n?.secretEnv) signingSecret = secretFromEnv(n.secretEnv, env, file!.where(['notify-secret-env']), 'the webhook signing secret', reporter);

  const opts: ChannelOptions = {
    signingSecret,
    tls,
    // No `where` here: openChannel prefixes the channel's flag or line to the error once.
    readSecret: (name, what) => secretFromEnv(name, env, what, what, reporter),
  };
  let healthcheck: Healthcheck | undefined;
  if (flags.healthcheck?.trim()) {
    healthcheck = healthcheckOf(flags.healthcheck, names.healthcheck, reporter);
    if (flags.argv) warnCredentialInArgv(healthcheck.display, names.healthcheck, reporter);
  } else if (flags.healthcheckEnv?.trim()) {
    const where = `${names.healthcheck}-env ${flags.healthcheckEnv.trim()}`;
    healthcheck = healthcheckOf(secretFromEnv(flags.healthcheckEnv.trim(), env, where, 'the healthcheck ping URL', reporter), where, reporter);
  } else if (n?.healthcheckEnv) {
    const where = file!.where(['healthcheck-env']);
    healthcheck = healthcheckOf(secretFromEnv(n.healthcheckEnv, env, where, 'the healthcheck ping URL', reporter), where, reporter);
  }
  const settings = (channels: Notifier[]): NotifySettings => ({
    channels,
    on: (onText as NotifySettings['on'] | undefined) ?? 'failure',
    healthcheck,
    delivery: { ...DEFAULT_DELIVERY, timeoutMs },
    host: hostname(),
    github: githubFromEnv(env),
  });
  const channels: Notifier[] = [];
  // The healthcheck is resolved first: when a channel cannot be opened (a missing SMTP password),
  // the run still stops with exit 2, but a configured healthcheck can be told, or it would only
  // notice the silence at its grace time (see healthcheckAfter).
  try {
    if (given(flags.notify) || given(flags.notifyEnv)) {
      const typed = (flags.notify ?? []).filter((v) => v.trim());
      const fromEnv = (flags.notifyEnv ?? []).map((name) => ({ name: name.trim(), where: `${names.notify}-env ${name.trim()}` }));
      const list = [
        ...typed.map((text, i) => ({ text, where: typed.length > 1 ? `${names.notify} #${i + 1}` : names.notify })),
        ...fromEnv.map((e) => ({ text: secretFromEnv(e.name, env, e.where, 'the notification URL', reporter), where: e.where })),
      ];
      for (const c of list) channels.push(openChannel(c.text, c.where, opts, reporter));
      // After opening (each URL and its tokens are masked by then); the channel as displayed, never the URL.
      if (flags.argv) typed.forEach((text, i) => isCredentialUrl(text) && warnCredentialInArgv(channels[i]!.display, names.notify, reporter));
    } else {
      for (const [i, c] of (n?.channels ?? []).entries()) {
        const where = file!.where(['notify', i]);
        const text = c.env !== undefined ? secretFromEnv(c.env, env, `${where}.url-env`, 'the notification URL', reporter) : c.url!;
        channels.push(openChannel(text, where, opts, reporter));
      }
    }
  } catch (err) {
    if (healthcheck && err instanceof StrongboxError) failedSetups.set(err, settings([]));
    throw err;
  }
  return settings(channels);
}

const failedSetups = new WeakMap<StrongboxError, NotifySettings>();

/**
 * For an error resolveNotifyConfig threw after the healthcheck URL was read: settings with
 * that healthcheck alone, so the edge can ping /fail with the error before exiting 2.
 */
export function healthcheckAfter(err: unknown): NotifySettings | undefined {
  return err instanceof StrongboxError ? failedSetups.get(err) : undefined;
}

/**
 * When the notification setup itself failed (exit 2) after a healthcheck was read: pings its
 * /fail with the error, so the check turns red now rather than at its grace time. Never throws.
 */
export async function pingFailedSetup(operation: Operation, err: unknown, deps: MonitorDeps): Promise<void> {
  const fallback = healthcheckAfter(err);
  if (!fallback || !(err instanceof StrongboxError)) return;
  await startMonitor(operation, fallback, deps).finish({ exitCode: err.exitCode, error: { message: err.message, hint: err.hint } });
}
