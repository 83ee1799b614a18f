import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { createEncryptStream } from '../../src/codecs/age/index.js';
import { createCompressor, type Compression } from '../../src/codecs/compress.js';
import { serializeManifest } from '../../src/core/manifest.js';
import { COLLECTION_FORMAT_VERSION, MANIFEST_NAME, type ArtifactRecord, type Manifest } from '../../src/core/types.js';
import { INDEX_FORMAT, packKey, REFS_FORMAT, type CollectionInfo, type IndexMember, type RefsPack } from '../../src/core/collection/format.js';
import type { BytesStore } from './collection-fixtures.js';

/**
 * A file tree stored as a collection, written by hand by the format.ts contract (no backup
 * code involved), for the restore side's tests: packs age(zstd|gzip(blob‖blob‖…)), the index,
 * the refs and the manifest last.
 */

export interface TreeMember {
  name: string;
  type: 'file' | 'dir' | 'symlink';
  mode?: number;
  mtime?: string;
  link?: string;
  content?: string | Buffer;
  uid?: number;
  gid?: number;
}

export interface PlantTreeOptions {
  id: string;
  startedAt?: string;
  name?: string;
  members: TreeMember[];
  /** Members with content per pack, in index order (default 3). */
  perPack?: number;
  /** Pack order differs from index order: pack i holds every perPack-th member (reopen tests). */
  interleave?: boolean;
  compression?: Compression;
  recipients?: string[];
  /** Index members' extra fields (a bucket's record), by name. */
  extra?: (m: TreeMember) => Record<string, unknown>;
  /** The index header's record of the root folder (IndexHeader.root). */
  root?: Record<string, unknown>;
}

export interface PlantedTree {
  manifest: Manifest;
  record: ArtifactRecord;
  packKeys: string[];
  index: IndexMember[];
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function seal(plain: Buffer, compression: Compression, recipients: string[] | undefined): Promise<Buffer> {
  const stages = [Readable.from([plain]), createCompressor(compression), recipients?.length ? createEncryptStream({ recipients }) : undefined].filter((s) => s !== undefined);
  const chunks: Buffer[] = [];
  await pipeline(...(stages as [Readable]), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) chunks.push(c);
  });
  return Buffer.concat(chunks);
}

export async function plantTree(dest: BytesStore, o: PlantTreeOptions): Promise<PlantedTree> {
  const name = o.name ?? 'files-tree';
  const compression = o.compression ?? 'gzip';
  const perPack = o.perPack ?? 3;
  const withContent = o.members.filter((m) => m.type === 'file');
  const groups: TreeMember[][] = [];
  if (o.interleave) {
    const n = Math.max(1, Math.ceil(withContent.length / perPack));
    for (let i = 0; i < n; i++) groups.push(withContent.filter((_, j) => j % n === i));
  } else {
    for (let i = 0; i < withContent.length; i += perPack) groups.push(withContent.slice(i, i + perPack));
  }
  const where = new Map<string, { pack: string; offset: number }>();
  const packs: RefsPack[] = [];
  const packKeys: string[] = [];
  for (const g of groups) {
    const id = randomBytes(16).toString('hex');
    let offset = 0;
    for (const m of g) {
      where.set(m.name, { pack: id, offset });
      offset += Buffer.from(m.content ?? '').length;
    }
    const plain = Buffer.concat(g.map((m) => Buffer.from(m.content ?? '')));
    const stored = await seal(plain, compression, o.recipients);
    await dest.putBytes(packKey(id), stored);
    packKeys.push(packKey(id));
    packs.push({ t: 'pack', id, size: stored.length, sha256: sha(stored), plain: plain.length });
  }
  const key = Buffer.from('tree fixture key');
  const index: IndexMember[] = o.members.map((m) => {
    const content = Buffer.from(m.content ?? '');
    const rec: IndexMember = {
      name: m.name,
      size: m.type === 'file' ? content.length : 0,
      type: m.type,
      mode: m.mode ?? (m.type === 'dir' ? 0o755 : m.type === 'symlink' ? 0o777 : 0o644),
      uid: m.uid ?? process.getuid?.() ?? 0,
      gid: m.gid ?? process.getgid?.() ?? 0,
      mtime: m.mtime ?? '2026-11-20T10:00:00.000Z',
      ...(m.link !== undefined ? { link: m.link } : {}),
      ...(o.extra?.(m) ?? {}),
    };
    if (m.type === 'file') {
      const w = where.get(m.name)!;
      rec.sha256 = sha(content);
      rec.blob = { id: createHmac('sha256', key).update(content).digest('hex'), pack: w.pack, offset: w.offset, length: content.length };
    }
    return rec;
  });
  const jsonl = (lines: unknown[]) => Buffer.from(lines.map((l) => JSON.stringify(l) + '\n').join(''));
  const indexPlain = jsonl([{ format: INDEX_FORMAT, kind: 'files', artifact: name, ...(o.root ? { root: o.root } : {}) }, ...index]);
  const refsPlain = jsonl([{ format: REFS_FORMAT, kind: 'files', artifact: name, contentKey: 'fixture' }, ...packs, ...index.filter((m) => m.blob).map((m) => ({ t: 'blob', ...m.blob }))]);
  const ext = compression === 'zstd' ? '.zst' : compression === 'gzip' ? '.gz' : '';
  const indexKey = `${name}.index.jsonl${ext}${o.recipients?.length ? '.age' : ''}`;
  const refsKey = `${name}.refs.jsonl${ext}`;
  const indexStored = await seal(indexPlain, compression, o.recipients);
  const refsStored = await seal(refsPlain, compression, undefined);
  await dest.putBytes(`${o.id}/${indexKey}`, indexStored);
  await dest.putBytes(`${o.id}/${refsKey}`, refsStored);
  const bytes = index.reduce((n, m) => n + m.size, 0);
  const collection: CollectionInfo = {
    members: index.length,
    bytes,
    newMembers: index.length,
    newBytes: bytes,
    reused: 0,
    skipped: 0,
    packs: packs.length,
    packBytes: packs.reduce((n, p) => n + p.size, 0),
    newPacks: packs.length,
    refs: { key: refsKey, compression: { algorithm: compression }, plaintext: { size: refsPlain.length, sha256: sha(refsPlain) }, stored: { size: refsStored.length, sha256: sha(refsStored) } },
    contentKey: 'fixture',
  };
  const record: ArtifactRecord = {
    name,
    kind: 'files',
    key: indexKey,
    source: { path: `/srv/${name}` },
    compression: { algorithm: compression },
    encryption: { scheme: o.recipients?.length ? 'age' : 'none' },
    plaintext: { size: indexPlain.length, sha256: sha(indexPlain) },
    stored: { size: indexStored.length, sha256: sha(indexStored) },
    collection,
  };
  const started = new Date(o.startedAt ?? '2026-11-20T10:00:00Z');
  const manifest: Manifest = {
    format: COLLECTION_FORMAT_VERSION,
    id: o.id,
    labels: [],
    startedAt: started.toISOString(),
    finishedAt: new Date(started.getTime() + 1000).toISOString(),
    durationSeconds: 1,
    tool: { name: 'strongbox', version: '0.0.0' },
    origin: { host: 'fixture' },
    encryption: { scheme: o.recipients?.length ? 'age' : 'none', recipients: o.recipients?.length ? ['fixture'] : [] },
    artifacts: [record],
  };
  await dest.putBytes(`${o.id}/${MANIFEST_NAME}`, serializeManifest(manifest));
  return { manifest, record, packKeys, index };
}

/** Counts the gets of pack objects (how often each pack is opened). */
export function countPackGets<T extends { get(key: string): Promise<Readable> }>(dest: T): Map<string, number> {
  const counts = new Map<string, number>();
  const get = dest.get.bind(dest);
  dest.get = async (key: string) => {
    if (key.startsWith('data/')) counts.set(key, (counts.get(key) ?? 0) + 1);
    return get(key);
  };
  return counts;
}

export { buffer };
