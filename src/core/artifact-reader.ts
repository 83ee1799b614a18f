import { ownerState, ownerTag } from '../shared/owned-names.js';
import { objectName } from '../destinations/types.js';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, readdir, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecryptStream, type DecryptOptions } from '../codecs/age/index.js';
import { createDecompressor } from '../codecs/compress.js';
import { expectDigest } from '../codecs/hash.js';
import type { Destination } from '../destinations/types.js';
import { cancelSignal } from '../shared/cancel.js';
import { IntegrityError, StrongboxError, UsageError, WrongKeyError } from '../shared/errors.js';
import { objectKey } from './repository.js';
import type { ArtifactRecord } from './types.js';
import { withProgress, type Progress } from '../shared/progress.js';

/** Long reads show progress: stored bytes read of the stored size the manifest records. */
export interface ShowProgress {
  progress?: Progress;
  /** `restore files-media`, `verify postgres-appdb`. */
  label: string;
}

export function storedLocation(dest: Destination, backupId: string, a: ArtifactRecord): string {
  return `${objectName(dest, objectKey(backupId, a.key))}`;
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
  /** Read this verified copy (fetchVerified) instead of the storage. */
  local?: LocalCopy,
  show?: ShowProgress,
): Promise<Readable> {
  const where = storedLocation(dest, backupId, a);
  if (a.encryption.scheme === 'age' && !decrypt) {
    throw new UsageError(`${where} is encrypted`, 'pass --identity-file FILE or --passphrase-env NAME');
  }
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const source = local ? createReadStream(local.path) : await dest.get(objectKey(backupId, a.key));
  let stages;
  const stored = expectDigest(a.stored, mismatch('stored object', where, a.stored));
  try {
    stages = [
      source,
      stored,
      a.encryption.scheme === 'age' ? createDecryptStream(decrypt!) : undefined,
      createDecompressor(a.compression.algorithm),
      expectDigest(a.plaintext, mismatch('restored plaintext', where, a.plaintext)),
      out,
    ].filter((s) => s !== undefined);
  } catch (err) {
    // A stage refusing its options must not leave the download open behind it.
    source.on('error', () => {}).destroy();
    throw err;
  }
  // pipeline destroys `out` with the first error, which is how the consumer learns of it.
  // A cancellation destroys every stage (zstd too), and `out` with it.
  const shown = show?.progress?.start({ label: show.label, total: a.stored.size, done: () => stored.size });
  pipeline(stages as unknown as [Readable, PassThrough], { signal: cancelSignal() })
    .catch(() => {})
    .finally(() => shown?.end());
  return out;
}

/** Reads the stored object once, checking its size and SHA-256 without decrypting. */
export async function checkStored(dest: Destination, backupId: string, a: ArtifactRecord, show?: ShowProgress): Promise<void> {
  const where = storedLocation(dest, backupId, a);
  const source = await dest.get(objectKey(backupId, a.key));
  const check = expectDigest(a.stored, mismatch('stored object', where, a.stored));
  await withProgress(show?.progress, { label: show?.label ?? '', total: a.stored.size, done: () => check.size }, () =>
    pipeline(source, check, drain, { signal: cancelSignal() }),
  );
}

/** A stored object's bytes in a private temp file, proven to match the manifest. */
export interface LocalCopy {
  path: string;
  /** Deletes the file and its folder; safe to call twice. */
  remove(): Promise<void>;
}

/**
 * Downloads the stored object once into a private folder (mkdtemp, 0700) under the OS temp
 * dir (TMPDIR), as a 0600 file, hashing while writing; returns only when size and SHA-256
 * match the manifest. A PostgreSQL restore reads this copy: psql executes statements as they
 * arrive, so a swapped object must be refused before its first byte is restored, and no
 * second download leaves a window to swap it again. The folder goes on every path, on an
 * exit during cleanup too (the 'exit' hook).
 */
export async function fetchVerified(dest: Destination, backupId: string, a: ArtifactRecord, show?: ShowProgress): Promise<LocalCopy> {
  const where = storedLocation(dest, backupId, a);
  const base = tmpdir();
  const noSpace = (free?: number) =>
    new StrongboxError(
      `not enough space in ${base} for the verified local copy of ${where}: it needs ${a.stored.size} bytes (${mib(a.stored.size)})${free === undefined ? '' : `, ${free} bytes are free`}; nothing was restored`,
      { hint: 'free space there, or point TMPDIR at a disk with room (a PostgreSQL artifact is checked in full before pg_restore reads it)' },
    );
  const fs = await statfs(base).catch(() => undefined);
  if (fs && fs.bavail * fs.bsize < a.stored.size) throw noSpace(fs.bavail * fs.bsize);
  await removeAbandonedCopies(base);
  const dir = await mkdtemp(join(base, `${COPY_PREFIX}${ownerTag()}`));
  const onExit = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', onExit);
  const remove = async () => {
    process.off('exit', onExit);
    await rm(dir, { recursive: true, force: true });
  };
  const path = join(dir, 'artifact');
  try {
    const source = await dest.get(objectKey(backupId, a.key));
    const check = expectDigest(a.stored, mismatch('stored object', where, a.stored));
    await withProgress(show?.progress, { label: show?.label ?? '', total: a.stored.size, done: () => check.size }, () =>
      pipeline(source, check, createWriteStream(path, { flags: 'wx', mode: 0o600 }), { signal: cancelSignal() }),
    );
  } catch (err) {
    await remove();
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw noSpace();
    throw err;
  }
  return { path, remove };
}

const COPY_PREFIX = 'strongbox-restore-';

/**
 * A restore killed with `kill -9` cannot remove its verified copy (a whole artifact, encrypted):
 * the next restore does, once the process that made it is gone on this machine.
 */
async function removeAbandonedCopies(base: string): Promise<void> {
  const names = await readdir(base).catch(() => [] as string[]);
  for (const n of names) {
    if (!n.startsWith(COPY_PREFIX) || ownerState(n.slice(COPY_PREFIX.length)).state !== 'gone') continue;
    await rm(join(base, n), { recursive: true, force: true }).catch(() => {});
  }
}

const mib = (n: number) => `${(n / (1 << 20)).toFixed(1)} MiB`;

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
