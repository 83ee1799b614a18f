import { StrongboxError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import type { BackupResult, OpenMode, QueryOptions, SqliteEngine } from './engine.js';
import { existingUri, immutableUri } from './sql.js';
import { runInWorker, type WorkerJob } from './node-worker.js';

/**
 * The engine on a Node.js with `node:sqlite` and its `backup()` (Node 24). Loaded with a
 * dynamic import of a computed name, so Node 20 (and the bundler) never resolve it up front.
 *
 * The backup's steps run on libuv's thread pool (node:sqlite's backup()); queries, which
 * node:sqlite only has synchronously, run in a worker thread (node-worker.ts).
 */

interface Statement {
  all(): Record<string, unknown>[];
  iterate(): Iterable<Record<string, unknown>>;
}
interface Database {
  exec(sql: string): void;
  prepare(sql: string): Statement;
  close(): void;
}
export interface NodeSqlite {
  DatabaseSync: new (path: string, options?: { readOnly?: boolean }) => Database;
  backup(db: Database, path: string, options?: { rate?: number; progress?: (p: { totalPages: number; remainingPages: number }) => void }): Promise<number>;
}

const SPECIFIER = 'node:sqlite';
/** Pages copied per backup step (4 MiB at the default page size); each step ends by checking for a cancellation. */
const PAGES_PER_STEP = 1024;
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
/** The longest a synchronous call may wait for a lock on the main thread; longer waits retry asynchronously. */
const SYNC_BUSY_MS = 200;

/**
 * Some Node versions print "ExperimentalWarning: SQLite is an experimental feature" on the
 * first import. That one warning is dropped, while importing only; every other warning passes.
 */
export function withoutSqliteWarning<T>(load: () => Promise<T>): Promise<T> {
  const original = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const type = typeof rest[0] === 'string' ? rest[0] : ((rest[0] as { type?: string } | undefined)?.type ?? (warning instanceof Error ? warning.name : ''));
    const text = warning instanceof Error ? warning.message : String(warning);
    if (type === 'ExperimentalWarning' && /sqlite/i.test(text)) return;
    return (original as (...a: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  return load().finally(() => {
    process.emitWarning = original;
  });
}

let loaded: Promise<NodeSqlite | undefined> | undefined;

/** node:sqlite when this Node has it with backup(); undefined otherwise (Node 20, 22.x without backup). */
export function loadNodeSqlite(): Promise<NodeSqlite | undefined> {
  loaded ??= withoutSqliteWarning(async () => {
    try {
      const mod = (await import(/* @vite-ignore */ SPECIFIER)) as Partial<NodeSqlite>;
      return typeof mod.backup === 'function' && typeof mod.DatabaseSync === 'function' ? (mod as NodeSqlite) : undefined;
    } catch {
      return undefined;
    }
  });
  return loaded;
}

const isBusy = (err: unknown): boolean => {
  const code = (err as { errcode?: number }).errcode;
  return code === SQLITE_BUSY || code === SQLITE_LOCKED;
};

function sqliteError(err: unknown, db: string): StrongboxError {
  const e = err as { message?: string; errstr?: string };
  return new StrongboxError(`SQLite failed on ${printable(db)}: ${printable(e.message ?? String(err))}`, { cause: err });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `step` until it does not fail with SQLITE_BUSY, for at most `timeoutMs`, sleeping between tries (the event loop stays free). */
async function untilNotBusy<T>(step: () => T, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    try {
      return step();
    } catch (err) {
      if (!isBusy(err) || Date.now() >= deadline) throw err;
    }
    await sleep(50);
  }
}

function location(db: string, mode: OpenMode): Pick<WorkerJob, 'location' | 'readOnly'> {
  if (mode === 'immutable') return { location: immutableUri(db), readOnly: true };
  // mode=rw: a settle must never create a database where there is none.
  if (mode === 'readwrite') return { location: existingUri(db), readOnly: false };
  return { location: db, readOnly: true };
}

async function inWorker(db: string, statements: string[], opts: QueryOptions, count: boolean): Promise<string[][][] | number> {
  try {
    return await runInWorker({ ...location(db, opts.mode), busyTimeoutMs: opts.mode === 'immutable' ? 0 : (opts.busyTimeoutMs ?? 0), statements, count }, opts.signal);
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw sqliteError(err, db);
  }
}

const text = (v: unknown): string => (v === null || v === undefined ? '' : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v));

export function nodeEngine(mod: NodeSqlite): SqliteEngine {
  return {
    name: 'node',
    method: 'node:sqlite backup',
    async version() {
      const db = new mod.DatabaseSync(':memory:');
      try {
        return text(Object.values(db.prepare('SELECT sqlite_version()').all()[0] ?? {})[0]);
      } finally {
        db.close();
      }
    },

    async backup(source, dest, { busyTimeoutMs, signal }): Promise<BackupResult> {
      let db: Database;
      try {
        db = new mod.DatabaseSync(source, { readOnly: true });
      } catch (err) {
        throw sqliteError(err, source);
      }
      try {
        db.exec(`PRAGMA busy_timeout = ${SYNC_BUSY_MS}`);
        // One read transaction around the whole copy: every step reads the same snapshot, so
        // writers elsewhere neither restart the backup nor make it inconsistent.
        db.exec('BEGIN');
        const journalMode = await untilNotBusy(() => text(Object.values(db.prepare('PRAGMA journal_mode').all()[0] ?? {})[0]), busyTimeoutMs, signal);
        await untilNotBusy(() => db.prepare('SELECT count(*) FROM sqlite_master').all(), busyTimeoutMs, signal);
        await mod.backup(db, dest, {
          rate: PAGES_PER_STEP,
          progress: () => signal.throwIfAborted(),
        });
        signal.throwIfAborted();
        db.exec('COMMIT');
        return { journalMode };
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        throw sqliteError(err, source);
      } finally {
        db.close();
      }
    },

    async query(path, statements, opts: QueryOptions) {
      return (await inWorker(path, statements, opts, false)) as string[][][];
    },

    async countRows(path, sql, opts) {
      return (await inWorker(path, [sql], opts, true)) as number;
    },
  };
}
