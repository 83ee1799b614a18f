import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { fanOut } from '../../src/core/fan-out.js';
import { sha256 } from '../helpers/bytes.js';

function chunks(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

describe('fanOut', () => {
  it('delivers every byte to every reader, the slowest setting the pace', async () => {
    const data = randomBytes(6 << 20);
    const { input, outputs } = fanOut(2, 256 << 10);
    const slow = (async () => {
      const parts: Buffer[] = [];
      for await (const c of outputs[1]!) {
        parts.push(c as Buffer);
        await sleep(1);
      }
      return Buffer.concat(parts);
    })();
    const [, fast, slowResult] = await Promise.all([pipeline(Readable.from(chunks(data, 64 << 10)), input), buffer(outputs[0]!), slow]);
    expect(sha256(fast)).toBe(sha256(data));
    expect(sha256(slowResult)).toBe(sha256(data));
  });

  it('a reader that fails stops the writer with its error', async () => {
    const { input, outputs } = fanOut(2, 64 << 10);
    void buffer(outputs[0]!).catch(() => {});
    outputs[1]!.once('data', () => outputs[1]!.destroy(new Error('upload failed')));
    await expect(pipeline(Readable.from(chunks(randomBytes(4 << 20), 64 << 10)), input)).rejects.toThrow(/upload failed|stopped reading/);
  });
});
