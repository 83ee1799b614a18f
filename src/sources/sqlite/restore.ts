import { createWriteStream } from 'node:fs';
import { chmod, chown, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cancelSignal } from '../../shared/cancel.js';
import { RefusedError, StrongboxError, VerificationError, errorMessage } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { printable } from '../../shared/text.js';
import type { RestoreArtifact, TargetContext } from '../adapter.js';
import { countTables } from './dump.js';
import { sqliteEngine, type SqliteEngine } from './engine.js';
import { SQLITE_MAGIC, headerProblem, sidecars } from './header.js';
import { INTEGRITY_SQL, integrityProblem, rowCountDifferences } from './sql.js';
import { clearStagingLeftovers, stagingPath } from './staging.js';
import { processesUsing, type InUseCheck } from './in-use.js';
import { checkSqliteTarget, isSqliteTargetEmpty, refuseInUse, targetFile } from './target.js';

/**
 * A restore writes the backup to a staging file beside the target (same directory, so the
 * final rename is atomic), proves it (the SQLite header, PRAGMA integrity_check `ok`, row
 * counts equal to the manifest's) and only then puts it in place. Until that moment the target
 * is untouched; a failed, cancelled or killed restore leaves it as it was (after SIGKILL, only
 * the staging file remains, removed by the next restore of the same target).
 *
 * Putting it in place, when a database is already there (`--force`):
 * 1. the target's own SQLite files are settled: opened read-write once, so SQLite checkpoints
 *    its -wal into it (or rolls back a hot -journal) and removes the -wal and -shm on close —
 *    the old database stays whole and self-contained, and nothing of it is left by name;
 * 2. any -wal, -shm or -journal still beside it is removed: a stale -wal next to the new file
 *    would be replayed into it on the next open and corrupt it. A non-empty -wal that survived
 *    the settling means another connection has the database open: refused, nothing replaced;
 * 3. rename(staging, target): atomic, so the path always names a whole database, the old one
 *    until this instant and the new one after; then the directory is fsynced.
 * A crash before 3 leaves the old database (settled, i.e. logically unchanged); after 3, the
 * new one. The window between 2 and 3 is the only one in which a process that opens the old
 * database could create a -wal the new file would inherit; the restore refuses to start while
 * any process has the database open (in-use.ts), so only one starting in that instant can.
 */

class HeaderCheck extends Transform {
  private head = Buffer.alloc(0);
  private checked = false;
  constructor(private readonly where: string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.checked) return cb(null, chunk);
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length < SQLITE_MAGIC.length) return cb();
    const problem = headerProblem(this.head);
    if (problem) return cb(this.notADatabase(problem));
    this.checked = true;
    cb(null, this.head);
  }
  override _flush(cb: TransformCallback): void {
    cb(this.checked ? null : this.notADatabase(headerProblem(this.head) ?? 'too short'));
  }
  private notADatabase(problem: string): VerificationError {
    return new VerificationError(`the backup being restored into ${this.where} is not an SQLite database (${problem}); the target was left unchanged`);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;

/** SQLITE_BUSY/LOCKED from either engine: node:sqlite's errcode (on the error or its cause), or the CLI's message. */
export function isLockError(err: unknown): boolean {
  for (let e = err as { errcode?: unknown; message?: unknown; cause?: unknown } | undefined; e && typeof e === 'object'; e = e.cause as typeof e) {
    if (e.errcode === SQLITE_BUSY || e.errcode === SQLITE_LOCKED) return true;
    if (typeof e.message === 'string' && /database (table )?is locked|database is busy/i.test(e.message)) return true;
  }
  return false;
}

/** SQLITE_CORRUPT (11) or SQLITE_NOTADB (26), by code or by the sqlite3 shell's words. */
function isCorruptError(err: unknown): boolean {
  for (let e = err as { errcode?: unknown; message?: unknown; cause?: unknown } | undefined; e && typeof e === 'object'; e = e.cause as typeof e) {
    if (typeof e.errcode === 'number' && [11, 26].includes(e.errcode & 0xff)) return true;
    if (typeof e.message === 'string' && /malformed|not a database|corrupt/i.test(e.message)) return true;
  }
  return false;
}

function inUseError(path: string, why: string): RefusedError {
  return new RefusedError(
    `the SQLite database ${printable(path)} is in use: ${why}; nothing was replaced`,
    'stop the processes using it (also those in other containers or on other hosts sharing the volume, which this check cannot list), then rerun the restore',
  );
}

/**
 * Opens the old database read-write once, so SQLite folds its -wal (or hot -journal) back
 * into it, and takes its write lock for an instant: a writer that holds a lock (even one in
 * a process the /proc scan cannot see: another container on the volume) refuses the restore.
 * False only when it is no database SQLite can open (not one, damaged): its leftovers are
 * then removed without a checkpoint, as nothing could be folded into it anyway.
 */
async function settle(engine: SqliteEngine, path: string, reporter: Reporter): Promise<boolean> {
  const head = Buffer.alloc(SQLITE_MAGIC.length);
  const fh = await open(path, 'r');
  const { bytesRead } = await fh.read(head, 0, head.length, 0).finally(() => fh.close());
  if (headerProblem(head.subarray(0, bytesRead))) return false;
  let checkpoint: string[][];
  try {
    // BEGIN EXCLUSIVE waits for (then refuses over) any writer, and in rollback-journal mode any reader, mid-transaction.
    [checkpoint = []] = await engine.query(path, ['PRAGMA wal_checkpoint(TRUNCATE)', 'BEGIN EXCLUSIVE', 'SELECT count(*) FROM sqlite_master', 'ROLLBACK'], {
      mode: 'readwrite',
      busyTimeoutMs: 2000,
      signal: new AbortController().signal,
    });
  } catch (err) {
    if (isLockError(err)) throw inUseError(path, `another connection holds its lock (${printable(errorMessage(err))})`);
    // Only a damaged database may lose its leftovers unfolded; any other failure (read-only
    // file, I/O error, disk full during the checkpoint) would drop committed -wal transactions.
    if (!isCorruptError(err)) {
      throw new RefusedError(
        `could not open the existing SQLite database ${printable(path)} read-write to fold its -wal/-journal back in (${printable(errorMessage(err))}); nothing was replaced`,
        'make the file and its folder writable by this user (or free disk space), then rerun; removing its -wal unfolded would lose committed transactions',
      );
    }
    reporter.debug(`could not open the old ${printable(path)} to checkpoint it (${errorMessage(err)}); its -wal/-shm/-journal are removed without it`);
    return false;
  }
  if (checkpoint[0]?.[0] === '1') throw inUseError(path, 'its write-ahead log could not be checkpointed');
  return true;
}

async function swapIn(engine: SqliteEngine, staging: string, path: string, reporter: Reporter, inUse: InUseCheck): Promise<void> {
  const side = sidecars(path);
  const settled = (await exists(path)) && (await settle(engine, path, reporter));
  if (settled) {
    const wal = await stat(side.wal).catch(() => undefined);
    if (wal && wal.size > 0) {
      throw inUseError(path, 'its -wal is still there after a checkpoint, so another connection has it open');
    }
  }
  await refuseInUse(path, path, inUse);
  for (const f of [side.wal, side.shm, side.journal]) await rm(f, { force: true });
  await rename(staging, path);
  const dir = await open(dirname(path), 'r');
  await dir.sync().catch(() => {}).finally(() => dir.close());
}

export async function restoreSqlite(input: Readable, target: string, artifact: RestoreArtifact, ctx: TargetContext, inUse: InUseCheck = processesUsing): Promise<void> {
  const path = await targetFile(target);
  const shown = printable(target);
  const signal = cancelSignal();
  await checkSqliteTarget(target, undefined, inUse);
  const before = await stat(path).catch(() => undefined);
  if (!ctx.force && !(await isSqliteTargetEmpty(target))) {
    throw new RefusedError(`the SQLite target ${shown} already holds a database (${before?.size ?? 0} bytes); nothing was changed`, 'rerun with --force to replace it with the backup (the old file is kept until the new one is in place)');
  }
  const engine = await sqliteEngine();
  await clearStagingLeftovers(path, ctx.reporter);
  signal.throwIfAborted();

  const staging = stagingPath(path);
  try {
    // Private until it is proven: the old file's mode and owner are given to it only then.
    await pipeline(input, new HeaderCheck(shown), createWriteStream(staging, { flags: 'wx', mode: 0o600 }), { signal });
    const fh = await open(staging, 'r+');
    await fh.sync().finally(() => fh.close());

    const [integrity = []] = await engine.query(staging, [INTEGRITY_SQL], { mode: 'immutable', signal });
    const problem = integrityProblem(integrity.map((r) => r[0] ?? ''));
    if (problem) throw new VerificationError(`the restored copy of ${shown} failed PRAGMA integrity_check; ${shown} was left unchanged:\n${printable(problem)}`, 'the backup is damaged: restore an earlier one');

    const compare = !!artifact.rowCounts && artifact.rowCountMode !== 'estimate' && artifact.rowCountMode !== 'none';
    if (compare) {
      const diff = rowCountDifferences(artifact.rowCounts!, await countTables(engine, staging, signal));
      if (diff.length) {
        throw new VerificationError(`the restored copy of ${shown} does not have the row counts its manifest records; ${shown} was left unchanged:\n${diff.map(printable).join('\n')}`, 'the backup or its manifest was altered or damaged: restore an earlier backup');
      }
    }
    if (before) {
      await chmod(staging, before.mode & 0o7777);
      // Root restoring a service's database: the service must still own it.
      if (process.getuid?.() === 0) await chown(staging, before.uid, before.gid).catch(() => {});
    }
    signal.throwIfAborted();
    await swapIn(engine, staging, path, ctx.reporter, inUse);
    const proven = compare ? 'integrity_check ok, row counts equal to the manifest' : 'integrity_check ok';
    ctx.reporter.info(before ? `replaced ${shown} with the backup (${proven})` : `restored ${shown} (${proven})`);
  } catch (err) {
    if (signal.aborted) throw signal.reason; // the cancellation, not how it surfaced (an AbortError, a killed sqlite3)
    if (err instanceof StrongboxError) throw err;
    throw new StrongboxError(`the restore of ${shown} failed: ${printable(errorMessage(err))}; ${shown} was left unchanged`, { cause: err });
  } finally {
    await rm(staging, { force: true }).catch(() => {});
  }
}
