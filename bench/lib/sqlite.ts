import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';

/**
 * The SQLite case's database: one table shaped like the PostgreSQL case's (a timestamp, short
 * repetitive text, 256 bytes of SHA-3-derived bytes per row: deterministic, from the sqlite3
 * shell's own sha3()), plus an index, in WAL mode as applications usually run it. The input MB
 * of the case is the database file's size (the artifact's plaintext is the file itself).
 */
export interface SqliteBench {
  path: string;
  rows: number;
  sizeBytes: number;
}

export function sqliteAvailable(): boolean {
  return spawnSync('sqlite3', ['-version']).status === 0;
}

export function createBenchSqlite(path: string, rows: number): SqliteBench {
  for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
  const sql = `PRAGMA journal_mode=WAL;
PRAGMA synchronous=OFF;
CREATE TABLE events (id INTEGER PRIMARY KEY, created TEXT NOT NULL, kind TEXT NOT NULL, note TEXT, payload BLOB);
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ${rows})
INSERT INTO events SELECT i, datetime(1704067200 + i, 'unixepoch'),
  (CASE i % 6 WHEN 0 THEN 'order' WHEN 1 THEN 'invoice' WHEN 2 THEN 'refund' WHEN 3 THEN 'login' WHEN 4 THEN 'logout' ELSE 'upload' END),
  'customer ' || (i % 5000) || ' ' || hex(sha3(i % 997, 256)) || ' status ' || (CASE i % 3 WHEN 0 THEN 'ok' WHEN 1 THEN 'failed' ELSE 'queued' END),
  sha3(i, 512) || sha3(-i, 512) || sha3(i + 1000000000, 512) || sha3(-i - 1000000000, 512)
FROM g;
CREATE INDEX events_kind ON events(kind, created);
PRAGMA wal_checkpoint(TRUNCATE);
`;
  const r = spawnSync('sqlite3', ['-bail', '-batch', '-init', '/dev/null', path], { input: sql, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sqlite3 failed creating ${path}: ${r.stderr.trim()}`);
  return { path, rows, sizeBytes: statSync(path).size };
}
