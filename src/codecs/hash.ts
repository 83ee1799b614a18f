import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** Passes bytes through unchanged while counting them and computing their SHA-256. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private digestHex?: string;

  constructor(private readonly onFlush?: (result: { size: number; sha256: string }) => Error | undefined) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.digestHex = this.hash.digest('hex');
    // A check that fails here errors the stream *before* downstream sees its end, so a
    // consumer such as pg_restore never gets a clean EOF after a bad checksum.
    cb(this.onFlush?.(this.result));
  }

  get size(): number {
    return this.bytes;
  }

  get result(): { size: number; sha256: string } {
    if (this.digestHex === undefined) throw new Error('HashingStream: result read before the stream ended');
    return { size: this.bytes, sha256: this.digestHex };
  }
}

/** A HashingStream that fails at the end unless the bytes match the expected size and SHA-256. */
export function expectDigest(
  expected: { size: number; sha256: string },
  describe: (actual: { size: number; sha256: string }) => Error,
): HashingStream {
  return new HashingStream((actual) =>
    actual.size === expected.size && actual.sha256 === expected.sha256 ? undefined : describe(actual),
  );
}
