import { maskerFor, query, sqlString, ident } from './client.js';
import { detectTools } from './tools.js';
import { parseMysqlUrl } from './url.js';

/**
 * Scratch databases for restore drills. A missing database is created by the restore itself
 * (with the backup's character set), so "creating" one here only claims a name that does not
 * exist yet; dropping removes whatever the restore made of it.
 */

const URL_PARTS = /^((?:mysql|mariadb):\/\/[^/?#]*)(\/[^?#]*)?/i;

/** The database the URL names, or undefined when it names only a server. */
export function mysqlScratchName(url: string): string | undefined {
  const m = URL_PARTS.exec(url.trim());
  if (m && (m[2] ?? '').length <= 1) return undefined;
  return parseMysqlUrl(url, '--mysql-scratch').database;
}

export function withMysqlDatabase(url: string, name: string): string {
  const m = URL_PARTS.exec(url.trim());
  if (!m) return parseMysqlUrl(url, '--mysql-scratch').database; // refuses it
  return `${m[1]}/${encodeURIComponent(name)}${url.trim().slice(m[0].length)}`;
}

/** Never aborted: the drop is what a cancellation runs, so it must not be cancelled itself. */
const NEVER = new AbortController().signal;

async function connect(target: string, signal?: AbortSignal) {
  const t = parseMysqlUrl(target, '--mysql-scratch');
  const mask = maskerFor(target, t);
  return { t, mask, tools: await detectTools(t, mask, signal) };
}

export async function createMysqlScratch(url: string, name: string): Promise<{ target: string; created: boolean }> {
  const target = withMysqlDatabase(url, name);
  const { t, mask, tools } = await connect(target);
  const rows = await query(tools.client, t, `SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${sqlString(name)}`, { mask, database: null });
  return { target, created: rows.length === 0 };
}

export async function dropMysqlScratch(target: string): Promise<void> {
  const { t, mask, tools } = await connect(target, NEVER);
  await query(tools.client, t, `DROP DATABASE IF EXISTS ${ident(t.database)}`, { mask, database: null, signal: NEVER });
}

/** Databases whose names start with `prefix`. */
export async function listMysqlScratch(url: string, prefix: string): Promise<string[]> {
  const { t, mask, tools } = await connect(withMysqlDatabase(url, 'mysql'));
  const rows = await query(tools.client, t, `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1`, { mask, database: null });
  return rows.map((r) => r[0]!).filter((n) => n.startsWith(prefix));
}
