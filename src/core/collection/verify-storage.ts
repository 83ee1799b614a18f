import { pipeline } from 'node:stream/promises';
import { expectDigest } from '../../codecs/hash.js';
import { objectName, type Destination } from '../../destinations/types.js';
import { cancelSignal, throwIfCancelled } from '../../shared/cancel.js';
import { errorMessage, NotFoundError } from '../../shared/errors.js';
import type { Progress } from '../../shared/progress.js';
import { withProgress } from '../../shared/progress.js';
import { printable } from '../../shared/text.js';
import { storedLocation } from '../artifact-reader.js';
import type { ArtifactRecord } from '../types.js';
import { DATA_PREFIX, packIdOfKey, packKey, type RefsPack } from './format.js';
import { readRefs, refsRecord } from './refs.js';

/**
 * Verify without a key, for a collection artifact (its index is checked as any artifact is):
 * the refs object against the manifest (stored and plaintext SHA-256, format, every line), every
 * pack it names present with its recorded size, every blob inside its pack's recorded plaintext,
 * and with `readBack` each pack's stored SHA-256. Problems name the pack and the backup. The deep
 * check of every member with a key is a separate step (read.ts).
 */

export interface StorageProblem {
  object: string;
  problem: string;
}

export interface StorageCheck {
  /** Distinct packs the refs name. */
  packs: number;
  /** Of them, present with their size (and SHA-256 when read back). */
  packsOk: number;
  problems: StorageProblem[];
}

/** Sizes of every pack at the destination, listed once per verify (one listing beats a stat per pack). */
export async function listPacks(dest: Destination): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for await (const o of dest.list(DATA_PREFIX)) {
    const id = packIdOfKey(o.key);
    if (id) sizes.set(id, o.size);
  }
  return sizes;
}

export async function checkCollectionStorage(
  dest: Destination,
  backupId: string,
  record: ArtifactRecord,
  o: { packs: Map<string, number>; readBack: boolean; progress?: Progress; label?: string },
): Promise<StorageCheck> {
  const problems: StorageProblem[] = [];
  const result: StorageCheck = { packs: 0, packsOk: 0, problems };
  let refsAt: string;
  try {
    refsAt = storedLocation(dest, backupId, refsRecord(record));
  } catch (err) {
    problems.push({ object: storedLocation(dest, backupId, record), problem: errorMessage(err) });
    return result;
  }
  const packs = new Map<string, RefsPack>();
  /** The furthest byte any blob reaches in each pack it names. */
  const ends = new Map<string, number>();
  try {
    for await (const l of readRefs(dest, backupId, record)) {
      if (l.t === 'pack') packs.set(l.id, l);
      else ends.set(l.pack, Math.max(ends.get(l.pack) ?? 0, l.offset + l.length));
    }
  } catch (err) {
    throwIfCancelled();
    const missing = err instanceof NotFoundError;
    problems.push({ object: refsAt, problem: missing ? `refs object of backup ${backupId} is missing` : errorMessage(err) });
    return result;
  }
  result.packs = packs.size;
  for (const [id, end] of ends) {
    const p = packs.get(id);
    const where = objectName(dest, packKey(id));
    if (!p) problems.push({ object: refsAt, problem: `a blob of backup ${backupId} is in pack ${id} (${where}), which its refs do not list` });
    else if (end > p.plain) problems.push({ object: refsAt, problem: `a blob of backup ${backupId} ends at byte ${end} of pack ${id}, which holds ${p.plain} plaintext bytes` });
  }
  for (const p of packs.values()) {
    throwIfCancelled();
    const key = packKey(p.id);
    const where = objectName(dest, key);
    const size = o.packs.get(p.id);
    if (size === undefined) {
      problems.push({ object: where, problem: `pack ${p.id} of backup ${backupId} is missing` });
      continue;
    }
    if (size !== p.size) {
      problems.push({ object: where, problem: `pack ${p.id} of backup ${backupId} holds ${size} bytes, its refs say ${p.size}` });
      continue;
    }
    if (o.readBack) {
      try {
        await readBackPack(dest, key, p, o.progress, o.label);
      } catch (err) {
        throwIfCancelled();
        problems.push({ object: where, problem: `pack ${p.id} of backup ${backupId}: ${errorMessage(err)}` });
        continue;
      }
    }
    result.packsOk++;
  }
  return result;
}

async function readBackPack(dest: Destination, key: string, p: RefsPack, progress: Progress | undefined, label = 'verify'): Promise<void> {
  const check = expectDigest(
    { size: p.size, sha256: p.sha256 },
    (actual) => new Error(`stored bytes do not match its refs: ${actual.size} bytes with SHA-256 ${actual.sha256.slice(0, 16)}…, expected ${p.size} bytes with ${p.sha256.slice(0, 16)}…`),
  );
  const source = await dest.get(key);
  await withProgress(progress, { label: `${label} pack ${printable(p.id.slice(0, 8))}`, total: p.size, done: () => check.size }, () =>
    pipeline(source, check, async (s: AsyncIterable<unknown>) => {
      for await (const _ of s) {
        // discard
      }
    }, { signal: cancelSignal() }),
  );
}
