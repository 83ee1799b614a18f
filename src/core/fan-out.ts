import { PassThrough, Writable } from 'node:stream';

/**
 * One writable feeding several readers (one per destination) with shared backpressure: a
 * chunk is accepted only when every reader has room, so the slowest destination sets the pace
 * and memory stays bounded by the readers' buffers.
 */
export function fanOut(count: number, highWaterMark = 1 << 20): { input: Writable; outputs: PassThrough[] } {
  const outputs = Array.from({ length: count }, () => new PassThrough({ highWaterMark }));
  const input = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      let pending = 0;
      let done = false;
      const release = () => {
        if (!done && --pending <= 0) {
          done = true;
          cb();
        }
      };
      for (const out of outputs) {
        if (out.destroyed) return cb(out.errored ?? new Error('a destination stopped reading'));
        if (!out.write(chunk)) {
          pending++;
          out.once('drain', release);
        }
      }
      if (pending === 0) {
        done = true;
        cb();
      }
    },
    final(cb) {
      for (const out of outputs) out.end();
      cb();
    },
    destroy(err, cb) {
      // Also called (without an error) by autoDestroy after a clean finish: the readers may
      // still be draining what final() ended, so only an error tears them down.
      if (err) for (const out of outputs) out.destroy(err);
      cb(err);
    },
  });
  // A reader torn down early (a failed upload) must fail the writer, or a write waiting for
  // that reader's 'drain' would wait forever.
  for (const out of outputs) {
    out.on('error', () => {}); // forwarded to the writer by the close handler below
    out.on('close', () => {
      if (!out.writableFinished && !input.destroyed) input.destroy(out.errored ?? new Error('a destination stopped reading'));
    });
  }
  return { input, outputs };
}
