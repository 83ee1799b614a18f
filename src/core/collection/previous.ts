import type { Destination } from '../../destinations/types.js';
import { errorMessage } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { readRecentHistory } from '../recent-history.js';
import type { ArtifactRecord, Manifest } from '../types.js';
import { BlobTable } from './blob-table.js';
import { readRefs } from './refs.js';
import { isPackId, packKey, type RefsPack } from './format.js';

/** The newest complete backup holding a collection artifact of this name and kind, at any of `dests`. */
export interface PreviousBackup {
  id: string;
  startedAt: string;
  dest: Destination;
  record: ArtifactRecord & { collection: NonNullable<ArtifactRecord['collection']> };
}

export async function findPrevious(dests: Destination[], name: string, kind: string, reporter: Reporter): Promise<PreviousBackup | undefined> {
  let best: PreviousBackup | undefined;
  const holds = (m: Manifest) => m.artifacts.find((a) => a.name === name && a.kind === kind && a.collection);
  for (const dest of dests) {
    try {
      // A few, newest by startedAt: ids have second resolution, so two backups started in the
      // same second are listed in the random order of their suffixes.
      for (const found of (await readRecentHistory(dest, { wanted: (m) => !!holds(m), limit: 3 }, reporter)).manifests) {
        if (!best || found.startedAt > best.startedAt) best = { id: found.id, startedAt: found.startedAt, dest, record: holds(found) as PreviousBackup['record'] };
      }
    } catch (err) {
      reporter.warning(`could not read the backups at ${dest.display} to find the previous backup of ${name}: ${errorMessage(err)}; this backup reads every member`);
    }
  }
  return best;
}

/** Blob id → where it is, from the previous backup's refs (the fallback without a state). */
export async function readBlobMap(prev: PreviousBackup): Promise<{ blobs: BlobTable; packs: Map<string, RefsPack> }> {
  const blobs = new BlobTable(prev.record.collection.members);
  const packs = new Map<string, RefsPack>();
  for await (const l of readRefs(prev.dest, prev.id, prev.record)) {
    if (l.t === 'pack') packs.set(l.id, l);
    else if (l.t === 'blob') blobs.set(l);
  }
  return { blobs, packs };
}

/**
 * The packs present at every live destination with the recorded size: only blobs in those
 * may be referenced (a pack pruned since, or missing at a second destination, is re-stored).
 */
export async function presentPacks(packs: Map<string, RefsPack>, dests: Destination[], concurrency = 16): Promise<Set<string>> {
  const present = new Set<string>();
  const ids = [...packs.keys()];
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      if (!isPackId(id)) continue;
      const want = packs.get(id)!.size;
      let ok = true;
      for (const d of dests) {
        const st = await d.stat(packKey(id)).catch(() => undefined);
        if (!st || st.size !== want) {
          ok = false;
          break;
        }
      }
      if (ok) present.add(id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  return present;
}
