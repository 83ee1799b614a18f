import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDestination } from '../../src/destinations/local.js';
import { FaultDestination, InjectedFault, corruptStoredObject } from '../helpers/fault-destination.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'strongbox-fault-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function chunks(data: Buffer, size = 1000): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
    })(),
  );
}

describe('FaultDestination', () => {
  it('passes everything through when no fault is set', async () => {
    const dest = new FaultDestination(new MemoryDestination());
    const data = randomBytes(5000);
    expect(await dest.put('a/b', chunks(data))).toEqual({ size: 5000 });
    expect((await buffer(await dest.get('a/b'))).equals(data)).toBe(true);
    expect(await dest.putBytesIfAbsent!('lock', Buffer.from('x'))).toBe(true);
    expect(await dest.putBytesIfAbsent!('lock', Buffer.from('y'))).toBe(false);
    const keys = [];
    for await (const o of dest.list('')) keys.push(o.key);
    expect(keys).toEqual(['a/b', 'lock']);
  });

  it('fails writes of matching keys like an HTTP 500 and stores nothing', async () => {
    const inner = new MemoryDestination();
    const dest = new FaultDestination(inner, { failPut: (k) => k.endsWith('manifest.json') });
    const err = await dest.putBytes('b1/manifest.json', Buffer.from('{}')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InjectedFault);
    expect(err).toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    await expect(dest.put('b1/manifest.json', Readable.from([Buffer.from('{}')]))).rejects.toBeInstanceOf(InjectedFault);
    await dest.putBytes('b1/data', Buffer.from('fine'));
    expect([...inner.objects.keys()]).toEqual(['b1/data']);
  });

  it('cuts a put off after N bytes; the local destination then leaves no key, no temp file and no emptied folder', async () => {
    const local = new LocalDestination(root);
    const dest = new FaultDestination(local, { failPutAfter: { match: () => true, bytes: 2500 } });
    await expect(dest.put('b1/db.dump', chunks(randomBytes(10_000)))).rejects.toThrow(/after 2500 bytes of b1\/db\.dump/);
    expect(await local.stat('b1/db.dump')).toBeUndefined();
    expect(await readdir(root)).toEqual([]);
  });

  it('stores a flipped byte while reporting success', async () => {
    const inner = new MemoryDestination();
    const dest = new FaultDestination(inner, { corrupt: { match: (k) => k === 'x', offset: 1500 } });
    const data = randomBytes(4000);
    expect(await dest.put('x', chunks(data))).toEqual({ size: 4000 });
    const stored = inner.objects.get('x')!.data;
    const diff = [...stored].flatMap((b, i) => (b !== data[i] ? [i] : []));
    expect(diff).toEqual([1500]);
    // Past the end: the last byte is flipped instead, so the fault is never silently lost.
    dest.faults = { corrupt: { match: () => true, offset: 1e9 } };
    await dest.put('y', chunks(data));
    expect([...inner.objects.get('y')!.data].flatMap((b, i) => (b !== data[i] ? [i] : []))).toEqual([3999]);
  });

  it('reports a wrong size for an intact upload', async () => {
    const inner = new MemoryDestination();
    const dest = new FaultDestination(inner, { wrongSize: { match: () => true, delta: -1 } });
    expect(await dest.put('x', chunks(Buffer.alloc(100)))).toEqual({ size: 99 });
    expect(inner.objects.get('x')!.data.length).toBe(100);
  });

  it('resets a download after N bytes, as often as asked', async () => {
    const dest = new FaultDestination(new MemoryDestination(), { resetGet: { match: () => true, bytes: 700, times: 1 } });
    const data = randomBytes(2000);
    await dest.putBytes('x', data);
    const received: Buffer[] = [];
    const err = await (async () => {
      for await (const c of await dest.get('x')) received.push(c as Buffer);
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ECONNRESET' });
    expect(Buffer.concat(received).equals(data.subarray(0, 700))).toBe(true);
    // `times` used up: the next download is whole.
    expect((await buffer(await dest.get('x'))).equals(data)).toBe(true);
  });

  it('denies deletes of matching keys and records them', async () => {
    const inner = new MemoryDestination();
    const dest = new FaultDestination(inner, { denyDelete: (k) => k.startsWith('locked/') });
    await dest.putBytes('locked/a', Buffer.from('1'));
    await dest.putBytes('free/b', Buffer.from('2'));
    await expect(dest.delete('locked/a')).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    await dest.delete('free/b');
    expect([...inner.objects.keys()]).toEqual(['locked/a']);
    expect(dest.denied).toEqual(['locked/a']);
  });

  it('corrupts an object already stored', async () => {
    const dest = new LocalDestination(root);
    await dest.putBytes('b1/db.dump', Buffer.from('abcdef'));
    await corruptStoredObject(dest, 'b1/db.dump', 2);
    expect(Buffer.from((await dest.getBytes('b1/db.dump'))!).toString('latin1')).toBe('ab\u009cdef');
  });
});
