import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecryptStream, type DecryptOptions } from '../codecs/age/index.js';
import { createDecompressor } from '../codecs/compress.js';
import { expectDigest } from '../codecs/hash.js';
import type { Destination } from '../destinations/types.js';
import { cancelSignal } from '../shared/cancel.js';
import { IntegrityError, UsageError, WrongKeyError } from './errors.js';
import { objectKey } from './repository.js';
import type { ArtifactRecord } from './types.js';

export function storedLocation(dest: Destination, backupId: string, a: ArtifactRecord): string {
  return `${dest.display}/${objectKey(backupId, a.key)}`;
}

function mismatch(what: 'stored object' | 'restored plaintext', where: string, expected: { size: number; sha256: string }) {
  return (actual: { size: number; sha256: string }) =>
    new IntegrityError(
      `${what} ${where} does not match its manifest: ${actual.size} bytes with SHA-256 ${actual.sha256.slice(0, 16)}…, expected ${expected.size} bytes with ${expected.sha256.slice(0, 16)}…`,
      'the backup is damaged; restore another backup (strongbox list) and check the storage',
    );
}

/**
 * The artifact's plaintext as a stream that errors — before it ends — unless the stored bytes
 * match the manifest's SHA-256, age authenticates every chunk, and the plaintext matches too.
 */
export async function openPlaintext(
  dest: Destination,
  backupId: string,
  a: ArtifactRecord,
  decrypt: DecryptOptions | undefined,
): Promise<Readable> {
  const where = storedLocation(dest, backupId, a);
  if (a.encryption.scheme === 'age' && !decrypt) {
    throw new UsageError(`${where} is encrypted`, 'pass --identity-file FILE or --passphrase-env NAME');
  }
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const stages = [
    await dest.get(objectKey(backupId, a.key)),
    expectDigest(a.stored, mismatch('stored object', where, a.stored)),
    a.encryption.scheme === 'age' ? createDecryptStream(decrypt!) : undefined,
    createDecompressor(a.compression.algorithm),
    expectDigest(a.plaintext, mismatch('restored plaintext', where, a.plaintext)),
    out,
  ].filter((s) => s !== undefined);
  // pipeline destroys `out` with the first error, which is how the consumer learns of it.
  // A cancellation destroys every stage (zstd too), and `out` with it.
  pipeline(stages as unknown as [Readable, PassThrough], { signal: cancelSignal() }).catch(() => {});
  return out;
}

/** Reads the stored object once, checking its size and SHA-256 without decrypting. */
export async function checkStored(dest: Destination, backupId: string, a: ArtifactRecord): Promise<void> {
  const where = storedLocation(dest, backupId, a);
  await pipeline(await dest.get(objectKey(backupId, a.key)), expectDigest(a.stored, mismatch('stored object', where, a.stored)), drain, { signal: cancelSignal() });
}

/**
 * Fails with WrongKeyError when the key cannot open the artifact, reading only its beginning:
 * the age header comes first, so this answers before anything is written anywhere.
 */
export async function checkCanDecrypt(dest: Destination, backupId: string, a: ArtifactRecord, decrypt: DecryptOptions): Promise<void> {
  if (a.encryption.scheme !== 'age') return;
  const head = await readHead(await dest.get(objectKey(backupId, a.key)), 256 * 1024);
  const probe = createDecryptStream(decrypt);
  try {
    await pipeline([head], probe, drain);
  } catch (err) {
    if (err instanceof WrongKeyError) throw new WrongKeyError(`${err.message} (${storedLocation(dest, backupId, a)})`, err.hint);
    // Anything else is the head ending mid-stream, which is expected here; the full read
    // authenticates every chunk.
  }
}

async function readHead(stream: Readable, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    parts.push(chunk);
    n += chunk.length;
    if (n >= limit) break;
  }
  stream.destroy();
  return Buffer.concat(parts).subarray(0, limit);
}

async function drain(source: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of source) {
    // discard
  }
}
