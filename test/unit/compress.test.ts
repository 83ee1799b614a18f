import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createCompressor, createDecompressor, hasNativeZstd, parseCompression, validateLevel } from '../../src/codecs/compress.js';
import { UsageError } from '../../src/shared/errors.js';
import { sha256 } from '../helpers/bytes.js';

async function run(stages: NodeJS.ReadWriteStream[], input: Buffer): Promise<Buffer> {
  let out = Buffer.alloc(0);
  const sink = async (src: AsyncIterable<unknown>) => {
    out = await buffer(src as AsyncIterable<Buffer>);
  };
  await (pipeline as (...s: unknown[]) => Promise<void>)(Readable.from([input]), ...stages, sink);
  return out;
}

describe('compression', () => {
  const text = Buffer.from('strongbox '.repeat(100_000));
  const noise = randomBytes(3 << 20);

  for (const alg of ['zstd', 'gzip'] as const) {
    it(`${alg} round-trips compressible and incompressible data`, async () => {
      for (const input of [text, noise, Buffer.alloc(0)]) {
        const packed = await run([createCompressor(alg)!], input);
        expect(sha256(await run([createDecompressor(alg)!], packed))).toBe(sha256(input));
      }
      expect((await run([createCompressor(alg)!], text)).length).toBeLessThan(text.length / 20);
    });
  }

  it('writes standard streams that the gzip and zstd tools read', async () => {
    expect(sha256(gunzipSync(await run([createCompressor('gzip')!], text)))).toBe(sha256(text));
    const zst = await run([createCompressor('zstd')!], text);
    const r = spawnSync('zstd', ['-d', '-c'], { input: zst, maxBuffer: 1 << 30 });
    expect(r.status).toBe(0);
    expect(sha256(r.stdout)).toBe(sha256(text));
  });

  it('fails on a corrupted stream instead of returning garbage', async () => {
    const zst = await run([createCompressor('zstd')!], noise);
    zst[zst.length - 5] ^= 0xff;
    await expect(run([createDecompressor('zstd')!], zst)).rejects.toThrow();
  });

  it('refuses unknown algorithms and out-of-range levels', () => {
    expect(() => parseCompression('lz4')).toThrow(UsageError);
    expect(() => validateLevel('zstd', 25)).toThrow(/out of range for zstd/);
    expect(() => validateLevel('gzip', 0)).toThrow(/1\.\.9/);
    expect(validateLevel('zstd', undefined)).toBe(3);
    expect(createCompressor('none')).toBeUndefined();
  });
});

describe('zstd engines', () => {
  it('the zstd CLI and zlib zstd read each other (or zlib zstd is refused clearly on an old Node)', async () => {
    const input = Buffer.concat([Buffer.from('strongbox '.repeat(50_000)), randomBytes(1 << 20)]);
    if (!hasNativeZstd()) {
      expect(() => createCompressor('zstd', 3, 'zlib')).toThrow(/has no zstd in zlib/);
      return;
    }
    const byCli = await run([createCompressor('zstd', 3, 'cli')!], input);
    const byZlib = await run([createCompressor('zstd', 3, 'zlib')!], input);
    expect(sha256(await run([createDecompressor('zstd', 'zlib')!], byCli))).toBe(sha256(input));
    expect(sha256(await run([createDecompressor('zstd', 'cli')!], byZlib))).toBe(sha256(input));
  });
});
