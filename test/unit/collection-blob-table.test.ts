import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobTable, RecentBlobs } from '../../src/core/collection/blob-table.js';
import { JsonLinesSource, readJsonLines } from '../../src/core/collection/lines.js';

const id = (n: number) => createHash('sha256').update(`blob ${n}`).digest('hex');
const pack = (n: number) => (n % 7).toString(16).padStart(32, '0');

describe('BlobTable (the no-state fallback map)', () => {
  it('finds every blob it was given, across growth and rehashing, and no other', () => {
    const t = new BlobTable(16);
    for (let n = 0; n < 20_000; n++) t.set({ id: id(n), pack: pack(n), offset: n * 1000, length: n + 1 });
    expect(t.size).toBe(20_000);
    for (const n of [0, 1, 15, 16, 17, 1023, 1024, 19_999]) expect(t.get(id(n))).toEqual({ id: id(n), pack: pack(n), offset: n * 1000, length: n + 1 });
    expect(t.get(id(20_000))).toBeUndefined();
    // Same first 4 bytes (the hash), other id: a probe must compare all 32 bytes.
    const twin = id(5).slice(0, 8) + 'f'.repeat(56);
    expect(t.get(twin)).toBeUndefined();
  });

  it('keeps the first place of an id listed twice, and leaves out ids that are not 64 hex digits', () => {
    const t = new BlobTable();
    t.set({ id: id(1), pack: pack(1), offset: 5, length: 9 });
    t.set({ id: id(1), pack: pack(2), offset: 50, length: 9 });
    t.set({ id: 'not-hex', pack: pack(1), offset: 0, length: 1 });
    expect(t.size).toBe(1);
    expect(t.get(id(1))).toMatchObject({ pack: pack(1), offset: 5 });
    expect(t.get('not-hex')).toBeUndefined();
  });

  it('holds 1,000,000 blobs in well under 100 MB', () => {
    global.gc?.();
    const before = process.memoryUsage();
    const t = new BlobTable();
    for (let n = 0; n < 1_000_000; n++) t.set({ id: id(n), pack: pack(n), offset: n, length: 10 });
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    expect(t.get(id(999_999))?.offset).toBe(999_999);
    expect(grown).toBeLessThan(100e6);
  });
});

describe('RecentBlobs (the run\'s own dedupe table)', () => {
  it('knows at least the last `max` blobs and forgets older ones, so memory stays bounded', () => {
    const r = new RecentBlobs(1000);
    for (let n = 0; n < 5000; n++) r.set({ id: id(n), pack: pack(n), offset: n, length: 1 });
    for (let n = 4000; n < 5000; n++) expect(r.get(id(n))?.offset).toBe(n);
    expect(r.get(id(0))).toBeUndefined();
    expect(r.get(id(2999))).toBeUndefined();
    // A blob seen again keeps its first place.
    r.set({ id: id(4500), pack: pack(1), offset: 7, length: 1 });
    expect(r.get(id(4500))?.offset).toBe(4500);
  });
});

describe('JsonLinesSource batching', () => {
  it('hands lines on in batches, not one chunk per line, and flushes the rest at the end', async () => {
    const src = new JsonLinesSource();
    const chunks: number[] = [];
    src.stream.on('data', (c: Buffer) => chunks.push(c.length));
    const ended = new Promise((r) => src.stream.on('end', r));
    for (let n = 0; n < 5000; n++) await src.write({ n, name: `file-${n}` });
    src.end();
    await ended;
    expect(chunks.length).toBeLessThan(10);
    expect(chunks.reduce((a, b) => a + b, 0)).toBe(Array.from({ length: 5000 }, (_, n) => JSON.stringify({ n, name: `file-${n}` }).length + 1).reduce((a, b) => a + b, 0));
  });

  it('round-trips in order', async () => {
    const src = new JsonLinesSource();
    const done = (async () => {
      for (let n = 0; n < 3000; n++) await src.write({ n });
      src.end();
    })();
    const got: number[] = [];
    for await (const v of readJsonLines(src.stream, 'x')) got.push((v as { n: number }).n);
    await done;
    expect(got).toEqual(Array.from({ length: 3000 }, (_, n) => n));
  });
});
