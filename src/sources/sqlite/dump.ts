import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { cancelSignal } from '../../shared/cancel.js';
import { StoppedError, StrongboxError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import type { DumpContext, RowCounts, SourceDump, SourceSpec } from '../adapter.js';
import { sqliteEngine, type SqliteEngine } from './engine.js';
import { checkSqliteSource } from './source-check.js';
import { INTEGRITY_SQL, TABLES_SQL, countSql, decodeHexName, integrityProblem } from './sql.js';

/**
 * A backup of an SQLite database is the database file itself, taken with SQLite's online
 * backup API inside one read transaction (engine.ts), so it is one consistent snapshot even
 * while other processes write. The copy is a disk spool, and unavoidably so: the backup API
 * writes a database file, never a stream. It goes to a private folder (mkdtemp, mode 0700) in
 * the system's temp directory, is checked there (PRAGMA integrity_check must say `ok`), its
 * rows are counted, and then it is streamed as the artifact and removed — also when the backup
 * fails or is cancelled. The temp directory needs room for one copy of the database.
 */

/** How long the copy waits for a lock a writer holds (rollback-journal mode), unless --db-lock-timeout says otherwise. */
export const DEFAULT_SQLITE_LOCK_TIMEOUT_MS = 5 * 60_000;
const READ_SIZE = 256 * 1024;

/** Exact rows per table, counted on the copy: the copy is the snapshot, so they are exact as of the backup. */
export async function countTables(engine: SqliteEngine, db: string, signal?: AbortSignal): Promise<RowCounts> {
  const [names = []] = await engine.query(db, [TABLES_SQL], { mode: 'immutable', ...(signal ? { signal } : {}) });
  const tables = names.map((r) => decodeHexName(r[0] ?? ''));
  const counts: RowCounts = {};
  if (!tables.length) return counts;
  const answers = await engine.query(db, tables.map(countSql), { mode: 'immutable', ...(signal ? { signal } : {}) });
  tables.forEach((t, i) => (counts[t] = Number(answers[i]?.[0]?.[0] ?? NaN)));
  const bad = Object.entries(counts).find(([, n]) => !Number.isSafeInteger(n));
  if (bad) throw new StrongboxError(`could not count the rows of table ${printable(bad[0])} in ${printable(db)}`);
  return counts;
}

export async function dumpSqlite(spec: SourceSpec, ctx: DumpContext): Promise<SourceDump> {
  const source = await checkSqliteSource(spec.location);
  const shown = printable(source);
  const engine = await sqliteEngine();
  const signal = cancelSignal();
  const mode = spec.options?.rowCounts ?? 'exact';
  const dir = await mkdtemp(join(tmpdir(), 'strongbox-sqlite-'));
  const copy = join(dir, 'copy.sqlite');
  const cleanup = () => rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
  try {
    let t = Date.now();
    const { journalMode } = await engine.backup(source, copy, { busyTimeoutMs: ctx.lockTimeoutMs ?? DEFAULT_SQLITE_LOCK_TIMEOUT_MS, signal }).catch((err: unknown) => {
      if (signal.aborted) throw err;
      throw new StrongboxError(`the copy of the SQLite database ${shown} failed: ${(err as Error).message}`, {
        hint: 'check that the file is a healthy SQLite database (sqlite3 FILE "PRAGMA integrity_check"), that no writer holds its lock longer than --db-lock-timeout, and that the temp directory has room for a copy',
        cause: err,
      });
    });
    const size = (await stat(copy)).size;
    ctx.reporter.debug(`sqlite: ${shown} copied with ${engine.method} (${size} bytes, journal mode ${journalMode}) in ${Date.now() - t} ms`);

    t = Date.now();
    const [integrity = [], pageSize = []] = await engine.query(copy, [INTEGRITY_SQL, 'PRAGMA page_size'], { mode: 'immutable', signal });
    const problem = integrityProblem(integrity.map((r) => r[0] ?? ''));
    if (problem) {
      throw new StrongboxError(`the SQLite database ${shown} is damaged: PRAGMA integrity_check on its copy reported:\n${printable(problem)}`, {
        hint: 'nothing was committed; repair the database first (sqlite3 FILE ".recover" writes what can be saved), or restore an earlier backup',
      });
    }
    ctx.reporter.debug(`sqlite: integrity_check ok in ${Date.now() - t} ms`);

    let rowCounts: RowCounts | undefined;
    if (mode !== 'none') {
      t = Date.now();
      rowCounts = await countTables(engine, copy, signal);
      ctx.reporter.debug(`sqlite: counted the rows of ${Object.keys(rowCounts).length} tables in ${Date.now() - t} ms`);
    }
    const sqliteVersion = await engine.version();
    signal.throwIfAborted();

    const stream = createReadStream(copy, { highWaterMark: READ_SIZE });
    // The spool goes as soon as the stream is done with it, read to its end or torn down.
    const removed = new Promise<void>((resolve) => stream.once('close', () => void cleanup().then(resolve)));
    const completed = finished(stream)
      .catch((err: unknown) => {
        throw new StoppedError(`the backup of ${shown} was stopped before the copy was read to its end`, { cause: err });
      })
      .finally(() => removed);
    completed.catch(() => {});
    return {
      stream,
      completed,
      details: { engine: 'sqlite', path: source, sqliteVersion, method: engine.method, journalMode, pageSize: Number(pageSize[0]?.[0] ?? 0) },
      ...(rowCounts ? { rowCounts } : {}),
      // Exact even when an estimate was asked for: counting the copy is cheap and nothing else is cheaper.
      rowCountMode: mode === 'none' ? 'none' : 'exact',
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
