import { describe, expect, it } from 'vitest';
import { JsonLinesSource, readJsonLines } from '../../src/core/collection/lines.js';

describe('JSON lines', () => {
  it('round-trips values across chunk boundaries, and names the bad line', async () => {
    const src = new JsonLinesSource();
    const values = [{ a: 1 }, { name: 'ü/😀 x', n: [1, 2] }, 'tail'];
    const done = (async () => {
      for (const v of values) await src.write(v);
      src.end();
    })();
    const got: unknown[] = [];
    for await (const v of readJsonLines(src.stream, 'x')) got.push(v);
    await done;
    expect(got).toEqual(values);
    const chunks = ['{"a":', '1}\n{"b"', ':2}\nnot json\n'].map((s) => Buffer.from(s));
    const seen: unknown[] = [];
    await expect((async () => { for await (const v of readJsonLines(chunks, 'idx')) seen.push(v); })()).rejects.toThrow('idx line 3 is not valid JSON');
    expect(seen).toEqual([{ a: 1 }, { b: 2 }]);
  });
});

describe('JSON lines across chunks', () => {
  it('decodes a UTF-8 character split between two chunks', async () => {
    const bytes = Buffer.from(JSON.stringify({ name: 'añ😀' }) + '\n');
    const split = bytes.indexOf(0xf0) + 2; // inside the emoji's four bytes
    const got: unknown[] = [];
    for await (const v of readJsonLines([bytes.subarray(0, split), bytes.subarray(split)], 'x')) got.push(v);
    expect(got).toEqual([{ name: 'añ😀' }]);
  });
});
