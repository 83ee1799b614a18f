import { pipeline } from 'node:stream/promises';
import { objectName } from '../destinations/types.js';
import type { Readable } from 'node:stream';
import { createEncryptStream, type EncryptOptions } from '../codecs/age/index.js';
import { compressionExtension, createCompressor } from '../codecs/compress.js';
import { HashingStream } from '../codecs/hash.js';
import type { Destination, PutResult } from '../destinations/types.js';
import type { ArtifactKind, SizeEstimate, SourceDump } from '../sources/adapter.js';
import { printable } from '../shared/text.js';
import { cancelSignal } from '../shared/cancel.js';
import { LockedError, StoppedError, StrongboxError, errorMessage } from '../shared/errors.js';
import { NoOutputLeftError, fanOut, type FanOut } from './fan-out.js';
import type { Reporter } from '../shared/reporter.js';
import { withProgress, type Progress } from '../shared/progress.js';
import { objectKey } from './repository.js';
import { formatBytes } from '../shared/format.js';
import type { ArtifactRecord, Compression } from './types.js';

export interface ArtifactPlan {
  name: string;
  kind: ArtifactKind;
  /** Extension of the plaintext, e.g. `.dump` or `.tar`. */
  extension: string;
  open(): Promise<SourceDump> | SourceDump;
  /** The adapter's size estimate, asked only when progress is shown (src/sources/adapter.ts). */
  estimate?(): Promise<SizeEstimate | undefined>;
}

export interface WriteContext {
  backupId: string;
  /** The destinations still in the backup. */
  destinations: Destination[];
  /**
   * Called when one destination fails (upload or read-back): it is dropped and the others go
   * on. Throws (and so fails this artifact) when none is left, or on a cancellation.
   */
  drop(dest: Destination, err: unknown): void;
  compression: { algorithm: Compression; level?: number };
  /** undefined only when the user asked for --unencrypted. */
  encryption?: EncryptOptions;
  /** 'hash' reads every stored object back and checks its SHA-256; 'size' only checks sizes. */
  confirm: 'hash' | 'size';
  reporter: Reporter;
  /** Resolves when `dest` may be written (its lock held: DestinationRun.ready); none: at once. */
  ready?(dest: Destination): Promise<void>;
}

/**
 * Streams one source to every destination: source → SHA-256 (plaintext) → compress → age →
 * SHA-256 (stored) → fan-out → destination uploads, all under one backpressured pipeline.
 * A destination whose upload or read-back fails is handed to `ctx.drop` and detached from
 * the fan-out, releasing its backpressure, while the others keep going. Resolves when the
 * producer succeeded and at least one destination's copy is confirmed; a source failure (or
 * every destination failing) rejects.
 */
export async function writeArtifact(plan: ArtifactPlan, ctx: WriteContext): Promise<ArtifactRecord> {
  const { algorithm, level } = ctx.compression;
  const key = `${plan.name}${plan.extension}${compressionExtension(algorithm)}${ctx.encryption ? '.age' : ''}`;
  const fullKey = objectKey(ctx.backupId, key);
  // The estimate (a tree's stat walk, a catalog query) runs beside the dump, never before it:
  // progress gains its total when the estimate arrives, and the backup never waits for it.
  const task: StoreTask = { label: `backup ${printable(plan.name)}`, total: undefined };
  if (ctx.reporter.progress && plan.estimate) void estimateOf(plan, ctx.reporter).then((t) => (task.total = t));
  const dump = await plan.open();
  const { plaintext, stored } = await storeObject(dump, fullKey, ctx, { threads: zstdThreads(plan.kind), task });
  const record: ArtifactRecord = {
    name: plan.name,
    kind: plan.kind,
    key,
    source: dump.details,
    ...(dump.rowCounts && dump.rowCountMode !== 'none' ? { rowCounts: dump.rowCounts, rowCountMode: dump.rowCountMode ?? 'exact' } : {}),
    compression: level === undefined ? { algorithm } : { algorithm, level },
    encryption: { scheme: ctx.encryption ? 'age' : 'none' },
    plaintext,
    stored,
  };
  ctx.reporter.info(
    `  ${plan.name}: ${formatBytes(record.plaintext.size)} → ${formatBytes(stored.size)} stored as ${key}`,
  );
  return record;
}

/** A progress line for a store: its total may arrive while the store runs. */
export interface StoreTask {
  label: string;
  total: number | undefined;
}

/** What a store wrote: the plaintext's and the stored bytes' checksums, and where it is confirmed. */
export interface StoredObject {
  plaintext: { size: number; sha256: string };
  stored: { size: number; sha256: string };
  /** The destinations holding a confirmed copy (the others were handed to ctx.drop). */
  confirmed: Destination[];
}

/**
 * Streams one producer to every destination under `fullKey`: source → SHA-256 (plaintext) →
 * compress → age → SHA-256 (stored) → fan-out → destination uploads, all under one
 * backpressured pipeline. A destination whose upload or read-back fails is handed to
 * `ctx.drop` and detached from the fan-out, releasing its backpressure, while the others keep
 * going. Resolves when the producer succeeded and at least one destination's copy is
 * confirmed; a source failure (or every destination failing) rejects. Shared by single-stream
 * artifacts and collection packs and indexes.
 */
export async function storeObject(
  dump: { stream: Readable; completed?: Promise<void> },
  fullKey: string,
  ctx: Omit<WriteContext, 'backupId'>,
  opts: { threads?: 1 | 2; task?: StoreTask; confirm?: boolean } = {},
): Promise<StoredObject> {
  const { algorithm, level } = ctx.compression;
  const dests = [...ctx.destinations];
  // One per upload, so a failed destination's multipart upload is aborted alone.
  const aborts = dests.map(() => new AbortController());
  const completed = dump.completed ?? Promise.resolve();

  // Every stage is built before the pipeline runs. One that throws while being built (the
  // encryptor refusing its key after zstd was spawned) must still tear down the ones already
  // made: a live zstd child or dump process otherwise keeps the process alive forever.
  const built: Stage[] = [dump.stream];
  let stages: (Readable | NodeJS.WritableStream)[];
  let plainHash: HashingStream, storedHash: HashingStream, fan: FanOut;
  try {
    const made = <T extends Stage | undefined>(s: T): T => (s && built.push(s), s);
    plainHash = made(new HashingStream());
    storedHash = made(new HashingStream());
    const compressor = made(createCompressor(algorithm, level, { threads: opts.threads ?? 1 }));
    const encryptor = made(ctx.encryption ? createEncryptStream(ctx.encryption) : undefined);
    fan = fanOut(dests.length);
    made(fan.input);
    stages = [dump.stream, plainHash, compressor, encryptor, storedHash, fan.input].filter(
      (s): s is NonNullable<typeof s> => s !== undefined,
    );
  } catch (err) {
    for (const s of built) s.on('error', () => {}).destroy(); // nobody reads them: their teardown errors are noise
    await completed.catch(() => {}); // the dump's own failure only reports this teardown
    throw err;
  }

  // The first failure of the source side tears everything down (killing the dump, aborting
  // every upload); the uploads' errors after that are only its echo.
  const teardown = () => {
    for (const a of aborts) a.abort();
    dump.stream.destroy();
    for (const s of stages) (s as Readable).destroy();
  };
  /** The fan-out's input was torn down by the source side (not by its last reader leaving). */
  const sourceDown = () => {
    const e = fan.input.errored;
    return !!e && !(e instanceof NoOutputLeftError);
  };
  const sourceErrors: unknown[] = [];
  const uploadErrors = new Map<number, unknown>();
  const source = [
    // A cancellation destroys every stage (stopping the dump and zstd) and so fails this task.
    pipeline(stages as unknown as [Readable, ...NodeJS.WritableStream[]], { signal: cancelSignal() }),
    completed,
  ].map((t) =>
    t.catch((err: unknown) => {
      if (sourceErrors.push(err) === 1 && !fan.allDetached) teardown();
    }),
  );
  // Until a destination's lock is held its output waits, holding the pipeline back (bounded).
  const uploads: Promise<PutResult | false>[] = dests.map((dest, i) =>
    (ctx.ready?.(dest) ?? Promise.resolve()).then(() => dest.put(fullKey, fan.outputs[i]!, { signal: aborts[i]!.signal, readBack: opts.confirm !== false && ctx.confirm === 'hash' })).then(
      (put) => put,
      (err: unknown) => {
        if (sourceDown()) return false;
        if (err instanceof LockedError) {
          // The lock was not won after all: that destination is dropped with the lock's own error (exit 6).
          aborts[i]!.abort();
          fan.detach(i, err);
          uploadErrors.set(i, err);
          return false;
        }
        // This destination's own failure: detach it at once, so its backpressure no longer
        // holds the stream, and let the others carry on.
        aborts[i]!.abort();
        fan.detach(i, err);
        uploadErrors.set(i, new StrongboxError(`upload of ${fullKey} to ${dest.display} failed: ${errorMessage(err)}`, {
          cause: err,
          hint: (err instanceof StrongboxError && err.hint) || `the backup was not committed at ${dest.display}; check that it is reachable, has room and accepts writes`,
        }));
        return false;
      },
    ),
  );
  // Plaintext bytes read from the source: the counter the hash stage keeps anyway.
  const task = opts.task;
  const shown = task && ctx.reporter.progress?.start({ label: task.label, get total() { return task.total; }, done: () => plainHash.size });
  const [uploaded] = await Promise.all([Promise.all(uploads), ...source]).finally(() => shown?.end());
  // Every destination gone is what stopped the source then, not a fault of the source.
  if (sourceErrors.length && !fan.allDetached) throw sourceCause(sourceErrors);
  for (const [i, err] of uploadErrors) ctx.drop(dests[i]!, err); // throws once none is left

  const stored = storedHash.result;
  const confirmed: Destination[] = [];
  for (const [i, dest] of dests.entries()) {
    const put = uploaded[i];
    if (!put) continue;
    if (opts.confirm === false) {
      confirmed.push(dest);
      continue;
    }
    try {
      await confirmStored(dest, fullKey, stored, ctx.confirm, ctx.reporter.progress, put.readBack);
      confirmed.push(dest);
    } catch (err) {
      ctx.drop(dest, err);
    }
  }
  return { plaintext: plainHash.result, stored, confirmed };
}

/**
 * Two zstd threads where our side of the stream is cheap: an SQLite spool is a file read (its
 * checks run in their own process or thread), so zstd -3 becomes the critical path and a second
 * thread shortens it (bench/README.md). node-tar (files) keeps our main thread busy, and a
 * database dump tool and its server already take the other core, so those keep one.
 */
export function zstdThreads(kind: string): 1 | 2 {
  return kind === 'sqlite' ? 2 : 1;
}

/** How long an estimate may take before progress gives up on a total. */
const ESTIMATE_WAIT_MS = 15_000;

/**
 * An estimate that fails (no psql on PATH, a permission) or is slow only costs the ETA, never
 * the backup: it runs beside the dump, and after ESTIMATE_WAIT_MS progress stops waiting for it.
 */
async function estimateOf(plan: ArtifactPlan, reporter: Reporter): Promise<number | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ESTIMATE_WAIT_MS);
    timer.unref();
  });
  try {
    return (await Promise.race([plan.estimate!(), late]))?.bytes;
  } catch (err) {
    reporter.debug(`no size estimate for ${plan.name}: ${errorMessage(err)}`);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

type Stage = { on(event: 'error', listener: () => void): Stage; destroy(): unknown };

/** An error that only reports being torn down after something else failed. */
function isConsequence(e: unknown): boolean {
  return e instanceof StoppedError || (e as { code?: string })?.code === 'ERR_STREAM_PREMATURE_CLOSE' || (e as Error)?.name === 'AbortError';
}

/**
 * The error that best explains a source failure: the teardown after the first one makes the
 * other stages fail too, in an order the event loop decides, so skip errors that only say
 * "stopped" or "closed early".
 */
function sourceCause(errors: unknown[]): unknown {
  return errors.find((e) => !isConsequence(e)) ?? errors[0];
}

/**
 * Proves the destination holds exactly what we sent before the manifest may refer to it. A
 * put that read the object back itself (`readBack`, a local folder) is checked on that;
 * otherwise the object is read again and hashed here.
 */
export async function confirmStored(
  dest: Destination,
  key: string,
  expected: { size: number; sha256: string },
  mode: 'hash' | 'size',
  progress?: Progress,
  readBack?: PutResult['readBack'],
): Promise<void> {
  const info = await dest.stat(key);
  if (!info) throw new StrongboxError(`${objectName(dest, key)} is missing right after its upload`, { hint: 'check the destination; the backup was not committed' });
  if (info.size !== expected.size) {
    throw new StrongboxError(
      `${objectName(dest, key)} holds ${info.size} bytes but ${expected.size} were uploaded`,
      { hint: 'the destination did not store the object faithfully; the backup was not committed' },
    );
  }
  if (mode === 'size') return;
  if (readBack) return checkReadBack(dest, key, expected, readBack);
  const check = new HashingStream();
  const signal = cancelSignal();
  const stream = await dest.get(key, { signal });
  await withProgress(progress, { label: `read back ${printable(key.slice(key.lastIndexOf('/') + 1))} at ${dest.display}`, total: expected.size, done: () => check.size }, () =>
    pipeline(stream, check, async function* (source) {
      for await (const _ of source) {
        // drain
      }
    }, { signal }),
  );
  checkReadBack(dest, key, expected, check.result);
}

function checkReadBack(dest: Destination, key: string, expected: { size: number; sha256: string }, got: { size: number; sha256: string }): void {
  if (got.sha256 !== expected.sha256 || got.size !== expected.size) {
    throw new StrongboxError(
      `${objectName(dest, key)} reads back with SHA-256 ${got.sha256}, not the uploaded ${expected.sha256}`,
      { hint: 'the destination did not store the object faithfully; the backup was not committed' },
    );
  }
}

