import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { NoOutputLeftError, fanOut } from '../../src/core/fan-out.js';
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

  it('a reader that fails is detached: the others still get every byte', async () => {
    const data = randomBytes(4 << 20);
    const { input, outputs } = fanOut(3, 64 << 10);
    outputs[1]!.once('data', () => outputs[1]!.destroy(new Error('upload failed')));
    const [, a, c] = await Promise.all([pipeline(Readable.from(chunks(data, 64 << 10)), input), buffer(outputs[0]!), buffer(outputs[2]!)]);
    expect(sha256(a)).toBe(sha256(data));
    expect(sha256(c)).toBe(sha256(data));
    expect(outputs[1]!.destroyed).toBe(true);
  });

  it('when every reader has failed the writer fails', async () => {
    const fan = fanOut(2, 64 << 10);
    const { input, outputs } = fan;
    outputs[0]!.once('data', () => outputs[0]!.destroy(new Error('upload failed')));
    outputs[1]!.once('data', () => fan.detach(1, new Error('disk full')));
    await expect(pipeline(Readable.from(chunks(randomBytes(4 << 20), 64 << 10)), input)).rejects.toThrow(NoOutputLeftError);
    expect(fan.allDetached).toBe(true);
  });

  it('a slow reader plus one that stops reading without a word: detaching it releases the write waiting for its room', async () => {
    const data = randomBytes(3 << 20);
    const fan = fanOut(3, 64 << 10);
    const slow = (async () => {
      const parts: Buffer[] = [];
      for await (const c of fan.outputs[0]!) {
        parts.push(c as Buffer);
        await sleep(1);
      }
      return Buffer.concat(parts);
    })();
    // Reader 1 never reads (a hung upload): the stream stalls on its room until it is detached.
    let slowAtDetach = -1;
    const detached = sleep(200).then(() => {
      slowAtDetach = fan.input.writableLength;
      expect(fan.input.writableNeedDrain).toBe(true);
      fan.detach(1, new Error('upload failed: disk full'));
    });
    const [, slowResult, fast] = await Promise.all([pipeline(Readable.from(chunks(data, 64 << 10)), fan.input), slow, buffer(fan.outputs[2]!), detached]);
    expect(slowAtDetach).toBeGreaterThan(0);
    expect(sha256(slowResult)).toBe(sha256(data));
    expect(sha256(fast)).toBe(sha256(data));
    // Memory stayed bounded: the stalled reader held at most its own buffer before it went.
    expect(fan.outputs[1]!.destroyed).toBe(true);
  });
});
