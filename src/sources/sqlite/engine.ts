import { StrongboxError } from '../../shared/errors.js';
import { cliEngine, cliAvailable } from './cli-engine.js';
import { loadNodeSqlite, nodeEngine } from './node-engine.js';

/**
 * Two ways to talk to SQLite without a native addon (the actions run from a bundled dist/):
 * Node's own `node:sqlite` where it has `backup()` (Node 24, the actions' runtime), else the
 * `sqlite3` command-line shell (on GitHub's runners; `apt-get install sqlite3`). Both run the
 * same SQL (sql.ts). STRONGBOX_SQLITE_ENGINE=node|cli forces one (tests run both).
 */

/** How a database file is opened. */
export type OpenMode =
  /** The user's live database: never written to (SQLite may create an empty -wal/-shm in WAL mode). */
  | 'readonly'
  /** A private file no one else can see (our copy, a staging file): no locks, no -wal/-shm. */
  | 'immutable'
  /** Settling a restore target: SQLite checkpoints its WAL / rolls back a hot journal, then removes them on close. */
  | 'readwrite';

export interface QueryOptions {
  mode: OpenMode;
  /** How long to wait for a lock another connection holds. */
  busyTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface BackupResult {
  /** The source's journal mode as the snapshot saw it (`wal`, or `delete` for a rollback journal). */
  journalMode: string;
}

export interface SqliteEngine {
  name: 'node' | 'cli';
  /** For the manifest: `node:sqlite backup` or `sqlite3 .backup`. */
  method: string;
  version(): Promise<string>;
  /**
   * Copies the database `source` into the new file `dest` with SQLite's online backup API,
   * inside one read transaction: the copy is one consistent snapshot however other processes
   * write meanwhile (in WAL mode they go on writing; with a rollback journal their commits wait
   * for the copy, like for any reader).
   */
  backup(source: string, dest: string, opts: { busyTimeoutMs: number; signal: AbortSignal }): Promise<BackupResult>;
  /** Runs each statement and returns its rows, every value as text (NULL as ''). */
  query(db: string, statements: string[], opts: QueryOptions): Promise<string[][][]>;
  /** Rows the statement returns, counted as they arrive (never held in memory). */
  countRows(db: string, sql: string, opts: QueryOptions): Promise<number>;
}

export type EngineChoice = 'node' | 'cli' | 'auto';

export const ENGINE_ENV = 'STRONGBOX_SQLITE_ENGINE';

export function engineChoice(env: NodeJS.ProcessEnv = process.env): EngineChoice {
  const raw = (env[ENGINE_ENV] ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'auto') return 'auto';
  if (raw === 'node' || raw === 'cli') return raw;
  throw new StrongboxError(`${ENGINE_ENV} must be node, cli or auto, not ${JSON.stringify(raw)}`, { exitCode: 2 });
}

const NODE_NEEDS = 'a Node.js whose node:sqlite has backup() (Node 24, or 23.8 and later)';
const CLI_NEEDS = 'the sqlite3 command-line shell on PATH (e.g. apt-get install sqlite3)';

let cached: Promise<SqliteEngine> | undefined;
let cachedFor: EngineChoice | undefined;

/** The engine to use: the forced one, or node:sqlite when this Node has backup(), else the sqlite3 CLI. */
export function sqliteEngine(env: NodeJS.ProcessEnv = process.env): Promise<SqliteEngine> {
  const choice = engineChoice(env);
  if (!cached || cachedFor !== choice) {
    cachedFor = choice;
    cached = pick(choice);
    cached.catch(() => (cached = undefined));
  }
  return cached;
}

async function pick(choice: EngineChoice): Promise<SqliteEngine> {
  if (choice !== 'cli') {
    const mod = await loadNodeSqlite();
    if (mod) return nodeEngine(mod);
    if (choice === 'node') {
      throw new StrongboxError(`${ENGINE_ENV}=node, but this Node.js (${process.version}) has no node:sqlite with backup()`, {
        hint: `run Strongbox on ${NODE_NEEDS}, or unset ${ENGINE_ENV} to use the sqlite3 CLI`,
      });
    }
  }
  if (await cliAvailable()) return cliEngine();
  if (choice === 'cli') {
    throw new StrongboxError(`${ENGINE_ENV}=cli, but the sqlite3 command-line shell was not found on PATH`, { hint: `install ${CLI_NEEDS}` });
  }
  throw new StrongboxError(`SQLite backups need ${NODE_NEEDS} or ${CLI_NEEDS}; this Node.js (${process.version}) has no node:sqlite backup() and sqlite3 was not found`, {
    hint: 'install the sqlite3 package (GitHub-hosted runners have it), or run on Node 24',
  });
}
