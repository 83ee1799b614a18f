import { StrongboxError, VerificationError } from '../../shared/errors.js';
import { ROW_COUNT_MISMATCH } from './row-count-sql.js';
import type { ToolFailure } from '../process.js';
import { versionMismatchError } from './versions.js';

/** What went wrong in pg_dump, pg_restore or psql, told the way a user can act on it. */

function seconds(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

/** A lock another session held longer than --db-lock-timeout, or undefined if that was not the failure. */
function lockTimeoutError(f: ToolFailure, what: string, lockTimeoutMs: number | undefined, after: string): StrongboxError | undefined {
  // pg_dump's --lock-wait-timeout works through statement_timeout on its LOCK TABLE.
  const dumpLock = /due to statement timeout/.test(f.stderr) && /Query was: LOCK TABLE/.test(f.stderr);
  if (!dumpLock && !/canceling statement due to lock timeout|could not obtain lock on/.test(f.stderr)) return undefined;
  const object =
    /LOCK TABLE (\S+) IN/.exec(f.stderr)?.[1] ?? // pg_dump's "Query was: LOCK TABLE public.items IN ACCESS SHARE MODE"
    /\(at DROP \S+(?: \S+)*? (\S+) CASCADE\)/.exec(f.stderr)?.[1] ?? // the emptying's "(at DROP TABLE public.keep CASCADE)"
    /relation "([^"]+)"/.exec(f.stderr)?.[1];
  const limit = lockTimeoutMs !== undefined ? ` (${seconds(lockTimeoutMs)})` : '';
  return new StrongboxError(
    `${what} waited longer than --db-lock-timeout${limit} for a lock${object ? ` on ${object}` : ''} that another session holds; ${after}`,
    {
      hint: `find the session holding it (SELECT pid, state, query FROM pg_stat_activity WHERE pid = ANY (pg_blocking_pids(<waiting pid>)), or look in pg_locks), let it finish or end it, then rerun; or give a longer --db-lock-timeout (input db-lock-timeout)`,
    },
  );
}

/** Turns a pg_dump failure (exit status, signal, stderr) into what the user needs to know. */
export function describePgDumpFailure(f: ToolFailure, where: string, lockTimeoutMs?: number): StrongboxError {
  if (f.spawnError) {
    return new StrongboxError(`pg_dump was not found (${f.command})`, { hint: 'install the PostgreSQL client tools (e.g. postgresql-client), the same major version as the server or newer' });
  }
  const locked = lockTimeoutError(f, `pg_dump of ${where}`, lockTimeoutMs, 'nothing was committed');
  if (locked) return locked;
  const mismatch = /server version:\s*([^;\s]+)[^;\n]*;\s*pg_dump version:\s*([^\s;]+)/.exec(f.stderr);
  if (mismatch) return versionMismatchError(mismatch[1]!, mismatch[2]!, where);
  if (/server version mismatch/.test(f.stderr)) {
    return new StrongboxError(`pg_dump is older than the PostgreSQL server of ${where} and cannot dump it (server version mismatch): install a pg_dump at least as new as the server:\n${f.stderr}`, {
      hint: 'install the PostgreSQL client tools of the server\'s major version or newer and put them first on PATH',
    });
  }
  const rls = /query would be affected by row-level security policy for table "([^"]+)"/.exec(f.stderr);
  if (rls) {
    return new StrongboxError(`pg_dump of ${where} failed: the role in the URL sees only some rows of table "${rls[1]}" (row-level security), and a dump without --row-security refuses to hold a filtered table; nothing was committed`, {
      hint: "to back up only the rows this role may see (a tenant's export), rerun with --row-security (input row-security: true); for a whole-database backup, use a role that bypasses row-level security (the tables' owner, or one with BYPASSRLS)",
    });
  }
  if (f.signal) {
    return new StrongboxError(`pg_dump of ${where} was killed by ${f.signal} before it finished; the dump is incomplete and was not kept${f.stderr ? `:\n${f.stderr}` : ''}`);
  }
  return new StrongboxError(`pg_dump of ${where} failed with exit code ${f.code}${f.stderr ? `:\n${f.stderr}` : ''}`, {
    hint: 'see pg_dump\'s message above; nothing was committed',
  });
}


export const UNCHANGED = 'it ran in a single transaction, so the database was left unchanged';

/** pg_restore only reads the archive and writes SQL: its failures are about the backup. */
export function describePgRestoreFailure(f: ToolFailure, where: string): StrongboxError {
  if (f.spawnError) {
    return new StrongboxError(`pg_restore was not found (${f.command})`, { hint: 'install the PostgreSQL client tools (e.g. postgresql-client), the same major version as the dump or newer' });
  }
  const version = /unsupported version \(([\d.]+)\) in file header/.exec(f.stderr);
  if (version) {
    return new StrongboxError(`pg_restore is too old to read this dump (archive format ${version[1]}); ${where} was not changed`, {
      hint: 'install pg_restore from the PostgreSQL version recorded in the manifest (clientVersion) or newer',
    });
  }
  const how = f.signal ? `was killed by ${f.signal}` : `failed with exit code ${f.code}`;
  return new StrongboxError(`pg_restore ${how} while reading the backup being restored into ${where}; ${UNCHANGED}${f.stderr ? `:\n${f.stderr}` : ''}`);
}

/** psql runs the restore script: its failures are SQL errors, or the emptying of a forced restore. */
export function describeRestoreSqlFailure(f: ToolFailure, where: string, lockTimeoutMs?: number): StrongboxError {
  if (f.spawnError) {
    return new StrongboxError(`psql was not found (${f.command})`, { hint: 'install the PostgreSQL client tools (e.g. postgresql-client), the same major version as pg_restore' });
  }
  const locked = lockTimeoutError(f, `the restore into ${where}`, lockTimeoutMs, UNCHANGED);
  if (locked) return locked;
  const how = f.signal ? `psql was killed by ${f.signal}` : `psql exit code ${f.code}`;
  const details = f.stderr ? `:\n${f.stderr}` : '';
  if (/invalid command \\(un)?restrict/.test(f.stderr)) {
    return new StrongboxError(`the restore into ${where} failed: psql is older than the pg_restore that wrote the script (${how}); ${UNCHANGED}${details}`, {
      hint: 'use psql and pg_restore from the same PostgreSQL installation (pass both paths, or put one bin directory first on PATH)',
    });
  }
  const mismatch = new RegExp(`${ROW_COUNT_MISMATCH}:([\\s\\S]*?)(?:\\nCONTEXT:|$)`).exec(f.stderr);
  if (mismatch) {
    const tables = mismatch[1]!.split('\n').map((l) => l.replace(/^(psql:[^\n]*?ERROR:\s*)/, '').trim()).filter(Boolean).join('; ');
    return new VerificationError(
      `the data restored into ${where} does not have the row counts the backup's manifest recorded (${tables}); nothing was committed, ${where} was left unchanged`,
      'the backup does not hold what was counted when it was made: restore another backup (strongbox list), and check how this one was written (verify it)',
    );
  }
  if (/could not empty database/.test(f.stderr)) {
    return new StrongboxError(`could not empty ${where} before restoring into it (${how}); ${UNCHANGED}${details}`, {
      hint: 'replacing a database needs a role that owns its schemas and what is in them (the database owner or a superuser): put such a role in the target URL, or restore into a new, empty database',
    });
  }
  if (/cannot drop .* because other objects depend on it/.test(f.stderr)) {
    return new StrongboxError(`the restore into ${where} failed: an object the partial backup replaces has dependents outside it (${how}); ${UNCHANGED}${details}`, {
      hint: 'a partial backup replaces only the objects it holds and never drops anything else (no CASCADE): drop or change the objects named above that depend on them, or restore a full backup',
    });
  }
  return new StrongboxError(`the restore into ${where} failed (${how}); ${UNCHANGED}${details}`);
}
