import { describe, expect, it } from 'vitest';
import { buffer } from 'node:stream/consumers';
import { openMembers, readIndex } from '../../src/core/collection/read.js';
import { VerificationError } from '../../src/shared/errors.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { plantMarker } from '../helpers/collection-fixtures.js';
import { countPackGets, plantTree, type TreeMember } from '../helpers/collection-tree.js';

const files = (n: number): TreeMember[] => Array.from({ length: n }, (_, i) => ({ name: `f${String(i).padStart(2, '0')}`, type: 'file' as const, content: `content of file ${i} `.repeat(i + 1) }));

async function readAll(it: AsyncIterable<{ member: { name: string }; open(): NodeJS.ReadableStream | undefined }>) {
  const out: { name: string; content?: string }[] = [];
  for await (const m of it) {
    const s = m.open();
    out.push({ name: m.member.name, ...(s ? { content: (await buffer(s)).toString() } : {}) });
  }
  return out;
}

describe('collection read: index and pack cursors', () => {
  it('reads the index header and members in order', async () => {
    const dest = new MemoryDestination();
    await plantMarker(dest);
    const t = await plantTree(dest, { id: 'b1', members: [{ name: 'd', type: 'dir' }, { name: 'd/a', type: 'file', content: 'A' }, { name: 'l', type: 'symlink', link: 'd/a' }] });
    const { header, members } = await readIndex(dest, 'b1', t.record, undefined);
    expect(header).toMatchObject({ format: 'strongbox-index/1', artifact: 'files-tree' });
    const names: string[] = [];
    for await (const m of members) names.push(m.name);
    expect(names).toEqual(['d', 'd/a', 'l']);
  });

  it('restores every member of packs read in index order, opening each pack once', async () => {
    const dest = new MemoryDestination();
    const t = await plantTree(dest, { id: 'b1', members: [{ name: 'dir', type: 'dir' }, ...files(10)], perPack: 3 });
    const gets = countPackGets(dest);
    const got = await readAll(openMembers(dest, 'b1', t.record, undefined));
    expect(got.map((g) => g.name)).toEqual(['dir', ...files(10).map((f) => f.name)]);
    expect(got[0]!.content).toBeUndefined();
    expect(got.slice(1).map((g) => g.content)).toEqual(files(10).map((f) => f.content));
    expect([...gets.values()]).toEqual([1, 1, 1, 1]);
  });

  it('keeps several packs open when the index interleaves them, and reopens only a pack whose member lies behind its cursor', async () => {
    const dest = new MemoryDestination();
    // 12 files over 4 packs, pack i holding members i, i+4, i+8: with 4 cursors each pack opens once.
    const t = await plantTree(dest, { id: 'b1', members: files(12), perPack: 3, interleave: true });
    const gets = countPackGets(dest);
    expect((await readAll(openMembers(dest, 'b1', t.record, undefined))).map((g) => g.content)).toEqual(files(12).map((f) => f.content));
    expect([...gets.values()]).toEqual([1, 1, 1, 1]);
    // With 2 cursors for 4 interleaved packs, they are evicted and reopened, and content stays right.
    const gets2 = countPackGets(dest);
    expect((await readAll(openMembers(dest, 'b1', t.record, undefined, { maxOpenPacks: 2 }))).map((g) => g.content)).toEqual(files(12).map((f) => f.content));
    expect([...gets2.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(4);
  });

  it('reads a member again from the start when the consumer asks for one before the cursor (reopen)', async () => {
    const dest = new MemoryDestination();
    const t = await plantTree(dest, { id: 'b1', members: files(3), perPack: 3 });
    const gets = countPackGets(dest);
    const ms = [];
    for await (const m of openMembers(dest, 'b1', t.record, undefined)) ms.push(m);
    // Last first, then the first: the first lies behind the cursor.
    expect((await buffer(ms[2]!.open()!)).toString()).toBe(files(3)[2]!.content);
    expect((await buffer(ms[0]!.open()!)).toString()).toBe(files(3)[0]!.content);
    expect([...gets.values()]).toEqual([2]);
  });

  it('skips unselected members without reading their packs', async () => {
    const dest = new MemoryDestination();
    const t = await plantTree(dest, { id: 'b1', members: files(9), perPack: 3 });
    const gets = countPackGets(dest);
    const got = await readAll(openMembers(dest, 'b1', t.record, undefined, { select: (n) => n === 'f07' }));
    expect(got).toEqual([{ name: 'f07', content: files(9)[7]!.content }]);
    expect([...gets.keys()]).toEqual([t.packKeys[2]]);
  });

  it('fails a member whose pack is missing, naming pack and member', async () => {
    const dest = new MemoryDestination();
    const t = await plantTree(dest, { id: 'b1', members: files(4), perPack: 2 });
    dest.objects.delete(t.packKeys[1]!);
    const it = openMembers(dest, 'b1', t.record, undefined);
    const ms = [];
    for await (const m of it) ms.push(m);
    await expect(buffer(ms[0]!.open()!)).resolves.toBeDefined();
    const err = await buffer(ms[2]!.open()!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toBe(`pack memory://test/${t.packKeys[1]} is missing: it holds member "f02"`);
  });

  it('fails a member whose bytes differ from the index before its stream ends', async () => {
    const dest = new MemoryDestination();
    // Not compressed: a changed byte in the pack changes the member, not the framing.
    const t = await plantTree(dest, { id: 'b1', members: files(2), perPack: 2, compression: 'none' });
    const pack = dest.objects.get(t.packKeys[0]!)!;
    pack.data[pack.data.length - 2] ^= 1;
    const ms = [];
    for await (const m of openMembers(dest, 'b1', t.record, undefined)) ms.push(m);
    await expect(buffer(ms[0]!.open()!)).resolves.toBeDefined();
    await expect(buffer(ms[1]!.open()!)).rejects.toThrow(/^member "f01" of files-tree does not match its index: 36 bytes with SHA-256 [0-9a-f]{16}…, expected 36 bytes/);
  });

  it('fails a pack that ends before its member', async () => {
    const dest = new MemoryDestination();
    const t = await plantTree(dest, { id: 'b1', members: files(2), perPack: 2, compression: 'none' });
    const pack = dest.objects.get(t.packKeys[0]!)!;
    pack.data = pack.data.subarray(0, pack.data.length - 5);
    const ms = [];
    for await (const m of openMembers(dest, 'b1', t.record, undefined)) ms.push(m);
    await buffer(ms[0]!.open()!);
    await expect(buffer(ms[1]!.open()!)).rejects.toThrow(`pack memory://test/${t.packKeys[0]} ends before member "f01"`);
  });
});
