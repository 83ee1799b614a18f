/**
 * Coalesces the pieces the payload engines produce into buffers of at least `threshold`
 * bytes before pushing them downstream. Encryption coalesces per STREAM chunk (ciphertext and
 * its 16-byte tag become one 64 KiB + 16 buffer, so no stage downstream sees 16-byte writes);
 * decryption pushes each authenticated 64 KiB plaintext chunk as it is, without a copy.
 *
 * Why not bigger batches: measured on this project's 2-core machine, encrypt → 3 stages →
 * decrypt → 2 stages ran at ~1.3 GB/s with per-chunk buffers but ~0.9 GB/s with 1 MiB
 * batches — the extra copy costs more than the saved stream bookkeeping, and 64 KiB buffers
 * stay in cache from one stage to the next.
 */
export class OutputBatch {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly push: (data: Buffer) => void,
    private readonly threshold: number,
  ) {}

  readonly add = (data: Buffer): void => {
    this.parts.push(data);
    this.size += data.length;
    if (this.size >= this.threshold) this.flush();
  };

  flush(): void {
    if (this.size === 0) return;
    const parts = this.parts;
    this.parts = [];
    this.size = 0;
    this.push(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }
}
