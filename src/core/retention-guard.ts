import { guardsRetention, type Alert } from '../shared/alert.js';
import type { SeriesRetentionDecision } from './retention.js';

/**
 * The retention guard. The rule, per artifact (its name and the source it was taken from):
 *
 *   An artifact is *in alert* while its newest complete backup carries a drop alert on it
 *   (a size, row or entry-count drop: guardsRetention). Every series holding a backup of an
 *   artifact in alert is guarded: nothing in it is removed, unless `force`.
 *
 * Why this holds: backups with a drop alert never enter an anomaly baseline (anomaly.ts), so an
 * emptied database keeps alerting night after night and its artifact stays in alert; it is
 * released only by a newer backup of that artifact that raised no drop alert (the data is back,
 * or someone accepted the new size with `prune --force`, after which too few un-alerted backups
 * are left for a baseline). Nothing lets go by itself. Being per artifact, the rule does not
 * depend on how prune groups series: with `--group-by none` a newer backup of another source
 * cannot hide the emptied database's alert. Pure, like applyRetention.
 */
export interface GuardedSeries {
  /** The series key as the decision names it. */
  series: string;
  /** The newest backup carrying the drop alert(s) that guard the series. */
  backup: string;
  /** The drop alerts that guard it (of each artifact in alert that the series holds). */
  alerts: Alert[];
  /** Backups the policy would have removed and the guard kept (with force: removed anyway). */
  spared: string[];
  /** True when `force` overrode the guard. */
  forced: boolean;
}

/** What the guard knows of a complete backup: its time (ms), recorded alerts and artifacts. */
export interface GuardedBackup {
  time: number;
  alerts?: Alert[];
  /** Each artifact's name and source identity (series.ts sourceIdentity). */
  artifacts: readonly { name: string; identity: string }[];
}

const artifactKey = (a: { name: string; identity: string }) => `${a.name}\0${a.identity}`;

/** The artifact an alert is about: its subject is the artifact name, or `name table` for rows. */
function alertArtifact(a: Alert, artifacts: GuardedBackup['artifacts']): GuardedBackup['artifacts'][number] | undefined {
  const s = a.subject ?? '';
  return [...artifacts].sort((x, y) => y.name.length - x.name.length).find((x) => s === x.name || s.startsWith(`${x.name} `));
}

/**
 * Applies the guard to a decision. `backups` gives each complete backup (dated in the future
 * ones are ignored: a wrong clock must neither hold nor release the guard).
 * Returns the decision with the guarded series' removals turned into keeps (reason `guarded`),
 * and one entry per guarded series (also when `force` removes anyway, so it is said).
 */
export function guardRetention(decision: SeriesRetentionDecision, backups: ReadonlyMap<string, GuardedBackup>, force: boolean): { decision: SeriesRetentionDecision; guarded: GuardedSeries[] } {
  const future = new Set(decision.future.map((f) => f.id));
  const newestOf = new Map<string, string>();
  for (const [id, b] of backups) {
    if (future.has(id)) continue;
    for (const a of b.artifacts) {
      const cur = newestOf.get(artifactKey(a));
      const t = cur === undefined ? undefined : backups.get(cur)!.time;
      if (t === undefined || b.time > t || (b.time === t && id > cur!)) newestOf.set(artifactKey(a), id);
    }
  }
  const inAlert = new Map<string, { backup: string; alerts: Alert[] }>();
  for (const [key, id] of newestOf) {
    const b = backups.get(id)!;
    const on = (a: Alert) => {
      const art = alertArtifact(a, b.artifacts);
      return art !== undefined && artifactKey(art) === key;
    };
    const alerts = (b.alerts ?? []).filter((a) => guardsRetention(a) && on(a));
    if (alerts.length) inAlert.set(key, { backup: id, alerts });
  }
  const guarded: GuardedSeries[] = [];
  if (inAlert.size) {
    const bySeries = new Map<string, Map<string, { backup: string; alerts: Alert[] }>>();
    for (const [id, series] of Object.entries(decision.series)) {
      for (const a of backups.get(id)?.artifacts ?? []) {
        const hit = inAlert.get(artifactKey(a));
        if (!hit) continue;
        let held = bySeries.get(series);
        if (!held) bySeries.set(series, (held = new Map()));
        held.set(artifactKey(a), hit);
      }
    }
    for (const [series, held] of [...bySeries].sort(([a], [b]) => a.localeCompare(b))) {
      const hits = [...held.values()];
      const backup = hits.map((h) => h.backup).sort((a, b) => backups.get(b)!.time - backups.get(a)!.time || b.localeCompare(a))[0]!;
      const alerts = [...new Set(hits.flatMap((h) => h.alerts))];
      const spared = decision.remove.filter((r) => decision.series[r.id] === series).map((r) => r.id);
      guarded.push({ series, backup, alerts, spared, forced: force });
    }
  }
  if (force) return { decision, guarded };
  const held = new Set(guarded.flatMap((g) => g.spared));
  if (!held.size) return { decision, guarded };
  const time = (id: string) => backups.get(id)?.time ?? 0;
  const keep = [...decision.keep, ...decision.remove.filter((r) => held.has(r.id)).map((r) => ({ id: r.id, reasons: ['guarded' as const] }))];
  keep.sort((a, b) => time(b.id) - time(a.id) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return { decision: { ...decision, keep, remove: decision.remove.filter((r) => !held.has(r.id)) }, guarded };
}
