import type { Destination } from '../destinations/types.js';
import { errorMessage } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { isBackupId } from './backup-id.js';
import { objectKey, readManifestWithBytes } from './repository.js';
import { MANIFEST_NAME, type Manifest } from './types.js';

/**
 * A bounded read of the recent history: what the backup's anomaly check and the action's
 * series summary need is the newest few backups of one series, not every manifest of the
 * repository (listBackups, which prune, verify and history still use). Backup ids sort by
 * time, so the ids are listed (keys only, no manifest read) and manifests read newest first,
 * stopping after `limit` wanted ones or `maxReads` reads, whichever comes first. Time and
 * memory then stay flat as the repository grows (apart from the listing of keys itself).
 */

/** At most this many manifests are read for one recent history; past it the history is what was found. */
export const MAX_HISTORY_READS = 200;

export interface RecentHistoryOptions {
  /** Which manifests count (one series, before the new backup, …). */
  wanted: (m: Manifest) => boolean;
  /** Stop after this many wanted manifests. */
  limit: number;
  /** Stop after this many manifest reads, wanted or not (default MAX_HISTORY_READS). */
  maxReads?: number;
  /** Ids not to read (the backup being made, or already read at another destination). */
  skip?: ReadonlySet<string>;
}

export interface RecentHistory {
  /** Wanted manifests, newest first. */
  manifests: Manifest[];
  /** Manifests read (wanted or not). */
  reads: number;
  /** True when maxReads stopped the read before `limit` wanted ones were found. */
  capped: boolean;
}

/**
 * The newest wanted manifests at `dest`. A manifest that cannot be read is left out (said at
 * debug: damage is verify's and prune's news); a listing that fails throws.
 */
export async function readRecentHistory(dest: Destination, opts: RecentHistoryOptions, reporter: Reporter): Promise<RecentHistory> {
  const ids: string[] = [];
  for await (const obj of dest.list('')) {
    const slash = obj.key.indexOf('/');
    if (slash < 0) continue;
    const id = obj.key.slice(0, slash);
    // Only folders with a manifest: an incomplete backup is no history.
    if (obj.key === objectKey(id, MANIFEST_NAME) && isBackupId(id) && !opts.skip?.has(id)) ids.push(id);
  }
  ids.sort().reverse();
  const maxReads = opts.maxReads ?? MAX_HISTORY_READS;
  const manifests: Manifest[] = [];
  let reads = 0;
  for (const id of ids) {
    if (manifests.length >= opts.limit) break;
    if (reads >= maxReads) {
      reporter.debug(`history at ${dest.display}: stopped after reading ${reads} manifest(s), ${manifests.length} of the ${opts.limit} wanted found; older backups are left out`);
      return { manifests, reads, capped: true };
    }
    reads++;
    try {
      const { manifest } = await readManifestWithBytes(dest, id);
      if (opts.wanted(manifest)) manifests.push(manifest);
    } catch (err) {
      reporter.debug(`history at ${dest.display}: ${errorMessage(err)}`);
    }
  }
  return { manifests, reads, capped: false };
}
