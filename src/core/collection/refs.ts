import type { Destination } from '../../destinations/types.js';
import { StrongboxError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import { openPlaintext, storedLocation } from '../artifact-reader.js';
import type { ArtifactRecord } from '../types.js';
import { isBlobId, isPackId, REFS_FORMAT, type RefsHeader, type RefsLine } from './format.js';
import { readJsonLines } from './lines.js';

/**
 * The key-less side of a collection: its refs object (plaintext, zstd) says which packs and
 * blobs a backup uses. Prune collects by it, verify without a key checks by it, and a backup
 * without its state deduplicates against it. Nothing here needs or touches a key.
 */

const DAMAGED = 'the backup is damaged; choose another backup, and check the storage';

/** A refs object this version cannot read, or one that is not a refs object at all. */
export class RefsError extends StrongboxError {}

/**
 * The refs object as an ArtifactRecord (key, checksums and compression from
 * `record.collection.refs`, never encrypted), so openPlaintext and checkStored read and verify
 * it like any stored artifact.
 */
export function refsRecord(record: ArtifactRecord): ArtifactRecord {
  const refs = record.collection?.refs;
  if (!refs || typeof refs.key !== 'string' || !refs.plaintext || !refs.stored || !refs.compression) {
    throw new RefsError(`artifact ${printable(record.name)} records no refs object in its manifest`, { hint: DAMAGED });
  }
  // The manifest check covers `key` but not this one: a refs key must stay inside its backup folder.
  if (!refs.key || refs.key.includes('/') || refs.key.includes('\\') || refs.key.startsWith('.')) {
    throw new RefsError(`artifact ${printable(record.name)} names refs object ${JSON.stringify(printable(refs.key))}, which is not a plain file name`, { hint: DAMAGED });
  }
  const { collection: _, ...rest } = record;
  return {
    ...rest,
    name: `${record.name} refs`,
    key: refs.key,
    compression: refs.compression,
    encryption: { scheme: 'none' },
    plaintext: refs.plaintext,
    stored: refs.stored,
  };
}

/** The refs object of a backup's collection artifact, as `strongbox list` and messages name it. */
export function refsLocation(dest: Destination, backupId: string, record: ArtifactRecord): string {
  return storedLocation(dest, backupId, refsRecord(record));
}

/**
 * Opens the refs object of `record` (a collection artifact of backup `backupId`), checks its
 * header and returns it with the lines after it, streamed (memory stays at one line). The stream
 * errors before its end if the stored or plaintext bytes differ from the manifest, so a consumer
 * acting on the lines (prune) must act only after the stream ended without error.
 */
export async function openRefs(dest: Destination, backupId: string, record: ArtifactRecord): Promise<{ header: RefsHeader; lines: AsyncGenerator<RefsLine> }> {
  const pseudo = refsRecord(record);
  const where = storedLocation(dest, backupId, pseudo);
  const values = readJsonLines(await openPlaintext(dest, backupId, pseudo, undefined), `refs object ${where}`);
  try {
    const first = await values.next();
    if (first.done) throw new RefsError(`refs object ${where} is empty`, { hint: DAMAGED });
    const header = checkHeader(first.value, where);
    if (header.artifact !== record.name) {
      throw new RefsError(`refs object ${where} belongs to artifact ${JSON.stringify(printable(header.artifact))}, not ${JSON.stringify(printable(record.name))}`, { hint: DAMAGED });
    }
    return { header, lines: refsLines(values, where) };
  } catch (err) {
    // Closes the download behind it.
    await values.return(undefined).catch(() => {});
    throw err;
  }
}

/** The lines of a refs object (header checked first), as a stream. */
export async function* readRefs(dest: Destination, backupId: string, record: ArtifactRecord): AsyncGenerator<RefsLine> {
  const { lines } = await openRefs(dest, backupId, record);
  yield* lines;
}

function checkHeader(v: unknown, where: string): RefsHeader {
  const h = v as Record<string, unknown> | null;
  if (!h || typeof h !== 'object' || typeof h.format !== 'string') {
    throw new RefsError(`refs object ${where} has no format header`, { hint: DAMAGED });
  }
  if (h.format !== REFS_FORMAT) {
    throw new RefsError(`refs object ${where} has format ${JSON.stringify(printable(h.format))}, which this Strongbox (${REFS_FORMAT}) cannot read`, {
      hint: h.format.startsWith('strongbox-refs/') ? 'upgrade Strongbox to read it' : DAMAGED,
    });
  }
  if (typeof h.kind !== 'string' || typeof h.artifact !== 'string' || typeof h.contentKey !== 'string') {
    throw new RefsError(`refs object ${where} has a malformed header (kind, artifact or contentKey missing)`, { hint: DAMAGED });
  }
  return h as unknown as RefsHeader;
}

const count = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

async function* refsLines(values: AsyncGenerator<unknown>, where: string): AsyncGenerator<RefsLine> {
  let n = 1;
  for await (const v of values) {
    n++;
    const l = v as Record<string, unknown> | null;
    const bad = (what: string) => new RefsError(`refs object ${where} line ${n} is not a valid ${what}`, { hint: DAMAGED });
    if (!l || typeof l !== 'object') throw bad('line');
    if (l.t === 'pack') {
      if (typeof l.id !== 'string' || !isPackId(l.id) || !count(l.size) || !count(l.plain) || typeof l.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(l.sha256)) throw bad('pack line');
    } else if (l.t === 'blob') {
      if (typeof l.id !== 'string' || !isBlobId(l.id) || typeof l.pack !== 'string' || !isPackId(l.pack) || !count(l.offset) || !count(l.length)) throw bad('blob line');
    } else {
      throw bad('line (neither pack nor blob)');
    }
    yield l as unknown as RefsLine;
  }
}

/** The collection artifacts of a manifest. */
export function collectionArtifacts(m: { artifacts: ArtifactRecord[] }): ArtifactRecord[] {
  return m.artifacts.filter((a) => a.collection !== undefined);
}

/**
 * Every pack the given backups' collections refer to (pack lines and the packs their blob lines
 * name, so a refs object missing a pack line still protects the pack). Throws on the first refs
 * object that cannot be read in full: a caller deciding what to delete must then delete nothing.
 */
export async function referencedPacks(dest: Destination, entries: { id: string; manifest: { artifacts: ArtifactRecord[] } }[]): Promise<Set<string>> {
  const packs = new Set<string>();
  for (const e of entries) {
    for (const a of collectionArtifacts(e.manifest)) {
      for await (const l of readRefs(dest, e.id, a)) packs.add(l.t === 'pack' ? l.id : l.pack);
    }
  }
  return packs;
}
