import type { Alert } from '../shared/alert.js';
import { ExitCode } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import type { Notifier } from './channel.js';
import { deliver, realTimers, type DeliveryPolicy, type DeliveryRecord, type Timers } from './deliver.js';
import type { EventStatus, Operation, RunEvent } from './event.js';
import type { Healthcheck } from './healthcheck.js';
import { detailLines, headline } from './summary.js';

/** Built by src/config/notify.ts from flags, the file and the environment. */
export interface MonitorSettings {
  channels: Notifier[];
  /** `failure` (default): only runs that did not simply succeed; alerts and partial results always notify. */
  on: 'failure' | 'always';
  healthcheck?: Healthcheck;
  delivery: DeliveryPolicy;
  host: string;
  /** Where the run is, in GitHub Actions (from GITHUB_* as the resolver read them). */
  github?: RunEvent['github'];
}

export interface MonitorDeps {
  reporter: Reporter;
  /** Replaces every registered secret in a text: applied to every string of the event and the log. */
  mask(text: string): string;
  /** The run's last printed lines (already masked once), for the healthcheck log. */
  logTail?: () => string[];
  now?: () => Date;
  timers?: Timers;
  /** For `monitored`: the event fields a thrown error carries (where a failed backup was going). */
  outcomeOf?: (err: unknown) => Partial<RunEvent> | undefined;
}

/** What a run ended with, as the edge knows it. */
export interface RunOutcome {
  exitCode: number;
  /** The fields the command set (backup id, sizes, destinations, alerts, details). */
  outcome?: Partial<RunEvent>;
  /** A thrown error's message and hint (or the last error the command printed). */
  error?: { message: string; hint?: string };
}

export interface MonitorReport {
  event: RunEvent;
  /** One per channel that `on` selected, and one for each healthcheck ping. */
  deliveries: DeliveryRecord[];
  /** The deliveries that failed (each was warned about): the actions' `notify-failed`. */
  failed: DeliveryRecord[];
}

export interface RunMonitor {
  /** Builds the event, sends it where `on` says, pings the healthcheck; never throws. */
  finish(result: RunOutcome): Promise<MonitorReport>;
}

/** success, or what went wrong: exit 8 is `partial`, an alert (exit 0 with alerts, or 9) is `alert`, any other non-zero exit `failure`. */
export function statusOf(exitCode: number, alerts: Alert[] | undefined): EventStatus {
  if (exitCode === ExitCode.partial) return 'partial';
  if (exitCode === ExitCode.alert) return 'alert';
  if (exitCode !== ExitCode.ok) return 'failure';
  return alerts?.length ? 'alert' : 'success';
}

export function selected(on: MonitorSettings['on'], status: EventStatus): boolean {
  return on === 'always' || status !== 'success';
}

/** Every string of a value passed through `mask` (a secret inside an error message, a label). */
function maskDeep<T>(value: T, mask: (s: string) => string): T {
  if (typeof value === 'string') return mask(value) as T;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, mask)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v, mask)])) as T;
  return value;
}

/**
 * The event with every free-text string masked, except the fields Strongbox itself sets from a
 * fixed set (a receiver routes on them): a secret that happens to equal `backup` must not turn
 * `"operation":"backup"` into `"***"`.
 */
export function maskEvent(event: RunEvent, mask: (s: string) => string): RunEvent {
  return Object.fromEntries(Object.entries(event).map(([k, v]) => [k, UNMASKED.has(k) ? v : maskDeep(v, mask)])) as unknown as RunEvent;
}
const UNMASKED = new Set(['version', 'operation', 'status', 'exitCode']);

export function buildEvent(operation: Operation, startedAt: Date, finishedAt: Date, settings: Pick<MonitorSettings, 'host' | 'github'>, result: RunOutcome): RunEvent {
  const o = result.outcome ?? {};
  const tenths = (s: number) => Math.round(s * 10) / 10;
  const wallSeconds = tenths((finishedAt.getTime() - startedAt.getTime()) / 1000);
  // The operation's own duration (a backup's, as its manifest and log line say) when it reports one;
  // the monitor's wall time (option parsing, listing, the lock) then goes in details.
  const own = typeof o.durationSeconds === 'number' ? tenths(o.durationSeconds) : undefined;
  const event: RunEvent = {
    ...o,
    version: 1,
    operation,
    status: statusOf(result.exitCode, o.alerts),
    exitCode: result.exitCode,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: own ?? wallSeconds,
    host: settings.host,
  };
  if (own !== undefined) event.details = { ...o.details, wallSeconds };
  if (!o.error && result.error && result.exitCode !== ExitCode.ok) event.error = result.error;
  if (settings.github && !o.github) event.github = settings.github;
  return event;
}

/** The healthcheck body: what happened, then the last lines the run printed. */
function healthLog(event: RunEvent, tail: string[]): string {
  return [headline(event), ...detailLines(event), '', ...(tail.length ? ['last lines:', ...tail] : [])].join('\n') + '\n';
}

/**
 * Watches one unattended run: pings the healthcheck's /start at once (without making the run
 * wait for it), and at the end builds the RunEvent, sends it to the channels `on` selects and
 * pings success or /fail. Both edges (CLI and actions) call this; see `monitored`.
 */
export function startMonitor(operation: Operation, settings: MonitorSettings, deps: MonitorDeps): RunMonitor {
  const now = deps.now ?? (() => new Date());
  const timers = deps.timers ?? realTimers;
  const startedAt = now();
  const hc = settings.healthcheck;
  // One attempt: a healthcheck service that is down must not delay the run's end by its retries twice.
  const started = hc ? deliver(`${hc.display} start`, (signal) => hc.ping('start', '', signal), { ...settings.delivery, retries: 0 }, timers) : undefined;
  return {
    async finish(result) {
      const event = maskEvent(buildEvent(operation, startedAt, now(), settings, result), deps.mask);
      // Long settled by now in a real run; awaited first so the receiver sees start before anything else.
      const deliveries = started ? [await started] : [];
      const sending = selected(settings.on, event.status) ? settings.channels : [];
      const sends = sending.map((c) => deliver(c.display, (signal) => c.send(event, signal), settings.delivery, timers));
      // The end ping goes out beside the channels, not after their retries: a hanging Slack must not make the healthcheck late.
      if (hc) {
        const log = deps.mask(healthLog(event, (deps.logTail?.() ?? []).map(deps.mask)));
        const kind = event.exitCode === ExitCode.ok ? 'success' : 'fail';
        sends.push(deliver(`${hc.display} ${kind}`, (signal) => hc.ping(kind, log, signal), settings.delivery, timers));
      }
      deliveries.push(...(await Promise.all(sends)));
      const failed = deliveries.filter((d) => !d.ok);
      for (const d of failed) {
        deps.reporter.warning(deps.mask(`notification to ${d.channel} was not delivered (${d.attempts} attempt${d.attempts > 1 ? 's' : ''}): ${d.error}; the ${operation}'s own result stands`));
      }
      for (const d of deliveries.filter((x) => x.ok)) deps.reporter.debug(`notified ${d.channel}`);
      return { event, deliveries, failed };
    },
  };
}

/** True when there is nothing to send or ping: the edges skip the monitor entirely. */
export function monitoringOff(settings: MonitorSettings): boolean {
  return settings.channels.length === 0 && !settings.healthcheck;
}

/**
 * Runs `body` under a monitor. A thrown error is reported (exit code from a StrongboxError)
 * and rethrown after the notifications, so the run's result is exactly what it would be.
 */
export async function monitored(
  operation: Operation,
  settings: MonitorSettings,
  deps: MonitorDeps,
  body: () => Promise<RunOutcome>,
  /** Called with the report also when `body` throws (the actions' `notify-failed` output). */
  onReport?: (report: MonitorReport) => void,
): Promise<{ result: RunOutcome; report: MonitorReport }> {
  const monitor = startMonitor(operation, settings, deps);
  let result: RunOutcome;
  try {
    result = await body();
  } catch (err) {
    const e = err as { exitCode?: number; hint?: string; message?: string };
    // Not `onReport?.(await …)`: optional chaining would skip the finish without a callback.
    const report = await monitor.finish({ exitCode: typeof e.exitCode === 'number' ? e.exitCode : ExitCode.failure, outcome: deps.outcomeOf?.(err), error: { message: e.message ?? String(err), hint: e.hint } });
    onReport?.(report);
    throw err;
  }
  const report = await monitor.finish(result);
  onReport?.(report);
  return { result, report };
}
