import { GUARDING_ALERTS, type Alert } from '../shared/alert.js';
import type { SeriesRetentionDecision } from './retention.js';

/**
 * The retention guard: when the newest complete backup of a series carries an alert that means
 * data may be missing (a size or row-count drop), that backup may be of a database emptied by
 * accident, and rotating the older ones out would leave only the empty one. So nothing in that
 * series is removed until someone looks and prunes with `force`. Pure, like applyRetention.
 */
export interface GuardedSeries {
  /** The series key as the decision names it. */
  series: string;
  /** The newest complete backup of the series, the one carrying the alerts. */
  backup: string;
  alerts: Alert[];
  /** Backups the policy would have removed and the guard kept (with force: removed anyway). */
  spared: string[];
  /** True when `force` overrode the guard. */
  forced: boolean;
}

/**
 * Applies the guard to a decision. `backups` gives each complete backup's time (ms) and recorded alerts.
 * Returns the decision with the guarded series' removals turned into keeps (reason `guarded`),
 * and one entry per series whose newest backup carries a guarding alert.
 */
export function guardRetention(decision: SeriesRetentionDecision, backups: ReadonlyMap<string, { time: number; alerts?: Alert[] }>, force: boolean): { decision: SeriesRetentionDecision; guarded: GuardedSeries[] } {
  const newest = new Map<string, string>();
  // keep is newest first and always holds each series' newest (non-future) complete backup.
  for (const k of decision.keep) {
    const s = decision.series[k.id];
    if (s !== undefined && !newest.has(s)) newest.set(s, k.id);
  }
  const guarded: GuardedSeries[] = [];
  for (const [series, id] of [...newest].sort(([a], [b]) => a.localeCompare(b))) {
    const alerts = (backups.get(id)?.alerts ?? []).filter((a) => GUARDING_ALERTS.includes(a.kind));
    if (!alerts.length) continue;
    const spared = decision.remove.filter((r) => decision.series[r.id] === series).map((r) => r.id);
    guarded.push({ series, backup: id, alerts, spared, forced: force });
  }
  if (force) return { decision, guarded };
  const held = new Set(guarded.flatMap((g) => g.spared));
  if (!held.size) return { decision, guarded };
  const time = (id: string) => backups.get(id)?.time ?? 0;
  const keep = [...decision.keep, ...decision.remove.filter((r) => held.has(r.id)).map((r) => ({ id: r.id, reasons: ['guarded' as const] }))];
  keep.sort((a, b) => time(b.id) - time(a.id) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return { decision: { ...decision, keep, remove: decision.remove.filter((r) => !held.has(r.id)) }, guarded };
}
