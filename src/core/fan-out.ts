import { PassThrough, Writable } from 'node:stream';
import { StoppedError } from '../shared/errors.js';

/** The input of a fan-out fails with this once every output was detached: nobody is left to write to. */
export class NoOutputLeftError extends StoppedError {}

export interface FanOut {
  input: Writable;
  outputs: PassThrough[];
  /**
   * Drops output `i` (its destination failed): it is destroyed, its buffer freed, and a write
   * waiting for its room goes on without it. The last one detached fails the input.
   */
  detach(i: number, reason?: unknown): void;
  /** True once every output was detached. */
  readonly allDetached: boolean;
}

/**
 * One writable feeding several readers (one per destination) with shared backpressure: a
 * chunk is accepted only when every live reader has room, so the slowest destination sets the
 * pace and memory stays bounded by the readers' buffers. A reader that fails or stops early is
 * detached, so the others carry on.
 */
export function fanOut(count: number, highWaterMark = 1 << 20): FanOut {
  const outputs = Array.from({ length: count }, () => new PassThrough({ highWaterMark }));
  const live = new Set(outputs);
  // The write waiting for room, and the readers it still waits for.
  let waiting: { readers: Set<PassThrough>; cb: (err?: Error | null) => void } | undefined;
  const roomAt = (out: PassThrough) => {
    if (!waiting?.readers.delete(out) || waiting.readers.size) return;
    const { cb } = waiting;
    waiting = undefined;
    cb();
  };
  let allDetached = false;

  const input = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      const full = new Set<PassThrough>();
      for (const out of [...live]) {
        if (out.destroyed) detach(outputs.indexOf(out), out.errored);
        else if (!out.write(chunk)) full.add(out);
      }
      if (!live.size) return cb(new NoOutputLeftError('every destination stopped reading'));
      for (const out of full) if (!live.has(out)) full.delete(out);
      if (!full.size) return cb();
      waiting = { readers: full, cb };
    },
    final(cb) {
      for (const out of live) out.end();
      cb();
    },
    destroy(err, cb) {
      // Also called (without an error) by autoDestroy after a clean finish: the readers may
      // still be draining what final() ended, so only an error tears them down.
      if (err) for (const out of live) out.destroy(err);
      cb(err);
    },
  });

  function detach(i: number, reason?: unknown): void {
    const out = outputs[i];
    if (!out || !live.delete(out)) return;
    out.destroy(reason instanceof Error ? reason : undefined);
    roomAt(out);
    if (live.size === 0 && !input.destroyed) {
      allDetached = true;
      input.destroy(new NoOutputLeftError('every destination stopped reading'));
    }
  }

  outputs.forEach((out, i) => {
    out.on('error', () => {}); // the destination's own task reports why it stopped
    out.on('drain', () => roomAt(out));
    // A reader torn down early (a failed upload) is detached, or a write waiting for its
    // 'drain' would wait forever.
    out.on('close', () => {
      if (!out.writableFinished && !input.destroyed) detach(i, out.errored);
    });
  });
  return {
    input,
    outputs,
    detach,
    get allDetached() {
      return allDetached;
    },
  };
}
