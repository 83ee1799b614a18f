import type { Destination } from '../destinations/types.js';
import { ExitCode, StrongboxError, VerificationError, errorMessage } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { copy } from './copy.js';
import type { DestinationOutcome } from './destination-run.js';
import type { LockSettings } from './locking.js';
import { prune } from './prune.js';
import type { RetentionPolicy } from './retention.js';
import type { GroupBy } from './series.js';
import { verify } from './verify.js';

/**
 * What happens to a committed backup before a scheduled run is done: verified where it was
 * committed, copied to the copy-to tiers, then every location holding it pruned by its own
 * policy. The backup action runs these steps; each is a core operation, so the edge only reads
 * inputs and writes outputs.
 */

/** How a destination or a copy-to tier ended: the backup's outcome there, and what retention removed. */
export interface LocationOutcome extends DestinationOutcome {
  /** Set for a copy-to tier (the backup copied there after it was committed at the destinations). */
  tier?: 'copy-to';
  /** Backup ids retention removed there; absent where retention did not run. */
  pruned?: string[];
  /** Unreferenced collection packs retention's prune collected there, and their stored bytes. */
  packsRemoved?: number;
  packBytesRemoved?: number;
  /** Series the retention guard held there (prune's `guarded`, alerts left out); absent when none. */
  guarded?: { series: string; backup: string; spared: string[]; forced: boolean }[];
}

export interface RetentionTarget {
  destination: Destination;
  policy: RetentionPolicy;
}

/**
 * The new backup is verified at every destination it was committed to before anything is
 * copied or pruned (a destination where it failed is left alone), so a broken run can never
 * prune away the older good backups.
 */
export async function verifyCommitted(destinations: Destination[], id: string, lock: LockSettings | undefined, reporter: Reporter): Promise<void> {
  for (const dest of destinations) {
    const check = await verify({ destination: dest, selector: id, deep: false, reporter, lock });
    if (!check.ok) throw new VerificationError(`the new backup ${id} failed verification at ${dest.display}; nothing was copied and retention was not applied`);
  }
}

/**
 * Copies the new backup to one tier, from a committed destination (a local one when there
 * is one: no download), then verifies it there. A tier that fails is that tier's outcome,
 * never the run's end: the backup is safe at its destinations, and the run is partial.
 */
export async function copyToTier(
  committed: Destination[],
  tier: Destination,
  id: string,
  options: { confirm?: 'hash' | 'size'; init?: boolean; lock?: LockSettings },
  reporter: Reporter,
): Promise<LocationOutcome> {
  const source = committed.find((d) => d.localPath) ?? committed[0]!;
  const failed = (error: string, hint?: string, exitCode?: number): LocationOutcome => ({ location: tier.display, status: 'failed', error, ...(hint ? { hint } : {}), ...(exitCode ? { exitCode } : {}), tier: 'copy-to' });
  try {
    const r = await copy({ source, destination: tier, selectors: [id], all: false, labels: [], confirm: options.confirm, init: options.init, reporter, lock: options.lock });
    const bad = r.backups.find((x) => x.status === 'failed');
    if (bad) return failed(bad.error ?? 'not copied', bad.hint, r.exitCode || undefined);
    const check = await verify({ destination: tier, selector: id, deep: false, reporter, lock: options.lock });
    if (!check.ok) return failed(`copied, but the copy failed verification: ${check.problems.map((p) => p.problem).join('; ')}`, `strongbox verify --from ${tier.location ?? tier.display} --backup ${id}`, ExitCode.verifyFailed);
    reporter.info(`backup ${id} copied from ${source.display} to ${tier.display} and verified there`);
    return { location: tier.display, status: 'committed', tier: 'copy-to' };
  } catch (err) {
    return failed(errorMessage(err), err instanceof StrongboxError ? err.hint : undefined, err instanceof StrongboxError ? err.exitCode : undefined);
  }
}

/**
 * Each location that holds the new backup, pruned with its own policy; a location where this
 * run's backup did not arrive is never pruned. Records what was removed, and what the
 * retention guard kept, in `outcomes`.
 */
export async function pruneHolders(plan: RetentionTarget[], holders: Destination[], outcomes: LocationOutcome[], groupBy: GroupBy, lock: LockSettings | undefined, reporter: Reporter, force = false): Promise<string[]> {
  const all: string[] = [];
  for (const { destination: dest, policy } of plan) {
    if (!holders.includes(dest)) continue;
    // The guard applies here too, to the backup this run just made: an emptied database's
    // first backup must not rotate the good ones out (force overrides, as prune --force).
    const r = await prune({ destination: dest, policy, groupBy, dryRun: false, reporter, lock, force });
    const removed = [...r.removed.map((x) => x.id), ...r.incompleteRemoved];
    all.push(...removed);
    const outcome = outcomes.find((o) => o.location === dest.display);
    if (outcome) {
      outcome.pruned = removed;
      if (r.packsRemoved) {
        outcome.packsRemoved = r.packsRemoved;
        outcome.packBytesRemoved = r.packBytesRemoved;
      }
      // Said in the outputs and the summary too: a frozen retention must not look like "removed 0".
      if (r.guarded.length) outcome.guarded = r.guarded.map((g) => ({ series: g.series, backup: g.backup, spared: g.spared, forced: g.forced }));
    }
    if (r.retained.length) reporter.warning(`${r.retained.length} backup(s) at ${dest.display} could not be deleted (object lock or permissions): ${r.retained.map((x) => x.id).join(', ')}`);
  }
  return [...new Set(all)];
}
