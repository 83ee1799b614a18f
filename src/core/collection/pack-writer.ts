import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Writable } from 'node:stream';
import type { Destination } from '../../destinations/types.js';
import { StoppedError, errorMessage } from '../../shared/errors.js';
import { storeObject, type WriteContext } from '../artifact-writer.js';
import { PACK_TARGET, packKey, type RefsPack } from './format.js';

/** Packs being uploaded at once besides the one being filled: each holds a few MiB of buffers (fan-out, zstd, age). */
export const PACKS_IN_FLIGHT = 2;

export type PackContext = Omit<WriteContext, 'backupId' | 'destinations'> & {
  /** The destinations still in the backup, asked when each pack starts. */
  live(): Destination[];
};

interface Upload {
  id: string;
  input: PassThrough;
  plain: number;
  /** Settles when the pack is stored and confirmed everywhere it could be; never rejects (see `failure`). */
  done: Promise<RefsPack | undefined>;
  confirmed: Destination[];
}

/** Writes `data` honouring backpressure; fails if the stream was torn down (its pipeline failed). */
export async function writeChunk(stream: Writable, data: Buffer): Promise<void> {
  if (stream.destroyed) throw stream.errored ?? new StoppedError('the pack upload was stopped');
  if (stream.write(data)) return;
  await Promise.race([once(stream, 'drain'), once(stream, 'close')]).catch(() => {});
  if (stream.destroyed) throw stream.errored ?? new StoppedError('the pack upload was stopped');
}

/**
 * Packs: blobs appended to one open pack (zstd → age → every live destination, as an artifact's
 * stream is), closed once it holds PACK_TARGET plaintext bytes. Large members get a pack of their
 * own (`startOwn`). Every pack is confirmed (stat + read-back) before `finish` resolves, which
 * must happen before any manifest refers to them.
 */
export class PackWriter {
  private current: Upload | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly uploads = new Map<string, Upload>();
  private failure: unknown;
  /** Packs this writer stored, confirmed (in the order they finished). */
  readonly written: RefsPack[] = [];

  constructor(private readonly ctx: PackContext) {}

  private start(): Upload {
    const id = randomBytes(16).toString('hex');
    const input = new PassThrough({ highWaterMark: 1 << 20 });
    const upload: Upload = { id, input, plain: 0, confirmed: [], done: undefined as unknown as Promise<RefsPack | undefined> };
    const ctx = { ...this.ctx, destinations: this.ctx.live() };
    upload.done = storeObject({ stream: input }, packKey(id), ctx).then(
      (s) => {
        upload.confirmed = s.confirmed;
        const ref: RefsPack = { t: 'pack', id, size: s.stored.size, sha256: s.stored.sha256, plain: s.plaintext.size };
        this.written.push(ref);
        return ref;
      },
      (err: unknown) => {
        this.failure ??= err;
        return undefined;
      },
    );
    this.uploads.set(id, upload);
    const tracked = upload.done.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return upload;
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Appends a small blob to the open pack; returns where it is. */
  async append(data: Buffer): Promise<{ pack: string; offset: number }> {
    this.check();
    if (!this.current) {
      // Bounded: wait for an upload to finish before another one starts.
      while (this.inFlight.size > PACKS_IN_FLIGHT) await Promise.race(this.inFlight);
      this.check();
      this.current = this.start();
    }
    const u = this.current;
    const offset = u.plain;
    u.plain += data.length;
    if (data.length) await writeChunk(u.input, data);
    if (u.plain >= PACK_TARGET) this.close();
    this.check();
    return { pack: u.id, offset };
  }

  private close(): void {
    const u = this.current;
    this.current = undefined;
    u?.input.end();
  }

  /**
   * A pack of its own for one large member: write its content to `input` and end it, then
   * `await stored(id)`. If the content turns out known already, `discard(id)`.
   */
  startOwn(): { id: string; input: PassThrough } {
    this.check();
    const u = this.start();
    return { id: u.id, input: u.input };
  }

  /** The pack's RefsPack once stored and confirmed; throws if it could not be stored. */
  async stored(id: string): Promise<RefsPack> {
    const ref = await this.uploads.get(id)?.done;
    this.check();
    if (!ref) throw new Error(`pack ${id} was not stored`);
    return ref;
  }

  /** Deletes an own pack whose content another pack holds already (best effort: prune collects it otherwise). */
  async discard(id: string): Promise<void> {
    const u = this.uploads.get(id);
    if (!u) return;
    await u.done;
    const i = this.written.findIndex((p) => p.id === id);
    if (i >= 0) this.written.splice(i, 1);
    this.uploads.delete(id);
    for (const dest of u.confirmed) {
      await dest.delete(packKey(id)).catch((err: unknown) => this.ctx.reporter.debug(`could not delete the duplicate pack ${id} at ${dest.display}: ${errorMessage(err)}`));
    }
  }

  /** Closes the open pack and waits until every pack is stored and confirmed. */
  async finish(): Promise<RefsPack[]> {
    this.close();
    await Promise.all([...this.uploads.values()].map((u) => u.done));
    this.check();
    return this.written;
  }

  /** Stops every upload (the backup failed): what was stored stays for prune. */
  async abort(err: Error): Promise<void> {
    for (const u of this.uploads.values()) if (!u.input.writableEnded) u.input.destroy(err);
    await Promise.all([...this.uploads.values()].map((u) => u.done));
  }
}
