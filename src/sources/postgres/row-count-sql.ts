import { randomBytes } from 'node:crypto';
import type { RowCounts } from '../adapter.js';
import { patternToRegex, type PgScope } from './scope.js';

/**
 * The SQL that counts rows of exactly the tables whose data pg_dump dumps, keyed
 * `schema.table` (see {@link rowCountKey}), and the check a restore runs on them before its COMMIT.
 *
 * Which tables: ordinary tables and partitions (relkind 'r'; a partitioned parent holds no
 * rows itself) outside the system schemas and not belonging to an extension, selected the way
 * pg_dump selects them: with --table only the matching tables (and --schema/--exclude-schema
 * then have no effect, as in pg_dump); else those in --schema schemas, minus --exclude-schema;
 * minus --exclude-table and --exclude-table-data. A pattern without a schema matches tables
 * visible on the search path, as pg_dump's does. Unlogged tables are left out on a standby
 * (pg_dump dumps no unlogged data there). Tables pg_dump dumps data of that are not counted
 * (an extension's configuration tables) are simply not compared.
 */

const RE = 'OPERATOR(pg_catalog.~)';

function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function schemaMatch(pattern: string): string {
  // A dotted schema pattern is db.schema: its last part is the schema.
  return `n.nspname ${RE} ${literal(patternToRegex(pattern).name)} COLLATE pg_catalog.default`;
}

function tableMatch(pattern: string): string {
  const { schema, name } = patternToRegex(pattern);
  const rel = `c.relname ${RE} ${literal(name)} COLLATE pg_catalog.default`;
  return schema !== undefined ? `(${rel} AND n.nspname ${RE} ${literal(schema)} COLLATE pg_catalog.default)` : `(${rel} AND pg_catalog.pg_table_is_visible(c.oid))`;
}

function any(patterns: string[], match: (p: string) => string): string {
  return patterns.length ? `(${patterns.map(match).join(' OR ')})` : 'false';
}

/** FROM … WHERE selecting the dumped-data tables of `scope` (aliases c, n). */
export function dumpedTablesFrom(scope: PgScope): string {
  const where = [
    "c.relkind = 'r'",
    "n.nspname <> 'information_schema'",
    "n.nspname !~ '^pg_'",
    `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = c.oid AND e.deptype = 'e')`,
    "(c.relpersistence <> 'u' OR NOT pg_catalog.pg_is_in_recovery())",
  ];
  if (scope.tables.length) where.push(any(scope.tables, tableMatch));
  else {
    if (scope.schemas.length) where.push(any(scope.schemas, schemaMatch));
    if (scope.excludeSchemas.length) where.push(`NOT ${any(scope.excludeSchemas, schemaMatch)}`);
  }
  if (scope.excludeTables.length) where.push(`NOT ${any(scope.excludeTables, tableMatch)}`);
  if (scope.excludeTableData.length) where.push(`NOT ${any(scope.excludeTableData, tableMatch)}`);
  return `FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\nWHERE ${where.join('\n  AND ')}`;
}

/**
 * A part of a key as is, unless it holds `.` or `"`: then in double quotes, `"` doubled. So
 * `public.users` stays readable, and schema `a.b` + table `c` (`"a.b".c`) never meets schema
 * `a` + table `b.c` (`a."b.c"`): a key reads back one way only.
 */
function keyPart(name: string): string {
  return /[."]/.test(name) ? `"${name.replace(/"/g, '""')}"` : name;
}

/** The manifest's key for a table. */
export function rowCountKey(schema: string, table: string): string {
  return `${keyPart(schema)}.${keyPart(table)}`;
}

function keyPartSql(col: string): string {
  return `CASE WHEN ${col} ${RE} '[."]' THEN '"' OPERATOR(pg_catalog.||) pg_catalog.replace(${col}, '"', '""') OPERATOR(pg_catalog.||) '"' ELSE ${col}::text END`;
}

/** {@link rowCountKey} in SQL. */
export function rowCountKeySql(schemaCol: string, tableCol: string): string {
  return `((${keyPartSql(schemaCol)}) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) (${keyPartSql(tableCol)}))`;
}

export const COUNTS_MARK = 'strongbox-row-counts:';

/**
 * One statement, one line of output: `COUNTS_MARK{"schema.table": n, …}` (JSON, so any name
 * survives). Exact counts run count(*) per table through query_to_xml, in the session's
 * snapshot and role (so under RLS they are the rows that role sees); estimates read reltuples.
 */
export function rowCountQuery(scope: PgScope, mode: 'exact' | 'estimate'): string {
  const value =
    mode === 'exact'
      ? `(pg_catalog.xpath('/row/n/text()', pg_catalog.query_to_xml(pg_catalog.format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint`
      : 'GREATEST(c.reltuples, 0)::bigint';
  return `SELECT ${literal(COUNTS_MARK)} || COALESCE(pg_catalog.json_object_agg(${rowCountKeySql('n.nspname', 'c.relname')}, ${value})::text, '{}')\n${dumpedTablesFrom(scope)};`;
}

/** Parses the marked line of {@link rowCountQuery}'s output; undefined if absent or malformed. */
export function parseRowCounts(output: string): RowCounts | undefined {
  const line = output.split('\n').find((l) => l.startsWith(COUNTS_MARK));
  if (line === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(line.slice(COUNTS_MARK.length));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const out: RowCounts = {};
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return undefined;
      out[k] = v;
    }
    return out;
  } catch {
    return undefined;
  }
}

export const ROW_COUNT_MISMATCH = 'strongbox row count mismatch';
/** Begins the WARNING that names the tables the check could not count (psql prints it on stderr). */
export const ROW_COUNT_SKIPPED = 'strongbox row counts not checked';

/**
 * A DO block for the end of a restore's transaction (before pg_restore's COMMIT): counts each
 * recorded table and raises, naming every table that differs, so the transaction rolls back.
 * Tables are found by their key, so no key is ever parsed. A key of a backup made before keys
 * were quoted (`a.b.c`, a name with a dot or quote in it) is still found when it names one table.
 */
export function rowCountCheckSql(expected: RowCounts): string {
  const json = JSON.stringify(expected);
  // Dollar-quote tags that the JSON (table names from the manifest) cannot close.
  let suffix = '';
  while (json.includes(`$c${suffix}$`) || json.includes(`$check${suffix}$`)) suffix = randomBytes(4).toString('hex');
  const [q, body] = [`$c${suffix}$`, `$check${suffix}$`];
  // At most a few tables named: psql's error keeps only the last lines of stderr.
  return `DO ${body}
DECLARE
  r record;
  found bigint;
  bad text := '';
  skipped text := '';
  forced boolean;
  n int := 0;
BEGIN
  FOR r IN SELECT e.key, e.value::bigint AS expected, c.oid AS rel, ns.nspname, c.relname, c.relowner, c.relforcerowsecurity
      FROM pg_catalog.jsonb_each_text(${q}${json}${q}::jsonb) e
      LEFT JOIN LATERAL (SELECT COALESCE(
          (SELECT k.oid FROM pg_catalog.pg_class k JOIN pg_catalog.pg_namespace kn ON kn.oid = k.relnamespace
            WHERE k.relkind IN ('r', 'p') AND ${rowCountKeySql('kn.nspname', 'k.relname')} = e.key),
          (SELECT pg_catalog.min(k.oid::text)::oid FROM pg_catalog.pg_class k JOIN pg_catalog.pg_namespace kn ON kn.oid = k.relnamespace
            WHERE k.relkind IN ('r', 'p') AND kn.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) k.relname = e.key
            HAVING pg_catalog.count(*) = 1)) AS oid) m ON true
      LEFT JOIN (pg_catalog.pg_class c JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace) ON c.oid = m.oid
      ORDER BY e.key LOOP
    IF r.rel IS NULL THEN
      found := NULL;
    ELSE
      -- pg_restore runs with row_security = off, where a table whose policies would apply to
      -- this role cannot be read at all. Its owner (the restoring role, with --no-owner) lifts
      -- FORCE for the count and puts it back, in this transaction; a table it cannot count
      -- (another role's, with keepOwnership) is named in a warning, never a failed restore.
      BEGIN
        forced := r.relforcerowsecurity AND pg_catalog.pg_has_role(r.relowner, 'USAGE');
        IF forced THEN
          EXECUTE pg_catalog.format('ALTER TABLE %I.%I NO FORCE ROW LEVEL SECURITY', r.nspname, r.relname);
        END IF;
        EXECUTE pg_catalog.format('SELECT count(*) FROM %I.%I', r.nspname, r.relname) INTO found;
        IF forced THEN
          EXECUTE pg_catalog.format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', r.nspname, r.relname);
        END IF;
      EXCEPTION WHEN insufficient_privilege THEN
        skipped := skipped || pg_catalog.format(' %s (%s);', r.key, SQLERRM);
        CONTINUE;
      END;
    END IF;
    IF found IS DISTINCT FROM r.expected THEN
      n := n + 1;
      IF n <= 5 THEN
        bad := bad || pg_catalog.format(E'\\n  %s: expected %s rows, %s', r.key, r.expected, COALESCE('found ' || found, 'table missing'));
      END IF;
    END IF;
  END LOOP;
  IF skipped <> '' THEN
    RAISE WARNING '${ROW_COUNT_SKIPPED}, as this role may not read them under row_security = off:%', skipped;
  END IF;
  IF n > 5 THEN
    bad := bad || pg_catalog.format(E'\\n  and %s more tables', n - 5);
  END IF;
  IF n > 0 THEN
    RAISE EXCEPTION '${ROW_COUNT_MISMATCH}:%', bad;
  END IF;
END
${body};
`;
}
