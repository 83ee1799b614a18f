import { formatDuration } from './duration.js';
import { StrongboxError, UsageError } from '../shared/errors.js';
import { printable } from '../shared/text.js';

/**
 * Which backups a retention policy keeps — a pure function of the backups, the policy and a
 * clock passed in, so every decision can be replayed in a test.
 *
 * The semantics are those of `restic forget` (0.17+), which many users already know:
 * - Complete backups are ordered by their manifest time, newest first; ids and object names
 *   play no part (ties on time fall back to the id, only to be deterministic).
 * - `keepLast N` keeps the N newest. `keepHourly/Daily/Weekly/Monthly/Yearly N` keep the newest
 *   backup in each of the N most recent hours/days/ISO weeks/months/years that hold a backup.
 *   Buckets are UTC: `YYYY-MM-DD-HH`, `YYYY-MM-DD`, `YYYY-Www` (ISO 8601), `YYYY-MM`, `YYYY`.
 *   Empty periods use no slot, so `keepDaily 7` means "the last 7 days that have a backup".
 * - When a rule still has unused slots after the last (oldest) backup, that oldest backup is
 *   kept too, so a young repository keeps its longest possible history (restic ≥ 0.17).
 * - `keepWithinMs D` keeps every backup taken within D of the newest complete backup, as
 *   restic does. Anchoring on the newest backup rather than on `now` means a repository whose
 *   backups have been failing for longer than D still keeps the history D promised, instead
 *   of the rule quietly keeping nothing.
 * - `keepLabels` keeps every backup carrying one of the labels.
 * - A backup kept by several rules is kept once, with every rule that kept it as a reason.
 *
 * Strongbox adds three safety rules:
 * - The newest complete backup is always kept, whatever the policy (reason `newest` when no
 *   rule kept it). `applyRetentionBySeries` applies this per series.
 * - Backups dated more than `futureSkewMs` after `now` (a wrong clock) are reported in
 *   `future`, take no slot, anchor no rule and are never removed.
 * - Incomplete backups (no manifest: interrupted or still running) take no slot. They are
 *   removed only once their newest object is older than the grace period (default 24 h), so a
 *   backup still being written is never touched; one whose age is unknown is kept.
 */
export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithinMs?: number;
  keepLabels?: string[];
}

export interface BackupCandidate {
  id: string;
  /** Manifest startedAt. */
  time: Date;
  complete: boolean;
  labels: string[];
  /** Newest object time; decides when an incomplete backup may be removed. */
  lastModified?: Date;
}

export type KeepReason = 'newest' | 'guarded' | 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly' | 'within' | `label:${string}`;

export interface RetentionDecision {
  /** Newest first. */
  keep: { id: string; reasons: KeepReason[] }[];
  /** Complete backups no rule keeps, newest first. */
  remove: { id: string }[];
  future: { id: string }[];
  incompleteRemove: { id: string }[];
  incompleteKeep: { id: string; reason: string }[];
}

export interface RetentionOptions {
  /** How old an incomplete backup's newest object must be before it is removed. Default 24 h. */
  incompleteGraceMs?: number;
  /** Clock skew tolerated before a backup counts as future-dated. Default 5 min. */
  futureSkewMs?: number;
}

export const DEFAULT_INCOMPLETE_GRACE_MS = 24 * 3_600_000;
export const DEFAULT_FUTURE_SKEW_MS = 5 * 60_000;

type CountRule = 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
const COUNT_RULES: { rule: CountRule; field: keyof RetentionPolicy; flag: string }[] = [
  { rule: 'last', field: 'keepLast', flag: '--keep-last' },
  { rule: 'hourly', field: 'keepHourly', flag: '--keep-hourly' },
  { rule: 'daily', field: 'keepDaily', flag: '--keep-daily' },
  { rule: 'weekly', field: 'keepWeekly', flag: '--keep-weekly' },
  { rule: 'monthly', field: 'keepMonthly', flag: '--keep-monthly' },
  { rule: 'yearly', field: 'keepYearly', flag: '--keep-yearly' },
];

/** Refuses policies that are empty (would keep only the newest backup) or hold bad numbers. */
export function validatePolicy(p: RetentionPolicy): void {
  for (const { field, flag } of COUNT_RULES) {
    const v = p[field];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new UsageError(`${flag} must be a whole number of 0 or more, got ${String(v)}`);
    }
  }
  if (p.keepWithinMs !== undefined && (typeof p.keepWithinMs !== 'number' || !Number.isFinite(p.keepWithinMs) || p.keepWithinMs < 0)) {
    throw new UsageError(`--keep-within must be a duration of 0 or more, got ${String(p.keepWithinMs)}`);
  }
  for (const label of p.keepLabels ?? []) {
    if (typeof label !== 'string' || label.trim() === '') throw new UsageError('--keep-label needs a label name, got an empty one');
  }
  const empty =
    COUNT_RULES.every(({ field }) => !p[field]) && !p.keepWithinMs && (p.keepLabels ?? []).length === 0;
  if (empty) {
    throw new UsageError(
      'the retention policy is empty: it names no backups to keep, so prune would delete all but the newest',
      'give at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly, --keep-within or --keep-label, e.g. --keep-daily 7 --keep-weekly 4 --keep-monthly 12',
    );
  }
}

export function applyRetention(
  backups: BackupCandidate[],
  policy: RetentionPolicy,
  now: Date,
  opts: RetentionOptions = {},
): RetentionDecision {
  validatePolicy(policy);
  const grace = opts.incompleteGraceMs ?? DEFAULT_INCOMPLETE_GRACE_MS;
  const skew = opts.futureSkewMs ?? DEFAULT_FUTURE_SKEW_MS;
  const nowMs = now.getTime();
  if (Number.isNaN(nowMs)) throw new StrongboxError('retention needs a valid current time');

  const decision: RetentionDecision = { keep: [], remove: [], future: [], incompleteRemove: [], incompleteKeep: [] };
  const seen = new Set<string>();
  const candidates: BackupCandidate[] = [];
  for (const b of backups) {
    // A duplicate would be decided twice, possibly kept once and removed once.
    if (seen.has(b.id)) throw new StrongboxError(`backup ${b.id} is listed twice; refusing to apply retention`);
    seen.add(b.id);
    if (!b.complete) {
      decideIncomplete(b, nowMs, grace, decision);
      continue;
    }
    const t = b.time.getTime();
    if (Number.isNaN(t)) throw new StrongboxError(`backup ${b.id} has no valid start time; refusing to apply retention`);
    if (t > nowMs + skew) decision.future.push({ id: b.id });
    else candidates.push(b);
  }

  candidates.sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const newestMs = candidates[0]?.time.getTime();
  const rules = COUNT_RULES.map(({ rule, field }) => ({ rule, left: (policy[field] as number | undefined) ?? 0, last: undefined as string | undefined }));
  const labels = policy.keepLabels ?? [];

  candidates.forEach((b, index) => {
    const reasons: KeepReason[] = [];
    const isOldest = index === candidates.length - 1;
    for (const r of rules) {
      if (r.left <= 0) continue;
      const bucket = r.rule === 'last' ? String(index) : bucketOf(r.rule, b.time);
      if (bucket !== r.last || isOldest) {
        r.last = bucket;
        r.left--;
        reasons.push(r.rule);
      }
    }
    if (policy.keepWithinMs && b.time.getTime() > newestMs! - policy.keepWithinMs) reasons.push('within');
    for (const l of labels) if (b.labels.includes(l)) reasons.push(`label:${l}`);
    if (index === 0 && reasons.length === 0) reasons.push('newest');
    if (reasons.length) decision.keep.push({ id: b.id, reasons });
    else decision.remove.push({ id: b.id });
  });
  return decision;
}

export interface SeriesCandidate extends BackupCandidate {
  /** The backup's series (see series.ts); complete backups without one form the series `all`. */
  series?: string;
}

export interface SeriesRetentionDecision extends RetentionDecision {
  /** The series of every complete backup, by id. */
  series: Record<string, string>;
  /** keepLabels that no complete backup carries (a typo keeps nothing). */
  unmatchedLabels: string[];
}

/**
 * `applyRetention` applied to each series on its own (restic's `--group-by`): the policy's
 * slots are counted within a series, and each series keeps its newest complete backup, so
 * frequent pre-deploy snapshots can never push the only backup of another kind out.
 * Incomplete backups (no manifest, so no series) are decided together, as before.
 * Refuses a policy whose only rules are labels when one of them matches no backup: it
 * would delete everything but each series' newest.
 */
export function applyRetentionBySeries(
  backups: SeriesCandidate[],
  policy: RetentionPolicy,
  now: Date,
  opts: RetentionOptions = {},
): SeriesRetentionDecision {
  validatePolicy(policy);
  const seen = new Set<string>();
  const incomplete: BackupCandidate[] = [];
  const groups = new Map<string, BackupCandidate[]>();
  const series: Record<string, string> = {};
  for (const b of backups) {
    if (seen.has(b.id)) throw new StrongboxError(`backup ${b.id} is listed twice; refusing to apply retention`);
    seen.add(b.id);
    if (!b.complete) {
      incomplete.push(b);
      continue;
    }
    const name = b.series ?? 'all';
    series[b.id] = name;
    let g = groups.get(name);
    if (!g) groups.set(name, (g = []));
    g.push(b);
  }
  const unmatchedLabels = (policy.keepLabels ?? []).filter((l) => !backups.some((b) => b.complete && b.labels.includes(l)));
  const onlyLabels = COUNT_RULES.every(({ field }) => !policy[field]) && !policy.keepWithinMs;
  if (onlyLabels && unmatchedLabels.length) {
    const known = [...new Set(backups.flatMap((b) => (b.complete ? b.labels : [])))].sort();
    throw new UsageError(
      `--keep-label ${unmatchedLabels.map(printable).join(', ')} matches no backup, and labels are the only retention rule: prune would delete all but the newest backup of each series; nothing was deleted`,
      `${known.length ? `labels in this repository: ${known.map(printable).join(', ')}` : 'no backup in this repository has a label'}; check the spelling, or add a rule such as --keep-last 7`,
    );
  }
  const parts = [applyRetention(incomplete, policy, now, opts), ...[...groups.keys()].sort().map((k) => applyRetention(groups.get(k)!, policy, now, opts))];
  const timeOf = new Map(backups.map((b) => [b.id, b.time.getTime()]));
  const newestFirst = <T extends { id: string }>(xs: T[]) => xs.sort((a, b) => timeOf.get(b.id)! - timeOf.get(a.id)! || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return {
    keep: newestFirst(parts.flatMap((p) => p.keep)),
    remove: newestFirst(parts.flatMap((p) => p.remove)),
    future: parts.flatMap((p) => p.future),
    incompleteRemove: parts.flatMap((p) => p.incompleteRemove),
    incompleteKeep: parts.flatMap((p) => p.incompleteKeep),
    series,
    unmatchedLabels,
  };
}

function decideIncomplete(b: BackupCandidate, nowMs: number, grace: number, d: RetentionDecision): void {
  const modified = b.lastModified?.getTime();
  if (modified === undefined || Number.isNaN(modified)) {
    d.incompleteKeep.push({ id: b.id, reason: 'incomplete, and the time of its objects is unknown' });
    return;
  }
  const age = nowMs - modified;
  if (age > grace) d.incompleteRemove.push({ id: b.id });
  else {
    d.incompleteKeep.push({
      id: b.id,
      reason: `incomplete, last written ${formatDuration(Math.max(0, age))} ago (within the ${formatDuration(grace)} grace period; it may still be running)`,
    });
  }
}

/** The UTC period a time falls in, for the hourly … yearly rules. */
export function bucketOf(rule: Exclude<CountRule, 'last'>, t: Date): string {
  const iso = t.toISOString(); // YYYY-MM-DDTHH:… in UTC
  switch (rule) {
    case 'hourly':
      return `${iso.slice(0, 10)}-${iso.slice(11, 13)}`;
    case 'daily':
      return iso.slice(0, 10);
    case 'weekly':
      return isoWeek(t);
    case 'monthly':
      return iso.slice(0, 7);
    case 'yearly':
      return iso.slice(0, 4);
  }
}

/** ISO 8601 week `YYYY-Www` (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(t: Date): string {
  const day = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  const weekday = day.getUTCDay() || 7; // Monday 1 … Sunday 7
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week decides the year
  const year = day.getUTCFullYear();
  const week = Math.floor((day.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}
