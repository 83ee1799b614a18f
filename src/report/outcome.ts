import { collectionFigures } from '../core/collection/summary.js';
import { failedBackupOf, type BackupResult } from '../core/backup.js';
import type { CopyResult } from '../core/copy.js';
import type { DrillResult } from '../core/drill.js';
import type { PruneResult } from '../core/prune.js';
import type { RestoreResult } from '../core/restore.js';
import type { RollbackResult } from '../core/rollback.js';
import { seriesOf } from '../core/series.js';
import type { VerifyResult } from '../core/verify.js';
import type { RunEvent } from '../notify/event.js';

/**
 * What each run reports in its notification (RunEvent fields), from an operation's result:
 * the CLI commands (`ctx.outcome`) and the actions both translate through these, so a
 * channel receives the same event from a terminal and from a workflow. Only displayed
 * locations and figures, never a secret.
 */
export function backupOutcome(r: BackupResult): Partial<RunEvent> {
  const m = r.manifest;
  return {
    backupId: r.id,
    series: seriesOf(m),
    labels: m.labels,
    ...(m.metadata && Object.keys(m.metadata).length ? { metadata: m.metadata } : {}),
    plaintextBytes: r.plaintextBytes,
    storedBytes: r.storedBytes,
    // The manifest's duration, which the log line and history show (the monitor adds its wall time to details).
    durationSeconds: r.durationSeconds,
    destinations: r.destinations.map((d) => ({ location: d.location, status: d.status, ...(d.error ? { error: d.error } : {}) })),
    ...(m.alerts?.length ? { alerts: m.alerts } : {}),
    details: { artifacts: m.artifacts.map((a) => ({ name: a.name, kind: a.kind, plaintextBytes: a.plaintext.size, storedBytes: a.stored.size, ...memberFigures(a) })) },
  };
}

/** A collection's members and bytes, new and reused, for the event's artifact list. */
function memberFigures(a: Parameters<typeof collectionFigures>[0]) {
  const f = collectionFigures(a);
  return f ? { members: f.members, memberBytes: f.bytes, newMembers: f.newMembers, newBytes: f.newBytes, reused: f.reused, skipped: f.skipped } : {};
}

/**
 * A backup that threw: which backup it was to be (the id printed in "Backup <id> → …", once
 * assigned), its labels and series, and every destination failed or not committed. Undefined
 * for an error that did not come out of `backup()` (bad flags).
 */
export function failedBackupOutcome(err: unknown): Partial<RunEvent> | undefined {
  const f = failedBackupOf(err);
  if (!f) return undefined;
  return {
    ...(f.backupId ? { backupId: f.backupId } : {}),
    ...(f.series ? { series: f.series } : {}),
    labels: f.labels,
    destinations: f.destinations,
  };
}

export function verifyOutcome(r: VerifyResult, location: string): Partial<RunEvent> {
  return {
    backupId: r.backupId,
    destinations: [{ location, status: r.ok ? 'ok' : 'failed', ...(r.problems.length ? { error: r.problems.map((p) => p.problem).join('; ') } : {}) }],
    details: { deep: r.deep, ageSeconds: r.ageSeconds, problems: r.problems.map((p) => ({ artifact: p.artifact, problem: p.problem })) },
    ...(r.ok ? {} : { error: { message: `backup ${r.backupId} failed verification: ${r.problems.map((p) => p.problem).join('; ')}` } }),
  };
}

export function verifyAcrossOutcome(a: { ok: boolean; backupId: string; locations: { location: string; result?: VerifyResult }[]; problems: { location?: string; problem: string }[] }): Partial<RunEvent> {
  return {
    backupId: a.backupId,
    destinations: a.locations.map((l) => {
      const bad = !l.result?.ok || a.problems.some((p) => p.location === l.location);
      return { location: l.location, status: bad ? 'failed' : 'ok' };
    }),
    details: { problems: a.problems },
    ...(a.ok ? {} : { error: { message: `backup ${a.backupId} failed verification across locations: ${a.problems.map((p) => p.problem).join('; ')}` } }),
  };
}

export function copyOutcome(results: { location: string; result?: CopyResult; error?: string }[]): Partial<RunEvent> {
  return {
    destinations: results.map((x) => ({ location: x.location, status: x.result && !x.result.failed ? 'ok' : 'failed', ...(x.error ? { error: x.error } : x.result?.failed ? { error: `${x.result.failed} backup(s) not copied` } : {}) })),
    details: { copied: sum(results, 'copied'), skipped: sum(results, 'skipped'), failed: sum(results, 'failed'), bytes: sum(results, 'bytes') },
  };
}

const sum = (xs: { result?: CopyResult }[], k: 'copied' | 'skipped' | 'failed' | 'bytes') => xs.reduce((n, x) => n + (x.result?.[k] ?? 0), 0);

/**
 * A prune the retention guard stopped is an alert (so it notifies under the default
 * `--notify-on failure`): retention frozen on a possibly emptied database is news. A forced
 * one is listed in `details.guarded` but is no alert: someone chose it.
 */
export function pruneOutcome(results: { location: string; result?: PruneResult; error?: string }[]): Partial<RunEvent> {
  const guarded = results.flatMap((x) => (x.result?.guarded ?? []).map((g) => ({ location: x.location, series: g.series, backup: g.backup, spared: g.spared.length, forced: g.forced, alerts: g.alerts })));
  // The same backup at two locations carries the same alerts: each once.
  const alerts = [...new Map(guarded.filter((g) => !g.forced).flatMap((g) => g.alerts).map((a) => [JSON.stringify(a), a])).values()];
  return {
    destinations: results.map((x) => ({ location: x.location, status: x.result ? 'ok' : 'failed', ...(x.error ? { error: x.error } : {}) })),
    ...(alerts.length ? { alerts } : {}),
    details: {
      dryRun: results.some((x) => x.result?.dryRun),
      removed: results.reduce((n, x) => n + (x.result?.removed.length ?? 0), 0),
      kept: results.reduce((n, x) => n + (x.result?.kept.length ?? 0), 0),
      incompleteRemoved: results.reduce((n, x) => n + (x.result?.incompleteRemoved.length ?? 0), 0),
      packsRemoved: results.reduce((n, x) => n + (x.result?.packsRemoved ?? 0), 0),
      packBytesRemoved: results.reduce((n, x) => n + (x.result?.packBytesRemoved ?? 0), 0),
      ...(guarded.length ? { guarded: guarded.map(({ alerts: _, ...g }) => g) } : {}),
    },
  };
}

export function restoreOutcome(r: RestoreResult): Partial<RunEvent> {
  return { backupId: r.backupId, series: seriesOf(r.manifest), labels: r.manifest.labels, details: { restored: r.restored.map((x) => ({ name: x.name, kind: x.kind })) } };
}

export function rollbackOutcome(r: RollbackResult): Partial<RunEvent> {
  const failed = r.checks.filter((c) => !c.ok);
  return {
    backupId: r.backupId,
    // The checks' SQL is the team's own text and may quote data: only their counts go out.
    details: { safetyBackupId: r.safetyBackupId, gitSha: r.gitSha, restored: r.restored.map((x) => ({ name: x.name, kind: x.kind })), checks: r.checks.length, checksFailed: failed.length },
    ...(failed.length ? { error: { message: `rolled back to ${r.backupId}, but ${failed.length} of ${r.checks.length} check(s) failed` } } : {}),
  };
}

/** The figures a notification reports for a drill (RunEvent.details). */
export function drillDetails(r: DrillResult) {
  return {
    ok: r.ok,
    rtoSeconds: r.rtoSeconds,
    ageSeconds: r.ageSeconds,
    artifacts: r.artifacts.map((a) => ({ name: a.name, kind: a.kind, status: a.status, seconds: a.seconds, rows: a.rows, compared: a.compared, problem: a.problem })),
    rowsCompared: r.artifacts.reduce((n, a) => n + (a.rows?.rows ?? 0), 0),
    // The checks' SQL is the team's own text and may quote data: only counts go out (as rollback's).
    checks: r.checks.length,
    checksFailed: r.checks.filter((c) => !c.ok).length,
  };
}

export function drillOutcome(r: DrillResult): Partial<RunEvent> {
  return { backupId: r.backupId, series: r.series, labels: r.labels, details: drillDetails(r) };
}
