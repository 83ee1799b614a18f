/**
 * Holds the last `keep` bytes back until the input has ended cleanly. pg_restore needs the
 * very end of the archive to finish, so an input that fails late (a checksum or
 * authentication error found at EOF) can never let it reach COMMIT.
 */
export class TailHolder {
  private held: Buffer[] = [];
  private heldLen = 0;
  constructor(private readonly keep: number) {}
  /** Adds a chunk; returns what may be released now. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    this.held.push(chunk);
    this.heldLen += chunk.length;
    while (this.held.length && this.heldLen - this.held[0]!.length >= this.keep) {
      const c = this.held.shift()!;
      this.heldLen -= c.length;
      out.push(c);
    }
    const excess = this.heldLen - this.keep;
    if (excess > 0) {
      const first = this.held[0]!;
      out.push(first.subarray(0, excess));
      this.held[0] = first.subarray(excess);
      this.heldLen -= excess;
    }
    return out;
  }
  /** The input ended cleanly: everything held may go. */
  rest(): Buffer[] {
    const out = this.held;
    this.held = [];
    this.heldLen = 0;
    return out;
  }
}
