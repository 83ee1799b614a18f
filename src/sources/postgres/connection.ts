import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StrongboxError } from '../../shared/errors.js';
import { SecretMasker, type Reporter } from '../../shared/reporter.js';
import { childEnvironment } from '../../shared/sensitive-env.js';
import { runTool, type ToolFailure } from '../process.js';
import type { PgTarget } from './url.js';

/** How PostgreSQL's client tools are reached: the password only through PGPASSWORD, every text masked. */

export interface PgToolPaths {
  pgDump?: string;
  pgRestore?: string;
  psql?: string;
}

export function describe(t: PgTarget): string {
  return `database "${t.database}" on ${t.host}`;
}

/**
 * The children's environment, without Strongbox's inputs and secrets; the password only for
 * those that connect (pg_restore writing a script does not).
 */
export function childEnv(t: PgTarget, connects = true): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...childEnvironment(),
    // Without a bound, libpq waits forever for an unreachable host.
    PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? '30',
  };
  if (connects && t.password !== undefined) env.PGPASSWORD = t.password;
  else if (!connects) delete env.PGPASSWORD;
  return env;
}

export function maskerFor(url: string, t: PgTarget, reporter?: Reporter): (s: string) => string {
  const masker = new SecretMasker();
  // The whole URL only when it holds a password: a password-free URL is what logs should show.
  for (const s of t.password ? [t.password, url] : []) {
    masker.add(s);
    reporter?.setSecret(s);
  }
  return (s) => masker.mask(s);
}

export function psqlFor(tools: PgToolPaths): string {
  if (tools.psql) return tools.psql;
  // A pg_dump given by path most likely has its psql beside it (same major version).
  const near = tools.pgDump ?? tools.pgRestore;
  if (near?.includes('/')) {
    const candidate = join(dirname(near), 'psql');
    if (existsSync(candidate)) return candidate;
  }
  return 'psql';
}

export function connectFailure(t: PgTarget) {
  return (f: ToolFailure): StrongboxError => {
    if (f.spawnError) {
      return new StrongboxError(`psql was not found (${f.command})`, { hint: 'install the PostgreSQL client tools (e.g. postgresql-client), the same major version as the server or newer' });
    }
    if (/database ".*" does not exist/.test(f.stderr)) {
      return new StrongboxError(`PostgreSQL ${describe(t)} does not exist`, { hint: 'check the database name in the URL, or create it first (createdb)' });
    }
    return new StrongboxError(`cannot query PostgreSQL ${describe(t)}: ${f.stderr || `psql exit code ${f.code ?? f.signal}`}`, {
      hint: 'check the URL, the password and that the server accepts connections from here',
    });
  };
}

/** An abort signal that never fires: for children that must not be stopped by a cancellation. */
export const NEVER = new AbortController().signal;

/**
 * A server session waiting for a table lock does not notice that its client was killed until
 * the lock is granted; meanwhile its statement sits in the lock queue and blocks every later
 * reader of the table. So pg_dump's and the restore's sessions carry a unique application_name
 * (PGAPPNAME; an application_name in the user's URL takes precedence), and a stopped run ends
 * its own lingering session through a fresh connection.
 */
export function sessionTag(kind: 'dump' | 'restore'): string {
  return `strongbox-${kind}-${randomBytes(8).toString('hex')}`;
}


/** Ends the sessions tagged `tag` (rolling back their transaction); best effort, never throws. */
export async function terminateTaggedSessions(t: PgTarget, tag: string, tools: PgToolPaths, mask: (s: string) => string, reporter?: Reporter): Promise<void> {
  try {
    const n = await psqlQuery(
      t,
      `SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity WHERE application_name = '${tag}' AND pid <> pg_catalog.pg_backend_pid()`,
      tools,
      mask,
      NEVER,
    );
    if (n !== '0') reporter?.debug(`ended ${n} lingering server session(s) of the stopped run (${tag})`);
  } catch (err) {
    reporter?.debug(`could not end the stopped run's server session ${tag}: ${(err as Error).message}`);
  }
}

export async function psqlQuery(t: PgTarget, sql: string, tools: PgToolPaths, mask: (s: string) => string, signal?: AbortSignal): Promise<string> {
  const out = await runTool(
    psqlFor(tools),
    ['-X', '--no-password', '--no-align', '--tuples-only', '--quiet', '-v', 'ON_ERROR_STOP=1', '-c', sql, `--dbname=${t.connectionUrl}`],
    { name: 'psql', env: childEnv(t), mask, describeFailure: connectFailure(t), ...(signal ? { signal } : {}) },
  );
  return out.trim();
}
