import type { Destination } from '../destinations/types.js';
import { LockedError, StrongboxError, errorMessage } from '../shared/errors.js';
import { withLocks, type LockSettings } from './locking.js';
import type { Reporter } from '../shared/reporter.js';
import { assertRepository, listBackups, objectKey, type BackupEntry } from './repository.js';
import { applyRetentionBySeries, DEFAULT_INCOMPLETE_GRACE_MS, type KeepReason, type RetentionPolicy } from './retention.js';
import { DEFAULT_GROUP_BY, seriesKeyOf, seriesNames, sourceIdentity, type GroupBy } from './series.js';
import { MANIFEST_NAME } from './types.js';
import { guardRetention } from './retention-guard.js';
import type { Alert } from '../shared/alert.js';
import { printable } from '../shared/text.js';
import { beginActivity, throwIfCancelled } from '../shared/cancel.js';
import { collectPacks, type PackGcResult } from './collection/gc.js';
import { formatBytes } from '../shared/format.js';

export interface PruneOptions {
  destination: Destination;
  policy: RetentionPolicy;
  /** How backups form series; the policy applies to each series on its own. Default `sources`. */
  groupBy?: GroupBy;
  dryRun: boolean;
  reporter: Reporter;
  now?: () => Date;
  incompleteGraceMs?: number;
  lock?: LockSettings;
  /** Override the retention guard (a series holding an artifact whose newest backup carries a drop alert). */
  force?: boolean;
}

export interface PruneResult {
  dryRun: boolean;
  groupBy: GroupBy;
  /** Every series seen, sorted, with how many of its backups were kept and removed. */
  series: { name: string; kept: number; removed: number }[];
  kept: { id: string; series: string; startedAt: string; labels: string[]; reasons: KeepReason[] }[];
  removed: { id: string; series: string; startedAt: string }[];
  /** --keep-label values no backup carries (reported as warnings). */
  unmatchedLabels: string[];
  /** Incomplete backups (no manifest) removed after the grace period. */
  incompleteRemoved: string[];
  incompleteKept: { id: string; reason: string }[];
  /** Backups dated in the future: reported, never removed, never counted. */
  future: string[];
  /** Backups whose manifest this version cannot read: never removed. */
  unreadable: { id: string; problem: string }[];
  /** Deletions the store refused (object lock, no permission): reported, the run goes on. */
  retained: { id: string; reason: string }[];
  /** Temp files of writes a killed run never finished, removed after the grace period. */
  abandonedWrites: string[];
  /**
   * Series the retention guard holds (retention-guard.ts: an artifact whose newest backup carries
   * a drop alert): nothing in them was removed (`spared` lists what the policy alone would have
   * removed), unless `forced`.
   */
  guarded: { series: string; backup: string; alerts: Alert[]; spared: string[]; forced: boolean }[];
  /** Collection packs no remaining backup refers to, deleted (or with dryRun, that would be). */
  packsRemoved: number;
  packBytesRemoved: number;
  /** The pack collection in detail: which packs, how many are in use or too new, and why it was skipped if it was. */
  packs: PackGcResult;
}

/**
 * Applies a retention policy under the exclusive lock. Each backup's manifest is deleted
 * first, then its objects: an interrupted prune leaves only unlisted garbage (which the
 * next prune collects), never a listed backup with missing parts.
 */
export async function prune(opts: PruneOptions): Promise<PruneResult> {
  const { destination: dest, reporter } = opts;
  const now = (opts.now ?? (() => new Date()))();
  // Before locking: never create a locks/ folder where no repository is (an unmounted share).
  await assertRepository(dest);
  const activity = beginActivity(`prune of ${dest.display}`, 'nothing was removed');
  let deleted = 0;
  return withLocks<PruneResult>([dest], 'prune', true, opts.lock, reporter, async ([lock]) => {
    const current = await listBackups(dest, reporter);
    const unreadable = current.filter((e) => e.damaged).map((e) => ({ id: e.id, problem: e.damaged! }));
    const byId = new Map(current.map((e) => [e.id, e]));
    const groupBy = opts.groupBy ?? DEFAULT_GROUP_BY;
    // Retention is decided by series key (names + source identities); users see the names.
    const names = seriesNames(current.flatMap((e) => (e.manifest && !e.damaged ? [e.manifest] : [])), groupBy);
    // Decided in full (including refusing a label-only policy that matches nothing) before
    // anything is deleted.
    const policyDecision = applyRetentionBySeries(
      current
        .filter((e) => !e.damaged)
        .map((e) => ({
          id: e.id,
          time: e.time,
          complete: e.complete,
          labels: e.manifest?.labels ?? [],
          series: e.manifest ? seriesKeyOf(e.manifest, groupBy) : undefined,
          lastModified: e.complete ? undefined : e.time,
        })),
      opts.policy,
      now,
      { incompleteGraceMs: opts.incompleteGraceMs },
    );
    // The guard reads the alerts recorded in every manifest, whatever this prune's grouping.
    const complete = new Map(
      current.flatMap((e) => (e.manifest && !e.damaged ? [[e.id, { time: e.time.getTime(), alerts: e.manifest.alerts, artifacts: e.manifest.artifacts.map((a) => ({ name: a.name, identity: sourceIdentity(a) })) }] as const] : [])),
    );
    const { decision, guarded } = guardRetention(policyDecision, complete, !!opts.force);
    for (const [id, key] of Object.entries(decision.series)) decision.series[id] = names.get(key) ?? key;
    for (const l of decision.unmatchedLabels) reporter.warning(`--keep-label ${printable(l)} matches no backup at ${dest.display}; it keeps nothing`);
    const result: PruneResult = {
      dryRun: opts.dryRun,
      groupBy,
      series: [],
      kept: decision.keep.map((k) => ({ id: k.id, series: decision.series[k.id]!, startedAt: byId.get(k.id)!.manifest!.startedAt, labels: byId.get(k.id)!.manifest!.labels, reasons: k.reasons })),
      removed: [],
      unmatchedLabels: decision.unmatchedLabels,
      incompleteRemoved: [],
      incompleteKept: decision.incompleteKeep,
      future: decision.future.map((f) => f.id),
      unreadable,
      retained: [],
      abandonedWrites: [],
      guarded: guarded.map((g) => ({ ...g, series: decision.series[g.backup]! })),
      packsRemoved: 0,
      packBytesRemoved: 0,
      packs: { removed: [], bytes: 0, referenced: 0, young: 0, failed: [] },
    };
    for (const g of result.guarded) {
      const why = g.alerts.map((a) => a.message).join('; ');
      if (g.forced) reporter.warning(`series ${printable(g.series)}: backup ${g.backup} carries drop alert(s) (${why}); --force given, so retention applies anyway`);
      else reporter.warning(`series ${printable(g.series)}: nothing removed, ${g.spared.length} backup(s) kept by the retention guard — backup ${g.backup}, the newest of its data, carries drop alert(s): ${why}. Check the data; once the new size is right, prune with --force`);
    }
    for (const f of result.future) reporter.warning(`backup ${f} is dated in the future (${byId.get(f)!.manifest!.startedAt}); ignored by time rules and kept — check the clock of the machine that made it`);
    for (const u of unreadable) reporter.warning(`backup ${u.id} kept: its manifest cannot be read (${u.problem})`);

    const remove = async (entry: BackupEntry): Promise<boolean> => {
      if (lock!.signal.aborted) throw lock!.signal.reason ?? new StrongboxError('lost the prune lock');
      // Between deletes: each backup goes whole (manifest first), or not at all.
      throwIfCancelled();
      if (opts.dryRun) return true;
      try {
        const manifestKey = objectKey(entry.id, MANIFEST_NAME);
        if (entry.objects.some((o) => o.key === manifestKey)) await dest.delete(manifestKey);
        for (const o of entry.objects) if (o.key !== manifestKey) await dest.delete(o.key);
        activity.outcome = `${++deleted} backup(s) had been removed as the policy says; the others are untouched`;
        return true;
      } catch (err) {
        if (err instanceof LockedError) throw err;
        result.retained.push({ id: entry.id, reason: errorMessage(err) });
        reporter.warning(`could not delete backup ${entry.id}: ${errorMessage(err)} — reported as retained, continuing`);
        return false;
      }
    };
    for (const r of decision.remove) {
      const e = byId.get(r.id)!;
      if (await remove(e)) result.removed.push({ id: r.id, series: decision.series[r.id]!, startedAt: e.manifest!.startedAt });
    }
    for (const r of decision.incompleteRemove) {
      if (await remove(byId.get(r.id)!)) result.incompleteRemoved.push(r.id);
    }
    result.series = [...new Set(Object.values(decision.series))].sort().map((name) => ({
      name,
      kept: result.kept.filter((k) => k.series === name).length,
      removed: result.removed.filter((r) => r.series === name).length,
    }));
    const grace = opts.incompleteGraceMs ?? DEFAULT_INCOMPLETE_GRACE_MS;
    // Last, once the manifests and then the indexes and refs of removed backups are gone: a
    // prune killed before or during this leaves only unreferenced packs, which the next collects.
    const gone = new Set(result.removed.map((r) => r.id));
    if (!opts.dryRun) activity.outcome = `${deleted} backup(s) had been removed as the policy says; unreferenced packs were being collected (the next prune collects the rest)`;
    result.packs = await collectPacks({
      destination: dest,
      live: current.filter((e) => e.complete && !e.damaged && e.manifest && !gone.has(e.id)).map((e) => ({ id: e.id, manifest: e.manifest! })),
      unreadable: unreadable.map((u) => u.id),
      now,
      graceMs: grace,
      dryRun: opts.dryRun,
      reporter,
      beforeDelete: () => {
        if (lock!.signal.aborted) throw lock!.signal.reason ?? new StrongboxError('lost the prune lock');
        throwIfCancelled();
      },
    });
    result.packsRemoved = result.packs.removed.length;
    result.packBytesRemoved = result.packs.bytes;
    result.abandonedWrites = (await dest.removeAbandonedWrites?.(new Date(now.getTime() - grace), opts.dryRun)) ?? [];
    if (result.abandonedWrites.length) {
      reporter.info(`${opts.dryRun ? 'would remove' : 'removed'} ${result.abandonedWrites.length} unfinished write(s) left by killed runs`);
    }
    const verb = opts.dryRun ? 'would remove' : 'removed';
    reporter.info(
      `Prune ${dest.display}: ${result.series.length} series, kept ${result.kept.length}, ${verb} ${result.removed.length} backup(s) and ${result.incompleteRemoved.length} incomplete one(s)` +
        (result.packsRemoved ? `, ${verb} ${result.packsRemoved} unreferenced pack(s) (${formatBytes(result.packBytesRemoved)})` : '') +
        (result.packs.skipped ? ', packs not collected (see the warning)' : '') +
        (result.retained.length ? `, ${result.retained.length} could not be deleted` : ''),
    );
    return result;
  }).finally(() => activity.end());
}
