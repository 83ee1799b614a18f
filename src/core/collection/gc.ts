import type { Destination } from '../../destinations/types.js';
import { errorMessage, LockedError } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { formatBytes } from '../../shared/format.js';
import type { ArtifactRecord } from '../types.js';
import { DATA_PREFIX, packIdOfKey } from './format.js';
import { collectionArtifacts, readRefs } from './refs.js';

/**
 * Prune's garbage collection of packs (design: manifest, then index and refs, then packs).
 * Runs under prune's exclusive lock, after retention removed its backups. A pack is deleted only
 * when no remaining complete backup's refs names it AND it is older than the incomplete grace
 * (a backup whose lock went stale may still be writing packs its manifest will name). Anything
 * that leaves the live set uncertain (a refs object that cannot be read in full, a manifest that
 * cannot be read) stops the collection: nothing is deleted, and the next prune tries again.
 */

export interface PackGcOptions {
  destination: Destination;
  /** Every complete backup that stays (kept, guarded, future-dated, or whose delete failed). */
  live: { id: string; manifest: { artifacts: ArtifactRecord[] } }[];
  /** Backups whose manifest cannot be read: what they refer to is unknown. */
  unreadable: string[];
  now: Date;
  graceMs: number;
  dryRun: boolean;
  reporter: Reporter;
  /** Called before each delete: throws when the lock is lost or the run is cancelled. */
  beforeDelete?: () => void;
}

export interface PackGcResult {
  /** Packs deleted (or, with dryRun, that would be), with their stored bytes. */
  removed: { key: string; size: number }[];
  bytes: number;
  /** Packs some remaining backup refers to. */
  referenced: number;
  /** Unreferenced packs younger than the grace: left for a later prune. */
  young: number;
  /** Unreferenced, old enough, but the store refused the delete. */
  failed: { key: string; reason: string }[];
  /** Why nothing was collected, when it was not (damaged refs, an unreadable manifest). */
  skipped?: string;
}

export async function collectPacks(o: PackGcOptions): Promise<PackGcResult> {
  const { destination: dest, reporter } = o;
  const result: PackGcResult = { removed: [], bytes: 0, referenced: 0, young: 0, failed: [] };
  const skip = (why: string) => {
    result.skipped = why;
    reporter.warning(`packs at ${dest.display} not collected: ${why}; nothing under ${DATA_PREFIX} was deleted`);
    return result;
  };
  if (o.unreadable.length) {
    return skip(`the manifest of backup ${o.unreadable.slice(0, 3).join(', ')}${o.unreadable.length > 3 ? ', …' : ''} cannot be read, so the packs it refers to are unknown (repair or delete that backup)`);
  }
  const live = new Set<string>();
  for (const e of o.live) {
    for (const a of collectionArtifacts(e.manifest)) {
      try {
        // Acted on only once the whole stream verified against the manifest (openPlaintext
        // errors before the end on a mismatch), so a truncated refs object protects nothing less.
        for await (const l of readRefs(dest, e.id, a)) live.add(l.t === 'pack' ? l.id : l.pack);
      } catch (err) {
        if (err instanceof LockedError) throw err;
        return skip(`the refs of artifact ${a.name} of backup ${e.id} cannot be read (${errorMessage(err)})`);
      }
    }
  }
  const cutoff = o.now.getTime() - o.graceMs;
  const candidates: { key: string; size: number }[] = [];
  let any = false;
  for await (const obj of dest.list(DATA_PREFIX)) {
    any = true;
    const id = packIdOfKey(obj.key);
    if (id === undefined) continue; // a stray object: not ours to judge
    if (live.has(id)) result.referenced++;
    // No time known: treated as new, never as old.
    else if (!obj.lastModified || obj.lastModified.getTime() > cutoff) result.young++;
    else candidates.push({ key: obj.key, size: obj.size });
  }
  if (!any) return result;
  for (const c of candidates) {
    o.beforeDelete?.();
    if (!o.dryRun) {
      try {
        await dest.delete(c.key);
      } catch (err) {
        if (err instanceof LockedError) throw err;
        result.failed.push({ key: c.key, reason: errorMessage(err) });
        continue;
      }
    }
    result.removed.push(c);
    result.bytes += c.size;
  }
  if (result.failed.length) {
    reporter.warning(`${result.failed.length} unreferenced pack(s) at ${dest.display} could not be deleted (${result.failed[0]!.reason}); the next prune tries again`);
  }
  if (result.removed.length || result.young) {
    reporter.info(
      `${o.dryRun ? 'would remove' : 'removed'} ${result.removed.length} unreferenced pack(s) (${formatBytes(result.bytes)}) at ${dest.display}` +
        `; ${result.referenced} in use` +
        (result.young ? `, ${result.young} unreferenced but newer than the grace period (kept: a running backup may be writing them)` : ''),
    );
  }
  return result;
}
