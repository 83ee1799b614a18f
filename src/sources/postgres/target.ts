import { StrongboxError } from '../../shared/errors.js';
import { describe, maskerFor, psqlQuery, type PgToolPaths } from './connection.js';
import { parsePostgresUrl, type PgTarget } from './url.js';

const USER_OBJECTS_SQL = `select count(*) from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname !~ '^pg_(toast|temp_)'
    and not exists (select 1 from pg_catalog.pg_depend d
      where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')`;


export async function countUserObjects(t: PgTarget, tools: PgToolPaths, mask: (s: string) => string): Promise<number> {
  const n = parseInt(await psqlQuery(t, USER_OBJECTS_SQL, tools, mask), 10);
  if (Number.isNaN(n)) throw new StrongboxError(`could not count the tables of ${describe(t)}`);
  return n;
}


/**
 * True when the database holds no table, view, materialized view, sequence or foreign table
 * outside the system schemas (objects that belong to an extension do not count).
 */
export async function isPostgresDatabaseEmpty(url: string, tools: PgToolPaths = {}): Promise<boolean> {
  const t = parsePostgresUrl(url);
  return (await countUserObjects(t, tools, maskerFor(url, t))) === 0;
}


/** Runs a rollback smoke check: resolves to the number of rows the statement returned. */
export async function countQueryRows(url: string, sql: string, tools: PgToolPaths = {}): Promise<number> {
  const t = parsePostgresUrl(url);
  const out = await psqlQuery(t, sql, tools, maskerFor(url, t));
  return out === '' ? 0 : out.split('\n').length;
}
