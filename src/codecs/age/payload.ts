/**
 * The age payload: STREAM (Hoang, Reyhanitabar, Rogaway, Vizár) over ChaCha20-Poly1305 with
 * 64 KiB plaintext chunks. Chunk i is sealed with the nonce `i as 11 big-endian bytes ‖ last`,
 * where `last` is 1 only on the final chunk. So truncation at a chunk boundary, reordering and
 * appended data are all detected. The final chunk may be full; it is empty only when the
 * whole plaintext is empty.
 *
 * Both engines take input in whatever pieces arrive, hand out output through a sink, and hold
 * at most one chunk in between, so memory stays flat whatever the size.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { IntegrityError } from '../../shared/errors.js';
import { TAG_SIZE, hkdf } from './crypto.js';

export const CHUNK_SIZE = 64 * 1024;
export const ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;
export const PAYLOAD_NONCE_SIZE = 16;

export type Sink = (data: Buffer) => void;

export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return hkdf(fileKey, nonce, 'payload');
}

/** A reusable 12-byte STREAM nonce for chunk `counter`. */
class ChunkNonce {
  readonly bytes = Buffer.alloc(12);
  set(counter: number, last: boolean): Buffer {
    // Counters stay below 2^53 (that is 2^69 bytes of plaintext): the top bytes stay zero.
    this.bytes.writeUIntBE(Math.floor(counter / 2 ** 32), 3, 4);
    this.bytes.writeUInt32BE(counter >>> 0, 7);
    this.bytes[11] = last ? 1 : 0;
    return this.bytes;
  }
}

function payloadError(message: string): IntegrityError {
  return new IntegrityError(
    `the age payload ${message}`,
    'The backup was altered, truncated or extended after it was written; restore from another copy or backup.',
  );
}

export class PayloadEncryptor {
  private readonly nonce = new ChunkNonce();
  private counter = 0;
  /** Plaintext not yet sealed: a chunk is sealed only once we know whether more data follows. */
  private readonly pending = Buffer.allocUnsafe(CHUNK_SIZE);
  private pendingLength = 0;

  constructor(private readonly key: Buffer) {}

  update(input: Buffer, sink: Sink): void {
    let offset = 0;
    if (this.pendingLength > 0) {
      const take = Math.min(CHUNK_SIZE - this.pendingLength, input.length);
      input.copy(this.pending, this.pendingLength, 0, take);
      this.pendingLength += take;
      offset = take;
      if (this.pendingLength < CHUNK_SIZE || offset === input.length) return;
      this.seal(this.pending, false, sink);
      this.pendingLength = 0;
    }
    // Seal straight from the caller's buffer, keeping back the last (possibly final) chunk.
    while (input.length - offset > CHUNK_SIZE) {
      this.seal(input.subarray(offset, offset + CHUNK_SIZE), false, sink);
      offset += CHUNK_SIZE;
    }
    input.copy(this.pending, 0, offset);
    this.pendingLength = input.length - offset;
  }

  /** Seals the final chunk: whatever is pending, possibly a full chunk, possibly empty (empty input). */
  finish(sink: Sink): void {
    this.seal(this.pending.subarray(0, this.pendingLength), true, sink);
    this.pendingLength = 0;
  }

  private seal(plaintext: Buffer, last: boolean, sink: Sink): void {
    const cipher = createCipheriv('chacha20-poly1305', this.key, this.nonce.set(this.counter, last), {
      authTagLength: TAG_SIZE,
    });
    if (plaintext.length > 0) sink(cipher.update(plaintext));
    cipher.final();
    sink(cipher.getAuthTag());
    this.counter += 1;
  }
}

export class PayloadDecryptor {
  private readonly nonce = new ChunkNonce();
  private counter = 0;
  private done = false;
  private readonly pending = Buffer.allocUnsafe(ENCRYPTED_CHUNK_SIZE);
  private pendingLength = 0;

  constructor(private readonly key: Buffer) {}

  /** Decrypts every complete chunk in `input`; plaintext reaches the sink only once authenticated. */
  update(input: Buffer, sink: Sink): void {
    let offset = 0;
    if (this.done && input.length > 0) throw payloadError('has data after its final chunk');
    if (this.pendingLength > 0) {
      const take = Math.min(ENCRYPTED_CHUNK_SIZE - this.pendingLength, input.length);
      input.copy(this.pending, this.pendingLength, 0, take);
      this.pendingLength += take;
      offset = take;
      if (this.pendingLength < ENCRYPTED_CHUNK_SIZE) return;
      this.pendingLength = 0;
      this.openFull(this.pending, sink);
    }
    while (input.length - offset >= ENCRYPTED_CHUNK_SIZE) {
      if (this.done) throw payloadError('has data after its final chunk');
      this.openFull(input.subarray(offset, offset + ENCRYPTED_CHUNK_SIZE), sink);
      offset += ENCRYPTED_CHUNK_SIZE;
    }
    if (offset < input.length && this.done) throw payloadError('has data after its final chunk');
    input.copy(this.pending, 0, offset);
    this.pendingLength = input.length - offset;
  }

  /** At end of input: the last, short chunk must be the final one, and a final chunk must exist. */
  finish(sink: Sink): void {
    if (this.done) return;
    const chunk = this.pending.subarray(0, this.pendingLength);
    if (chunk.length === 0) {
      throw payloadError(
        this.counter === 0 ? 'is missing: the file ends after the header' : `is truncated: it ends after chunk ${this.counter} without a final chunk`,
      );
    }
    if (chunk.length < TAG_SIZE) throw payloadError(`is truncated in the middle of chunk ${this.counter + 1}`);
    if (chunk.length === TAG_SIZE && this.counter > 0) throw payloadError('ends with an empty final chunk, which age forbids');
    const plaintext = this.open(chunk, true);
    if (plaintext === null) {
      throw payloadError(`chunk ${this.counter + 1} (the last) failed authentication: it is damaged or truncated`);
    }
    this.emit(plaintext, sink, true);
  }

  /**
   * A full-size chunk is normally not the last; if it fails as such, it may be a full final
   * chunk (plaintext an exact multiple of 64 KiB). Then anything after it is an error.
   */
  private openFull(chunk: Buffer, sink: Sink): void {
    let plaintext = this.open(chunk, false);
    let last = false;
    if (plaintext === null) {
      plaintext = this.open(chunk, true);
      last = true;
    }
    if (plaintext === null) throw payloadError(`chunk ${this.counter + 1} failed authentication: it is damaged`);
    this.emit(plaintext, sink, last);
  }

  private emit(plaintext: Buffer, sink: Sink, last: boolean): void {
    if (plaintext.length > 0) sink(plaintext);
    this.counter += 1;
    this.done = last;
  }

  private open(chunk: Buffer, last: boolean): Buffer | null {
    const decipher = createDecipheriv('chacha20-poly1305', this.key, this.nonce.set(this.counter, last), {
      authTagLength: TAG_SIZE,
    });
    decipher.setAuthTag(chunk.subarray(chunk.length - TAG_SIZE));
    const plaintext = decipher.update(chunk.subarray(0, chunk.length - TAG_SIZE));
    try {
      decipher.final();
    } catch {
      return null;
    }
    return plaintext;
  }
}
