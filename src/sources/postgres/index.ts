import { RefusedError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import type { SourceAdapter, SourceDetails } from '../adapter.js';
import { safeName } from '../artifact-name.js';
import { dumpPostgres } from './dump.js';
import { restorePostgres } from './restore.js';
import { countQueryRows, isPostgresDatabaseEmpty } from './target.js';
import { parsePostgresUrl, postgresUrlSecrets } from './url.js';
import { createPostgresScratch, dropPostgresScratch, listPostgresScratch, postgresScratchName } from './scratch.js';
import { maskerFor, psqlQuery } from './connection.js';
import { holdsWholeSchemas, isPartialDump, scopeFromOptions } from './scope.js';

export function postgresArtifactName(url: string): string {
  return `postgres-${safeName(parsePostgresUrl(url).database, 'db')}`;
}

/** The URL without its password, for logs and manifests; never throws. */
export function redactPostgresUrl(url: string): string {
  try {
    return parsePostgresUrl(url).connectionUrl;
  } catch {
    return '(invalid PostgreSQL URL)';
  }
}

/**
 * The tables' data as the server stores it (heap and TOAST, not indexes, which a dump holds as
 * one CREATE INDEX line): close to what pg_dump writes. pg_table_size takes a share lock on
 * each table, so a migration's ACCESS EXCLUSIVE lock would stall it: it gives up after 1 s and
 * the planner's page counts (no lock, as fresh as the last VACUUM/ANALYZE) answer instead.
 */
const USER_TABLES = `from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp_)'`;
const TABLE_BYTES_SQL = `set lock_timeout = '1s'; set statement_timeout = '10s';
  select coalesce(sum(pg_catalog.pg_table_size(c.oid)), 0) ${USER_TABLES}`;
const PLANNER_BYTES_SQL = `set statement_timeout = '10s';
  select coalesce(sum(c.relpages::bigint + coalesce(t.relpages, 0)), 0) * current_setting('block_size')::bigint
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  left join pg_catalog.pg_class t on t.oid = c.reltoastrelid
  where c.relkind in ('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp_)'`;

async function estimatePostgres(location: string): Promise<{ bytes: number } | undefined> {
  const t = parsePostgresUrl(location);
  const mask = maskerFor(location, t);
  const sql = (q: string) => psqlQuery(t, q, {}, mask).then((out) => Number(out.split('\n').pop()));
  const bytes = await sql(TABLE_BYTES_SQL).catch(() => sql(PLANNER_BYTES_SQL));
  return Number.isFinite(bytes) ? { bytes } : undefined;
}

/** PostgreSQL through pg_dump's custom format; restores in one transaction (see restore.ts). */
export const postgresAdapter: SourceAdapter = {
  kind: 'postgres',
  sourceFlag: '--postgres',
  targetFlag: '--postgres-target',
  targetNoun: 'database',
  replaceHint: 'restoring replaces its objects: rerun with --force if that is intended',
  extension: '.dump',
  locationSecrets: postgresUrlSecrets,
  credentialsHint: 'PGPASSWORD or a PGPASSFILE (~/.pgpass)',
  artifactName: (spec) => postgresArtifactName(spec.location),
  checkSource: (spec) => {
    parsePostgresUrl(spec.location);
    scopeFromOptions(spec.options);
  },
  estimateSize: (spec) => estimatePostgres(spec.location),
  dump: (spec, ctx) =>
    dumpPostgres(spec.location, ctx.reporter, {
      lockTimeoutMs: ctx.lockTimeoutMs,
      scope: scopeFromOptions(spec.options),
      rowSecurity: !!spec.options?.rowSecurity,
      rowCounts: spec.options?.rowCounts ?? 'exact',
      ...(spec.options?.pgBin ? { pgBin: spec.options.pgBin } : {}),
    }),
  sourceIdentity: (s: SourceDetails) => (typeof s.database === 'string' ? `${typeof s.host === 'string' ? s.host : ''}/${s.database}` : ''),
  normalizeTarget: (target) => target,
  displayTarget: (target) => printable(redactPostgresUrl(target)),
  confirmName: (target) => parsePostgresUrl(target).database,
  checkTarget: async (target) => void parsePostgresUrl(target),
  isTargetEmpty: (target) => isPostgresDatabaseEmpty(target),
  safetySource: async (target) => ({ kind: 'postgres', location: target }),
  verifyBeforeRestore: true,
  restore: async (input, target, artifact, ctx) => {
    // A tenant's dump (--row-security) holds only the rows that role could see: replacing a
    // shared database's tables with it would delete every other tenant's rows.
    if (artifact.source.rowSecurity === true && !(await isPostgresDatabaseEmpty(target))) {
      throw new RefusedError(
        `${printable(artifact.name)} is a per-tenant dump (--row-security): it holds only one role's rows, and restoring it over ${printable(redactPostgresUrl(target))}, which is not empty, would delete every other role's rows in the tables it replaces; nothing was changed`,
        'restore it into a new, empty database, then copy that tenant\'s rows where you need them',
      );
    }
    return restorePostgres(input, target, {
      force: ctx.force,
      reporter: ctx.reporter,
      lockTimeoutMs: ctx.lockTimeoutMs,
      partial: isPartialDump(artifact.source),
      keepSchemas: isPartialDump(artifact.source) && !holdsWholeSchemas(artifact.source),
      // Estimates are recorded for information only: never compared.
      ...(artifact.rowCounts && (artifact.rowCountMode ?? 'exact') === 'exact' ? { expectedRowCounts: artifact.rowCounts } : {}),
      ...(typeof artifact.source.clientVersion === 'string' ? { dumpVersion: artifact.source.clientVersion } : {}),
      ...(ctx.pgBin ? { pgBin: ctx.pgBin } : {}),
    });
  },
  countQueryRows: (target, sql) => countQueryRows(target, sql),
  scratchName: postgresScratchName,
  createScratch: (url, name) => createPostgresScratch(url, name),
  dropScratch: (target) => dropPostgresScratch(target),
  listScratch: (url, prefix) => listPostgresScratch(url, prefix),
};
