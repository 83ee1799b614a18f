import { VerificationError } from '../../shared/errors.js';
import type { RowCounts } from '../adapter.js';
import { ident, query, sqlString, type Client } from './client.js';
import type { MysqlTarget } from './url.js';

/**
 * Row counts. A dump's exact counts are taken from the dump stream itself (dump-scanner.ts):
 * the rows its INSERTs hold are by construction the rows its own `--single-transaction`
 * snapshot saw, with no second snapshot, no extra scan of the tables and no lock (a separate
 * `START TRANSACTION WITH CONSISTENT SNAPSHOT` session would see a different moment; FLUSH
 * TABLES WITH READ LOCK needs RELOAD and stalls writers). `estimate` records
 * information_schema's TABLE_ROWS (InnoDB's sampled estimate, free); `none` records nothing.
 * After a restore the staging database is counted exactly (COUNT(*) per table).
 */

export interface TableInfo {
  name: string;
  /** BASE TABLE, VIEW, SEQUENCE (MariaDB), SYSTEM VERSIONED. */
  type: string;
  engine: string;
  rows: number;
}

export interface SchemaInfo {
  exists: boolean;
  characterSet?: string;
  collation?: string;
  tables: TableInfo[];
}

export async function readSchema(client: Client, t: MysqlTarget, mask: (s: string) => string, database = t.database, signal?: AbortSignal): Promise<SchemaInfo> {
  const rows = await query(
    client,
    t,
    `SELECT 'S', DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME, '' FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${sqlString(database)}
     UNION ALL
     SELECT 'T', TABLE_NAME, TABLE_TYPE, CONCAT(IFNULL(ENGINE, ''), '/', IFNULL(TABLE_ROWS, 0)) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${sqlString(database)}`,
    { mask, database: null, ...(signal ? { signal } : {}) },
  );
  const info: SchemaInfo = { exists: false, tables: [] };
  for (const r of rows) {
    if (r[0] === 'S') {
      info.exists = true;
      info.characterSet = r[1];
      info.collation = r[2];
    } else if (r[0] === 'T') {
      const [engine = '', n = '0'] = (r[3] ?? '').split('/');
      // SYSTEM VERSIONED tables are base tables with history.
      info.tables.push({ name: r[1]!, type: r[2] === 'SYSTEM VERSIONED' ? 'BASE TABLE' : r[2]!, engine, rows: Number(n) || 0 });
    }
  }
  info.tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return info;
}

/** Exact rows of each table, one statement (one snapshot) for all. */
export async function countRows(client: Client, t: MysqlTarget, database: string, tables: string[], mask: (s: string) => string): Promise<RowCounts> {
  const counts: RowCounts = {};
  if (!tables.length) return counts;
  const sql = tables.map((n) => `SELECT ${sqlString(n)}, COUNT(*) FROM ${ident(database)}.${ident(n)}`).join('\nUNION ALL\n');
  for (const r of await query(client, t, sql, { mask, database: null })) counts[r[0]!] = Number(r[1]);
  return counts;
}

/** Differences between the manifest's counts and the restored ones, as lines a person can read. */
export function countDifferences(expected: RowCounts, actual: RowCounts): string[] {
  const out: string[] = [];
  for (const [name, n] of Object.entries(expected)) {
    if (!(name in actual)) out.push(`table ${name}: missing (the backup recorded ${n} rows)`);
    else if (actual[name] !== n) out.push(`table ${name}: ${actual[name]} rows restored, the backup recorded ${n}`);
  }
  for (const name of Object.keys(actual)) if (!(name in expected)) out.push(`table ${name}: restored, but the backup recorded no such table`);
  return out;
}

export function countMismatch(where: string, diffs: string[]): VerificationError {
  const shown = diffs.slice(0, 10).join('; ') + (diffs.length > 10 ? `; and ${diffs.length - 10} more` : '');
  return new VerificationError(`the restored rows do not match the backup's manifest (${shown}); ${where} was left unchanged`, 'the backup may be damaged or was made by a dump the restore does not read the same way; try an older backup, and report this');
}
