import { createHash, createHmac, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { serializeManifest } from '../../src/core/manifest.js';
import { COLLECTION_FORMAT_VERSION, MANIFEST_NAME, type ArtifactRecord, type Manifest } from '../../src/core/types.js';
import { INDEX_FORMAT, packKey, REFS_FORMAT, type CollectionInfo, type IndexMember, type RefsBlob, type RefsPack } from '../../src/core/collection/format.js';

/**
 * Collections written by hand by the format.ts contract (no backup code involved), so the
 * key-less readers (refs, prune GC, copy, verify) are tested against the format itself.
 * Packs, index and refs are gzip-compressed and not encrypted: what the readers must check is
 * the layout and the checksums, not age.
 */

export interface BytesStore {
  putBytes(key: string, data: Uint8Array): Promise<void>;
}

const CONTENT_KEY = Buffer.from('fixture content key');
export const FIXTURE_CONTENT_KEY_ID = createHash('sha256').update('id\0').update(CONTENT_KEY).digest('hex').slice(0, 16);

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function blobId(content: string | Buffer): string {
  return createHmac('sha256', CONTENT_KEY).update(content).digest('hex');
}

export interface WrittenPack {
  pack: RefsPack;
  blobs: (RefsBlob & { content: Buffer })[];
  key: string;
}

/** Writes one pack (gzip of the blobs back to back) at data/aa/<id>.pack. */
export async function writePack(dest: BytesStore, contents: (string | Buffer)[], id = randomBytes(16).toString('hex')): Promise<WrittenPack> {
  const parts = contents.map((c) => Buffer.from(c));
  const plain = Buffer.concat(parts);
  const stored = gzipSync(plain);
  const key = packKey(id);
  await dest.putBytes(key, stored);
  let offset = 0;
  const blobs = parts.map((content) => {
    const b = { t: 'blob' as const, id: blobId(content), pack: id, offset, length: content.length, content };
    offset += content.length;
    return b;
  });
  return { pack: { t: 'pack', id, size: stored.length, sha256: sha(stored), plain: plain.length }, blobs, key };
}

export interface CollectionSpec {
  id: string;
  startedAt: string;
  /** Artifact name; default files-media. */
  name?: string;
  /** The packs it refers to (all their blobs become members named m0, m1, …), unless `members` says which. */
  packs: WrittenPack[];
  /** Members and the blob each uses; default one member per blob of `packs`. */
  members?: { name: string; blob: RefsBlob & { content: Buffer } }[];
  /** Overrides for the refs object's lines (a damaged or foreign refs object). */
  refsText?: string;
  /** Written as is after the manifest records the right checksums (damage found later). */
  refsStoredOverride?: Buffer;
  /** Leave the manifest out (an incomplete backup). */
  noManifest?: boolean;
  labels?: string[];
  /** Figures the manifest records instead of the computed ones (new and reused counts). */
  info?: Partial<CollectionInfo>;
}

export interface PlantedCollection {
  manifest: Manifest;
  record: ArtifactRecord;
  indexKey: string;
  refsKey: string;
}

export async function plantMarker(dest: BytesStore): Promise<void> {
  await dest.putBytes('strongbox.json', Buffer.from('{"format":"1.0","createdAt":"2026-11-01T00:00:00Z"}\n'));
}

const jsonl = (lines: unknown[]) => lines.map((l) => JSON.stringify(l) + '\n').join('');

/** A complete backup holding one collection artifact: index, refs, then the manifest last. */
export async function plantCollection(dest: BytesStore, s: CollectionSpec): Promise<PlantedCollection> {
  const name = s.name ?? 'files-media';
  const members = s.members ?? s.packs.flatMap((p) => p.blobs).map((blob, i) => ({ name: `m${i}`, blob }));
  const index = jsonl([
    { format: INDEX_FORMAT, kind: 'files', artifact: name },
    ...members.map(({ name: n, blob: { content, t: _t, ...ref } }): IndexMember => ({ name: n, size: content.length, sha256: sha(content), blob: ref, type: 'file', mode: 0o644 })),
  ]);
  const packIds = [...new Set(members.map((m) => m.blob.pack))];
  const packs = packIds.map((id) => s.packs.find((p) => p.pack.id === id)!.pack);
  const refs =
    s.refsText ??
    jsonl([{ format: REFS_FORMAT, kind: 'files', artifact: name, contentKey: FIXTURE_CONTENT_KEY_ID }, ...packs, ...members.map(({ blob: { content: _c, ...b } }) => b)]);
  const indexPlain = Buffer.from(index);
  const indexStored = gzipSync(indexPlain);
  const refsPlain = Buffer.from(refs);
  const refsStored = gzipSync(refsPlain);
  const indexKey = `${name}.index.jsonl.gz`;
  const refsKey = `${name}.refs.jsonl.gz`;
  await dest.putBytes(`${s.id}/${indexKey}`, indexStored);
  await dest.putBytes(`${s.id}/${refsKey}`, s.refsStoredOverride ?? refsStored);
  const collection: CollectionInfo = {
    members: members.length,
    bytes: members.reduce((n, m) => n + m.blob.length, 0),
    newMembers: members.length,
    newBytes: members.reduce((n, m) => n + m.blob.length, 0),
    reused: 0,
    skipped: 0,
    packs: packs.length,
    packBytes: packs.reduce((n, p) => n + p.size, 0),
    newPacks: packs.length,
    refs: { key: refsKey, compression: { algorithm: 'gzip' }, plaintext: { size: refsPlain.length, sha256: sha(refsPlain) }, stored: { size: refsStored.length, sha256: sha(refsStored) } },
    contentKey: FIXTURE_CONTENT_KEY_ID,
    ...s.info,
  };
  const record: ArtifactRecord = {
    name,
    kind: 'files',
    key: indexKey,
    source: { path: `/srv/${name}` } as ArtifactRecord['source'],
    compression: { algorithm: 'gzip' },
    encryption: { scheme: 'none' },
    plaintext: { size: indexPlain.length, sha256: sha(indexPlain) },
    stored: { size: indexStored.length, sha256: sha(indexStored) },
    collection,
  };
  const started = new Date(s.startedAt);
  const manifest: Manifest = {
    format: COLLECTION_FORMAT_VERSION,
    id: s.id,
    labels: s.labels ?? [],
    startedAt: started.toISOString(),
    finishedAt: new Date(started.getTime() + 1000).toISOString(),
    durationSeconds: 1,
    tool: { name: 'strongbox', version: '0.0.0' },
    origin: { host: 'fixture' },
    encryption: { scheme: 'none', recipients: [] },
    artifacts: [record],
  };
  if (!s.noManifest) await dest.putBytes(`${s.id}/${MANIFEST_NAME}`, serializeManifest(manifest));
  return { manifest, record, indexKey, refsKey };
}

/** A backup id for a time: `20261120T000000Z-<6 hex>`. */
export function idFor(iso: string, suffix = randomBytes(3).toString('hex')): string {
  return `${new Date(iso).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}-${suffix}`;
}
