import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { cancelSignal } from '../../shared/cancel.js';
import { StoppedError, StrongboxError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import type { DumpContext, RowCounts, SourceDetails, SourceDump, SourceSpec } from '../adapter.js';
import { sqliteEngine, type SqliteEngine } from './engine.js';
import { checkSqliteSource } from './source-check.js';
import { clearSpoolLeftovers, spoolPrefix } from './staging.js';
import { INTEGRITY_SQL, TABLES_SQL, countSql, decodeHexName, integrityProblem } from './sql.js';

/**
 * A backup of an SQLite database is the database file itself, taken with SQLite's online
 * backup API inside one read transaction (engine.ts), so it is one consistent snapshot even
 * while other processes write. The copy is a disk spool, and unavoidably so: the backup API
 * writes a database file, never a stream. It goes to a private folder (mkdtemp, mode 0700) in
 * the system's temp directory, is checked there (PRAGMA integrity_check must say `ok`), its
 * rows are counted, it is streamed as the artifact, and it is removed — also when the backup
 * fails or is cancelled; one left by a backup killed with SIGKILL is removed by the next SQLite
 * backup on this machine. The temp directory needs room for one copy of the database.
 */

/** How long the copy waits for a lock a writer holds (rollback-journal mode), unless --db-lock-timeout says otherwise. */
const DEFAULT_SQLITE_LOCK_TIMEOUT_MS = 5 * 60_000;
/** Small reads keep fewer buffers alive between collections (measured: 18 MB less peak RSS than 256 KiB, as fast to /dev/null; the kernel reads ahead anyway). */
const READ_SIZE = 64 * 1024;

/** Exact rows per table, counted on the copy: the copy is the snapshot, so they are exact as of the backup. */
export async function countTables(engine: SqliteEngine, db: string, signal?: AbortSignal, listed?: string[][]): Promise<RowCounts> {
  const [names = []] = listed ? [listed] : await engine.query(db, [TABLES_SQL], { mode: 'immutable', ...(signal ? { signal } : {}) });
  const tables = names.map((r) => decodeHexName(r[0] ?? ''));
  const counts: RowCounts = {};
  if (!tables.length) return counts;
  const answers = await engine.query(db, tables.map(countSql), { mode: 'immutable', ...(signal ? { signal } : {}) });
  tables.forEach((t, i) => (counts[t] = Number(answers[i]?.[0]?.[0] ?? NaN)));
  const bad = Object.entries(counts).find(([, n]) => !Number.isSafeInteger(n));
  if (bad) throw new StrongboxError(`could not count the rows of table ${printable(bad[0])} in ${printable(db)}`);
  return counts;
}

/** integrity_check, row counts and the engine's version, on the copy; fills in `dump`. */
async function checkCopy(engine: SqliteEngine, copy: string, shown: string, count: boolean, signal: AbortSignal, ctx: DumpContext, dump: SourceDump): Promise<void> {
  let t = Date.now();
  // One engine run for the check, the page size and the table list (each run of node:sqlite is a worker thread, of the CLI a process).
  const [integrity = [], pageSize = [], tables = []] = await engine.query(copy, [INTEGRITY_SQL, 'PRAGMA page_size', TABLES_SQL], { mode: 'immutable', signal });
  const problem = integrityProblem(integrity.map((r) => r[0] ?? ''));
  if (problem) {
    throw new StrongboxError(`the SQLite database ${shown} is damaged: PRAGMA integrity_check on its copy reported:\n${printable(problem)}`, {
      hint: 'nothing was committed; repair the database first (sqlite3 FILE ".recover" writes what can be saved), or restore an earlier backup',
    });
  }
  ctx.reporter.debug(`sqlite: integrity_check ok in ${Date.now() - t} ms`);
  if (count) {
    t = Date.now();
    dump.rowCounts = await countTables(engine, copy, signal, tables);
    ctx.reporter.debug(`sqlite: counted the rows of ${Object.keys(dump.rowCounts).length} tables in ${Date.now() - t} ms`);
  }
  dump.details.pageSize = Number(pageSize[0]?.[0] ?? 0);
  dump.details.sqliteVersion = await engine.version();
}

export async function dumpSqlite(spec: SourceSpec, ctx: DumpContext): Promise<SourceDump> {
  const source = await checkSqliteSource(spec.location);
  const shown = printable(source);
  const engine = await sqliteEngine();
  const signal = cancelSignal();
  const mode = spec.options?.rowCounts ?? 'exact';
  await clearSpoolLeftovers(tmpdir(), ctx.reporter);
  const dir = await mkdtemp(spoolPrefix(tmpdir()));
  const copy = join(dir, 'copy.sqlite');
  const cleanup = () => rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
  try {
    const t = Date.now();
    const { journalMode } = await engine.backup(source, copy, { busyTimeoutMs: ctx.lockTimeoutMs ?? DEFAULT_SQLITE_LOCK_TIMEOUT_MS, signal }).catch((err: unknown) => {
      if (signal.aborted) throw err;
      throw new StrongboxError(`the copy of the SQLite database ${shown} failed: ${(err as Error).message}`, {
        hint: 'check that the file is a healthy SQLite database (sqlite3 FILE "PRAGMA integrity_check"), that no writer holds its lock longer than --db-lock-timeout, and that the temp directory has room for a copy',
        cause: err,
      });
    });
    const size = (await stat(copy)).size;
    ctx.reporter.debug(`sqlite: ${shown} copied with ${engine.method} (${size} bytes, journal mode ${journalMode}) in ${Date.now() - t} ms`);

    // The checks run while the copy streams (a second reader of the same file, in another
    // process or thread): `completed` settles only after both, and rejects if a check fails,
    // so nothing is committed unless integrity_check said ok. A failing check also stops the
    // stream at once.
    const stream = createReadStream(copy, { highWaterMark: READ_SIZE });
    const stop = new AbortController();
    // Torn down before its end (a failed upload, a cancellation): the checks are pointless now.
    stream.once('close', () => stream.readableEnded || stop.abort(new StoppedError('the stream was closed before its end')));
    const details: SourceDetails = { engine: 'sqlite', path: source, sqliteVersion: '', method: engine.method, journalMode, pageSize: 0 };
    const dump: SourceDump = { stream, completed: Promise.resolve(), details, rowCountMode: mode === 'none' ? 'none' : 'exact' };
    const checks = checkCopy(engine, copy, shown, mode !== 'none', AbortSignal.any([signal, stop.signal]), ctx, dump);
    let checkFailedFirst = false;
    checks.catch((err: unknown) => {
      checkFailedFirst = !stop.signal.aborted;
      stream.destroy(err as Error);
    });
    const streamed = finished(stream).catch((err: unknown) => {
      throw new StoppedError(`the backup of ${shown} was stopped before the copy was read to its end`, { cause: err });
    });
    dump.completed = Promise.allSettled([checks, streamed]).then(async ([checked, read]) => {
      // The spool goes once nothing reads it any more, whatever happened.
      await new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once('close', () => resolve())));
      await cleanup();
      // The first failure explains the others: a failed check, or the stream torn down (which stops the checks).
      if (checked.status === 'rejected' && checkFailedFirst) throw checked.reason;
      if (read.status === 'rejected') throw read.reason;
      if (checked.status === 'rejected') throw checked.reason;
    });
    dump.completed.catch(() => {});
    return dump;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
