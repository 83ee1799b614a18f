import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { openRefs, readRefs, referencedPacks, refsRecord } from '../../src/core/collection/refs.js';
import type { RefsLine } from '../../src/core/collection/format.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { idFor, plantCollection, plantMarker, writePack } from '../helpers/collection-fixtures.js';

async function all(it: AsyncIterable<RefsLine>): Promise<RefsLine[]> {
  const out: RefsLine[] = [];
  for await (const l of it) out.push(l);
  return out;
}

describe('refs (key-less collection reader)', () => {
  it('reads the header and every pack and blob line of a hand-written refs object', async () => {
    const dest = new MemoryDestination();
    await plantMarker(dest);
    const p1 = await writePack(dest, ['alpha', 'beta']);
    const p2 = await writePack(dest, ['gamma']);
    const id = idFor('2026-11-20T00:00:00Z');
    const { record } = await plantCollection(dest, { id, startedAt: '2026-11-20T00:00:00Z', packs: [p1, p2] });
    const { header } = await openRefs(dest, id, record);
    expect(header).toMatchObject({ format: 'strongbox-refs/1', artifact: 'files-media' });
    const lines = await all(readRefs(dest, id, record));
    expect(lines.filter((l) => l.t === 'pack').map((l) => l.id)).toEqual([p1.pack.id, p2.pack.id]);
    expect(lines.filter((l) => l.t === 'blob')).toHaveLength(3);
    expect(refsRecord(record)).toMatchObject({ key: 'files-media.refs.jsonl.gz', encryption: { scheme: 'none' } });
    expect(refsRecord(record).collection).toBeUndefined();
  });

  it('refuses an unknown format, naming the object, and a header for another artifact', async () => {
    const dest = new MemoryDestination();
    await plantMarker(dest);
    const p = await writePack(dest, ['x']);
    const id = idFor('2026-11-20T00:00:00Z');
    const future = await plantCollection(dest, { id, startedAt: '2026-11-20T00:00:00Z', packs: [p], refsText: '{"format":"strongbox-refs/2","kind":"files","artifact":"files-media","contentKey":"k"}\n' });
    await expect(all(readRefs(dest, id, future.record))).rejects.toThrow(`refs object memory://test/${id}/files-media.refs.jsonl.gz has format "strongbox-refs/2", which this Strongbox (strongbox-refs/1) cannot read`);
    const id2 = idFor('2026-11-21T00:00:00Z');
    const other = await plantCollection(dest, { id: id2, startedAt: '2026-11-21T00:00:00Z', packs: [p], refsText: '{"format":"strongbox-refs/1","kind":"files","artifact":"files-other","contentKey":"k"}\n' });
    await expect(all(readRefs(dest, id2, other.record))).rejects.toThrow('belongs to artifact "files-other", not "files-media"');
    const id3 = idFor('2026-11-22T00:00:00Z');
    const bad = await plantCollection(dest, { id: id3, startedAt: '2026-11-22T00:00:00Z', packs: [p], refsText: '{"format":"strongbox-refs/1","kind":"files","artifact":"files-media","contentKey":"k"}\n{"t":"pack","id":"../../x","size":1,"sha256":"00","plain":1}\n' });
    await expect(all(readRefs(dest, id3, bad.record))).rejects.toThrow('line 2 is not a valid pack line');
  });

  it('fails on damage of the stored object (checked against the manifest) and on a missing refs record', async () => {
    const dest = new MemoryDestination();
    await plantMarker(dest);
    const p = await writePack(dest, ['x']);
    const id = idFor('2026-11-20T00:00:00Z');
    const { record } = await plantCollection(dest, { id, startedAt: '2026-11-20T00:00:00Z', packs: [p], refsStoredOverride: gzipSync('{"format":"strongbox-refs/1","kind":"files","artifact":"files-media","contentKey":"k"}\n') });
    await expect(referencedPacks(dest, [{ id, manifest: { artifacts: [record] } }])).rejects.toThrow(/stored object .*refs.jsonl.gz does not match its manifest/);
    const { collection: _, ...plain } = record;
    expect(() => refsRecord(plain)).toThrow('artifact files-media records no refs object');
    expect(() => refsRecord({ ...record, collection: { ...record.collection!, refs: { ...record.collection!.refs, key: '../x' } } })).toThrow('not a plain file name');
  });

  it('referencedPacks: the union over backups, blob lines included', async () => {
    const dest = new MemoryDestination();
    await plantMarker(dest);
    const shared = await writePack(dest, ['shared']);
    const a = await writePack(dest, ['only a']);
    const b = await writePack(dest, ['only b']);
    const ida = idFor('2026-11-20T00:00:00Z');
    const idb = idFor('2026-11-21T00:00:00Z');
    const ba = await plantCollection(dest, { id: ida, startedAt: '2026-11-20T00:00:00Z', packs: [shared, a] });
    // A refs object that lists no pack line for b's pack still protects it through its blob line.
    const blobOnly = JSON.stringify({ ...b.blobs[0], content: undefined });
    const bb = await plantCollection(dest, { id: idb, startedAt: '2026-11-21T00:00:00Z', packs: [shared, b], refsText: `{"format":"strongbox-refs/1","kind":"files","artifact":"files-media","contentKey":"k"}\n${JSON.stringify(shared.pack)}\n${blobOnly}\n` });
    expect(await referencedPacks(dest, [{ id: ida, manifest: ba.manifest }])).toEqual(new Set([shared.pack.id, a.pack.id]));
    expect(await referencedPacks(dest, [{ id: ida, manifest: ba.manifest }, { id: idb, manifest: bb.manifest }])).toEqual(new Set([shared.pack.id, a.pack.id, b.pack.id]));
  });
});
