/**
 * The SSH wire encoding (RFC 4251 §5): uint32 big-endian, and `string` = uint32 length + bytes.
 * Just what keys and SSH signatures need.
 */
export class SshWireError extends Error {}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function sshString(data: Uint8Array | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  return Buffer.concat([u32(body.length), body]);
}

/** Reads fields in order; every read past the end is an error, never a short value. */
export class WireReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos === this.buf.length;
  }
  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new SshWireError('truncated');
    const r = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  u32(): number {
    return this.bytes(4).readUInt32BE(0);
  }
  string(): Buffer {
    return this.bytes(this.u32());
  }
  text(): string {
    return this.string().toString('utf8');
  }
}
