import type { RowCounts } from '../adapter.js';

/**
 * The SQL the adapter runs, and what it makes of the answers. Pure: both engines (node:sqlite
 * and the sqlite3 CLI) send the same text, so they cannot disagree about what is counted.
 */

/** An identifier in double quotes (`"a""b"`), safe for any table name. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The tables whose rows are counted, hex-encoded so that no name (newlines, separators) can
 * be misread from the CLI's output. Left out: SQLite's own tables (`sqlite_sequence`,
 * `sqlite_stat1`: bookkeeping, not data) and virtual tables (FTS5 and the like need their
 * module to be counted; their shadow tables are ordinary tables and are counted).
 * `sqlite_master` rather than `sqlite_schema`: the alias is only in SQLite ≥ 3.33.
 */
export const TABLES_SQL =
  "SELECT hex(name) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND coalesce(sql, '') NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name";

export function decodeHexName(hex: string): string {
  return Buffer.from(hex.trim(), 'hex').toString('utf8');
}

export function countSql(table: string): string {
  return `SELECT count(*) FROM main.${quoteIdent(table)}`;
}

/** At most this many problems are listed by integrity_check (a badly damaged file has thousands). */
export const INTEGRITY_SQL = 'PRAGMA integrity_check(20)';

/** What integrity_check found, or undefined when it said exactly `ok`. */
export function integrityProblem(rows: string[]): string | undefined {
  const lines = rows.map((r) => r.trim()).filter((r) => r.length > 0);
  if (lines.length === 1 && lines[0] === 'ok') return undefined;
  return lines.length ? lines.join('\n') : 'integrity_check returned nothing';
}

/** How the restored counts differ from the manifest's, one line per table; empty when equal. */
export function rowCountDifferences(expected: RowCounts, actual: RowCounts): string[] {
  const out: string[] = [];
  for (const name of [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort()) {
    const e = expected[name];
    const a = actual[name];
    if (e === a) continue;
    if (e === undefined) out.push(`${name}: not in the backup's manifest, ${a} rows restored`);
    else if (a === undefined) out.push(`${name}: ${e} rows in the manifest, table missing after the restore`);
    else out.push(`${name}: ${e} rows in the manifest, ${a} restored`);
  }
  return out;
}

/** An absolute path as an SQLite URI filename with `query` (https://sqlite.org/uri.html); % ? # and the rest encoded. */
export function fileUri(path: string, query: string): string {
  const encoded = path
    .split('/')
    .map((part) => encodeURIComponent(part))
    .join('/');
  return `file://${encoded.startsWith('/') ? '' : '/'}${encoded}?${query}`;
}

/** A database file opened with `immutable=1`: no locks, no -wal/-shm beside it. Only for files no one else can see. */
export function immutableUri(path: string): string {
  return fileUri(path, 'immutable=1');
}

/** A database opened read-write that must already exist (`mode=rw` never creates one). */
export function existingUri(path: string): string {
  return fileUri(path, 'mode=rw');
}
