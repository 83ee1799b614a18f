import { createHash } from 'node:crypto';

/** Digest for comparing large buffers in tests: Vitest's toEqual walks Buffers byte by byte, taking seconds per MB. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
