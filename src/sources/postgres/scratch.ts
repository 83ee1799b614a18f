import { NEVER, maskerFor, psqlQuery } from './connection.js';
import { parsePostgresUrl } from './url.js';

/**
 * Scratch databases for restore drills: a URL naming only a server (`postgres://u@host:5432/`)
 * gets a fresh database; one naming a database that does not exist yet gets that name. Created and dropped through
 * the `postgres` maintenance database, with the URL's own credentials.
 */

const URL_PARTS = /^(postgres(?:ql)?:\/\/[^/?#]*)([^?#]*)((?:\?[^#]*)?)/i;

/** The database the URL names (path or `?dbname=`), or undefined when it names only a server. */
export function postgresScratchName(url: string): string | undefined {
  const m = URL_PARTS.exec(url.trim());
  if (!m) return parsePostgresUrl(url).database; // refuses it, without echoing the URL
  if (m[2]!.length > 1 || /[?&]dbname=[^&]/.test(m[3]!)) return parsePostgresUrl(url).database;
  return undefined;
}

/** The same server and credentials, database `name`. */
export function withPostgresDatabase(url: string, name: string): string {
  const m = URL_PARTS.exec(url.trim());
  if (!m) return parsePostgresUrl(url).connectionUrl;
  const query = m[3]!.replace(/([?&])dbname=[^&]*&?/, '$1').replace(/[?&]$/, '');
  return `${m[1]}/${encodeURIComponent(name)}${query}${url.trim().slice(m[0].length)}`;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

function maintenance(url: string) {
  const admin = withPostgresDatabase(url, 'postgres');
  const t = parsePostgresUrl(admin);
  return { t, mask: maskerFor(admin, t) };
}

export async function createPostgresScratch(url: string, name: string): Promise<{ target: string; created: boolean }> {
  const { t, mask } = maintenance(url);
  const target = withPostgresDatabase(url, name);
  const exists = await psqlQuery(t, `select 1 from pg_catalog.pg_database where datname = ${quoteLiteral(name)}`, {}, mask);
  if (exists === '1') return { target, created: false };
  await psqlQuery(t, `CREATE DATABASE ${quoteIdent(name)}`, {}, mask);
  return { target, created: true };
}

/**
 * Drops it even while a (killed) restore's session still holds it, and also after a
 * cancellation: the drop is the cleanup that cancellation runs, so it is not itself cancelled.
 */
export async function dropPostgresScratch(target: string): Promise<void> {
  const name = parsePostgresUrl(target).database;
  const { t, mask } = maintenance(target);
  await psqlQuery(t, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`, {}, mask, NEVER);
}

/** Databases whose names start with `prefix` (`_` and `%` taken literally). */
export async function listPostgresScratch(url: string, prefix: string): Promise<string[]> {
  const { t, mask } = maintenance(url);
  const like = prefix.replace(/[\\_%]/g, (c) => `\\${c}`);
  const out = await psqlQuery(t, `select datname from pg_catalog.pg_database where datname like ${quoteLiteral(like + '%')} order by 1`, {}, mask);
  return out.split('\n').filter(Boolean);
}
