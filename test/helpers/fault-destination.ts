import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import type { Destination, ObjectInfo } from '../../src/destinations/types.js';

export type KeyMatch = (key: string) => boolean;

/**
 * Faults a FaultDestination injects. Each one applies to the keys its predicate matches; change
 * `faults` between steps of a test as needed.
 */
export interface Faults {
  /** put/putBytes/putBytesIfAbsent throw an HTTP-500-like error and store nothing (e.g. the manifest write). */
  failPut?: KeyMatch;
  /** put fails after the inner destination consumed this many body bytes (a network drop mid-upload). */
  failPutAfter?: { match: KeyMatch; bytes: number };
  /** put stores the body with one byte flipped (at `offset`, default 0; the last byte if shorter) and reports success. */
  corrupt?: { match: KeyMatch; offset?: number };
  /** put stores the body intact but reports a size off by `delta`. */
  wrongSize?: { match: KeyMatch; delta: number };
  /** get's stream fails with ECONNRESET after this many bytes; `times` limits how often (default: always). */
  resetGet?: { match: KeyMatch; bytes: number; times?: number };
  /** delete throws an AccessDenied-like error (object lock, no delete permission). */
  denyDelete?: KeyMatch;
  /** put fails with ENOSPC after the inner destination consumed this many bytes (a full disk). */
  diskFullAfter?: { match: KeyMatch; bytes: number };
  /** Every call fails with ECONNREFUSED: the store is down (also list, stat and delete). */
  unreachable?: boolean;
  /** put reads the body slowly, waiting this many ms per chunk: a slow link. */
  slowPut?: { match: KeyMatch; msPerChunk: number };
}

/** An error shaped like an SDK service error, so code under test sees what a store would say. */
export class InjectedFault extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(
    readonly code: string,
    status: number,
    message: string,
  ) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
  }
}

/** Wraps any Destination with injectable faults, as restic and kopia test their backends. */
export class FaultDestination implements Destination {
  readonly display: string;
  readonly putBytesIfAbsent?: (key: string, data: Uint8Array) => Promise<boolean>;
  /** Keys whose delete was denied, for assertions. */
  readonly denied: string[] = [];

  constructor(
    readonly inner: Destination,
    public faults: Faults = {},
  ) {
    this.display = inner.display;
    if (inner.putBytesIfAbsent) {
      const ifAbsent = inner.putBytesIfAbsent.bind(inner);
      this.putBytesIfAbsent = async (key, data) => {
        this.maybeFailPut(key);
        return ifAbsent(key, data);
      };
    }
  }

  async put(key: string, body: Readable, opts?: { signal?: AbortSignal }): Promise<{ size: number }> {
    this.maybeFailPut(key);
    const { failPutAfter, corrupt, wrongSize, diskFullAfter, slowPut } = this.faults;
    const stages: Transform[] = [];
    if (failPutAfter?.match(key)) stages.push(cutAfter(failPutAfter.bytes, key));
    if (diskFullAfter?.match(key)) stages.push(cutAfter(diskFullAfter.bytes, key, () => Object.assign(new Error(`ENOSPC: no space left on device, write (injected) ${key}`), { code: 'ENOSPC' })));
    if (slowPut?.match(key)) stages.push(throttle(slowPut.msPerChunk));
    if (corrupt?.match(key)) stages.push(flipByte(corrupt.offset ?? 0));
    const result = await this.inner.put(key, chain(body, stages), opts);
    return wrongSize?.match(key) ? { size: result.size + wrongSize.delta } : result;
  }

  async putBytes(key: string, data: Uint8Array): Promise<void> {
    this.maybeFailPut(key);
    const { corrupt } = this.faults;
    if (corrupt?.match(key)) {
      const copy = Buffer.from(data);
      if (copy.length) copy[Math.min(corrupt.offset ?? 0, copy.length - 1)]! ^= 0xff;
      return this.inner.putBytes(key, copy);
    }
    return this.inner.putBytes(key, data);
  }

  async get(key: string, opts?: { signal?: AbortSignal }): Promise<Readable> {
    this.maybeDown();
    const stream = await this.inner.get(key, opts);
    const reset = this.faults.resetGet;
    if (!reset?.match(key) || reset.times === 0) return stream;
    if (reset.times !== undefined) reset.times--;
    return Readable.from(resetAfter(stream, reset.bytes, key), { objectMode: false });
  }

  async getBytes(key: string): Promise<Uint8Array | undefined> {
    this.maybeDown();
    return this.inner.getBytes(key);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    this.maybeDown();
    return this.inner.stat(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    if (this.faults.unreachable) return (async function* (self: FaultDestination) {
      self.maybeDown();
    })(this);
    return this.inner.list(prefix);
  }

  async delete(key: string): Promise<void> {
    this.maybeDown();
    if (this.faults.denyDelete?.(key)) {
      this.denied.push(key);
      throw new InjectedFault('AccessDenied', 403, `Access Denied (injected) deleting ${key}`);
    }
    return this.inner.delete(key);
  }

  private maybeDown(): void {
    if (this.faults.unreachable) throw Object.assign(new Error(`connect ECONNREFUSED (injected) ${this.display}`), { code: 'ECONNREFUSED' });
  }

  private maybeFailPut(key: string): void {
    this.maybeDown();
    if (this.faults.failPut?.(key)) {
      throw new InjectedFault('InternalError', 500, `We encountered an internal error (injected) writing ${key}`);
    }
  }
}

/** Flips one byte of a stored object in place: damage found later, as on bit-rotted storage. */
export async function corruptStoredObject(dest: Destination, key: string, offset = 0): Promise<void> {
  const data = await dest.getBytes(key);
  if (!data || data.length === 0) throw new Error(`cannot corrupt ${key}: missing or empty`);
  const copy = Buffer.from(data);
  copy[Math.min(offset, copy.length - 1)]! ^= 0xff;
  await dest.putBytes(key, copy);
}

/** source → stages, with errors and destruction travelling both ways as in a pipeline. */
function chain(source: Readable, stages: Transform[]): Readable {
  if (!stages.length) return source;
  return pipeline([source, ...stages], () => {}) as unknown as Readable;
}

function cutAfter(limit: number, key: string, fault: () => Error = () => new InjectedFault('RequestTimeout', 400, `connection lost (injected) after ${limit} bytes of ${key}`)): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (seen + chunk.length <= limit) {
        seen += chunk.length;
        return done(null, chunk);
      }
      this.push(chunk.subarray(0, limit - seen));
      seen = limit;
      done(fault());
    },
  });
}

function throttle(ms: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      setTimeout(() => done(null, chunk), ms);
    },
  });
}

async function* resetAfter(source: Readable, limit: number, key: string): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    if (seen + chunk.length <= limit) {
      seen += chunk.length;
      yield chunk;
      continue;
    }
    yield chunk.subarray(0, limit - seen);
    // Give the reader the bytes that "arrived" before the connection drops.
    await new Promise((r) => setTimeout(r, 10));
    throw Object.assign(new Error(`read ECONNRESET (injected) after ${limit} bytes of ${key}`), { code: 'ECONNRESET' });
  }
}

/** Flips the byte at `offset`, or the last byte of a shorter stream; holds back one chunk for that. */
function flipByte(offset: number): Transform {
  let pos = 0;
  let held: Buffer | undefined;
  let flipped = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (held) this.push(held);
      held = Buffer.from(chunk);
      if (!flipped && offset < pos + held.length) {
        held[offset - pos]! ^= 0xff;
        flipped = true;
      }
      pos += held.length;
      done();
    },
    flush(done: TransformCallback) {
      if (held && !flipped && held.length) held[held.length - 1]! ^= 0xff;
      if (held) this.push(held);
      done();
    },
  });
}
