import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  DEFAULT_GROUP_BY,
  DEFAULT_INCOMPLETE_GRACE_MS,
  LockedError,
  MANIFEST_NAME,
  StrongboxError,
  applyRetentionBySeries,
  assertRepository,
  beginActivity,
  errorMessage,
  listBackups,
  objectKey,
  printable,
  seriesKeyOf,
  seriesNames,
  throwIfCancelled,
  withLocks
} from "./chunk-DAVZWY5Q.js";

// src/core/prune.ts
async function prune(opts) {
  const { destination: dest, reporter } = opts;
  const now = (opts.now ?? (() => /* @__PURE__ */ new Date()))();
  await assertRepository(dest);
  const activity = beginActivity(`prune of ${dest.display}`, "nothing was removed");
  let deleted = 0;
  return withLocks([dest], "prune", true, opts.lock, reporter, async ([lock]) => {
    const current = await listBackups(dest, reporter);
    const unreadable = current.filter((e) => e.damaged).map((e) => ({ id: e.id, problem: e.damaged }));
    const byId = new Map(current.map((e) => [e.id, e]));
    const groupBy = opts.groupBy ?? DEFAULT_GROUP_BY;
    const names = seriesNames(current.flatMap((e) => e.manifest && !e.damaged ? [e.manifest] : []), groupBy);
    const decision = applyRetentionBySeries(
      current.filter((e) => !e.damaged).map((e) => ({
        id: e.id,
        time: e.time,
        complete: e.complete,
        labels: e.manifest?.labels ?? [],
        series: e.manifest ? seriesKeyOf(e.manifest, groupBy) : void 0,
        lastModified: e.complete ? void 0 : e.time
      })),
      opts.policy,
      now,
      { incompleteGraceMs: opts.incompleteGraceMs }
    );
    for (const [id, key] of Object.entries(decision.series)) decision.series[id] = names.get(key) ?? key;
    for (const l of decision.unmatchedLabels) reporter.warning(`--keep-label ${printable(l)} matches no backup at ${dest.display}; it keeps nothing`);
    const result = {
      dryRun: opts.dryRun,
      groupBy,
      series: [],
      kept: decision.keep.map((k) => ({ id: k.id, series: decision.series[k.id], startedAt: byId.get(k.id).manifest.startedAt, labels: byId.get(k.id).manifest.labels, reasons: k.reasons })),
      removed: [],
      unmatchedLabels: decision.unmatchedLabels,
      incompleteRemoved: [],
      incompleteKept: decision.incompleteKeep,
      future: decision.future.map((f) => f.id),
      unreadable,
      retained: [],
      abandonedWrites: []
    };
    for (const f of result.future) reporter.warning(`backup ${f} is dated in the future (${byId.get(f).manifest.startedAt}); ignored by time rules and kept \u2014 check the clock of the machine that made it`);
    for (const u of unreadable) reporter.warning(`backup ${u.id} kept: its manifest cannot be read (${u.problem})`);
    const remove = async (entry) => {
      if (lock.signal.aborted) throw lock.signal.reason ?? new StrongboxError("lost the prune lock");
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
        reporter.warning(`could not delete backup ${entry.id}: ${errorMessage(err)} \u2014 reported as retained, continuing`);
        return false;
      }
    };
    for (const r of decision.remove) {
      const e = byId.get(r.id);
      if (await remove(e)) result.removed.push({ id: r.id, series: decision.series[r.id], startedAt: e.manifest.startedAt });
    }
    for (const r of decision.incompleteRemove) {
      if (await remove(byId.get(r.id))) result.incompleteRemoved.push(r.id);
    }
    result.series = [...new Set(Object.values(decision.series))].sort().map((name) => ({
      name,
      kept: result.kept.filter((k) => k.series === name).length,
      removed: result.removed.filter((r) => r.series === name).length
    }));
    const grace = opts.incompleteGraceMs ?? DEFAULT_INCOMPLETE_GRACE_MS;
    result.abandonedWrites = await dest.removeAbandonedWrites?.(new Date(now.getTime() - grace), opts.dryRun) ?? [];
    if (result.abandonedWrites.length) {
      reporter.info(`${opts.dryRun ? "would remove" : "removed"} ${result.abandonedWrites.length} unfinished write(s) left by killed runs`);
    }
    const verb = opts.dryRun ? "would remove" : "removed";
    reporter.info(
      `Prune ${dest.display}: ${result.series.length} series, kept ${result.kept.length}, ${verb} ${result.removed.length} backup(s) and ${result.incompleteRemoved.length} incomplete one(s)` + (result.retained.length ? `, ${result.retained.length} could not be deleted` : "")
    );
    return result;
  }).finally(() => activity.end());
}

export {
  prune
};
