import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { StrongboxError } from '../../shared/errors.js';

/** Longest line an index, refs or state file may hold (an object's user metadata is ≤ 2 KB in S3). */
export const MAX_LINE = 1 << 20;

/**
 * The JSON values of a JSON-lines stream, one at a time: memory stays at one line however long
 * the stream. A line that is not JSON, or longer than MAX_LINE, fails with `where` named.
 */
export async function* readJsonLines(stream: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, where: string): AsyncGenerator<unknown> {
  let carry = '';
  let lineNo = 0;
  // A UTF-8 character split across two chunks must not be decoded half by half.
  const utf8 = new StringDecoder('utf8');
  const parse = (line: string) => {
    lineNo++;
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw new StrongboxError(`${where} line ${lineNo} is not valid JSON`, { hint: 'the backup is damaged; choose another backup' });
    }
  };
  for await (const chunk of stream) {
    carry += typeof chunk === 'string' ? chunk : utf8.write(chunk);
    let nl: number;
    while ((nl = carry.indexOf('\n')) >= 0) {
      const line = carry.slice(0, nl);
      carry = carry.slice(nl + 1);
      if (line) yield parse(line);
    }
    if (carry.length > MAX_LINE) throw new StrongboxError(`${where} line ${lineNo + 1} is longer than ${MAX_LINE} bytes`, { hint: 'the backup is damaged; choose another backup' });
  }
  carry += utf8.end();
  if (carry) yield parse(carry);
}

/** Lines are handed on in batches of about this many characters, not one push per line. */
const BATCH = 64 * 1024;

/**
 * A readable stream of JSON lines fed by `write`, which waits while the reader is behind
 * (backpressure), so a producer of a million members never queues them in memory. Lines are
 * pushed in batches: one chunk per line would cost a hash update and a pipe write per member.
 */
export class JsonLinesSource {
  readonly stream: Readable;
  private wake: (() => void) | undefined;
  private pending = '';
  constructor() {
    this.stream = new Readable({ read: () => this.resume(), highWaterMark: 256 * 1024 });
  }
  private resume(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  async write(value: unknown): Promise<void> {
    if (this.stream.destroyed) throw this.stream.errored ?? new StrongboxError('the line stream was closed');
    this.pending += JSON.stringify(value) + '\n';
    if (this.pending.length < BATCH) return;
    const batch = this.pending;
    this.pending = '';
    if (!this.stream.push(batch)) await new Promise<void>((r) => (this.wake = r));
  }
  end(): void {
    if (this.pending) this.stream.push(this.pending);
    this.pending = '';
    this.stream.push(null);
  }
  fail(err: Error): void {
    this.pending = '';
    this.stream.destroy(err);
    this.resume();
  }
}
