import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Transform, type Readable, type TransformCallback, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { RefusedError, StoppedError, StrongboxError } from '../shared/errors.js';
import { SecretMasker, type Reporter } from '../shared/reporter.js';
import { cancelSignal } from '../shared/cancel.js';
import { childEnvironment } from '../shared/sensitive-env.js';
import { parsePostgresUrl, type PgTarget } from './pg-url.js';
import { runTool, spawnTool, type ToolFailure } from './process.js';
import type { SourceDump } from './adapter.js';

/**
 * PostgreSQL through the standard client tools: `pg_dump --format=custom` to back up; to
 * restore, `pg_restore --single-transaction --file=-` turns the archive into SQL and `psql`
 * runs it. The password reaches only the child that connects, and only as PGPASSWORD (argv is
 * world-readable in `ps`); every text taken from the children is masked.
 *
 * A restore is one transaction, and nothing but pg_restore's own final COMMIT ends it. Its
 * input and its output each have their last 64 KiB held back: the archive's tail until the
 * input has ended cleanly (a checksum or authentication error found at EOF), the script's
 * tail (the COMMIT) until pg_restore has also exited 0. On any failure psql is SIGKILLed
 * while its stdin is still open, so the server rolls the transaction back. psql runs without
 * --single-transaction on purpose: that would COMMIT at EOF, and EOF is also what psql sees
 * when Strongbox itself dies mid-restore; here such an EOF finds an open transaction and
 * rolls it back. Success is not read from psql's exit status (0 after such an EOF too) but
 * from the server: the script prints its transaction id, and txid_status() must say committed.
 *
 * With `force` the script starts by emptying the database (see EMPTY_DATABASE_SQL): every
 * user schema is dropped with what it holds, `public` is kept but emptied, and so go large
 * objects, publications, user extensions and foreign-data wrappers. The dump then rebuilds everything, so a target
 * whose schema has drifted (a migration ran) ends up equal to the backup, not merged with it.
 * Kept as they are: the public schema itself with its owner, privileges and comment
 * (PostgreSQL 15 dumps never create `public`, they only record how it differs from the
 * default), built-in extensions (plpgsql), subscriptions, and database-level settings.
 *
 * Ownership and privileges: restores run with `--no-owner --no-privileges`, so every restored
 * object belongs to the role in the target URL and no GRANTs are replayed. That makes a
 * restore work on any server (a scratch CI database, a new managed instance) instead of
 * failing on roles that exist only in production; re-apply grants after a restore if you
 * rely on them, or pass `keepOwnership` to replay owners and GRANTs as dumped.
 */

export interface PgToolPaths {
  pgDump?: string;
  pgRestore?: string;
  psql?: string;
}

/** pg_dump's custom format; see pg_backup_archiver.c (WriteHead). */
const MAGIC = 'PGDMP';
const HEADER_LEN = 11;
const FORMAT_CUSTOM = 1;
/** How long pg_dump or a restore waits for a table lock another session holds (`--db-lock-timeout`). */
export const DEFAULT_DB_LOCK_TIMEOUT_MS = 5 * 60_000;
/** Bytes held back from pg_restore until the input has ended cleanly (see TailHolder). */
const HOLD_BACK = 64 * 1024;

export function postgresArtifactName(url: string): string {
  return `postgres-${safeName(parsePostgresUrl(url).database, 'db')}`;
}

function safeName(raw: string, fallback: string): string {
  return raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || fallback;
}

/** The URL without its password, for logs and manifests; never throws. */
export function redactPostgresUrl(url: string): string {
  try {
    return parsePostgresUrl(url).connectionUrl;
  } catch {
    return '(invalid PostgreSQL URL)';
  }
}

function describe(t: PgTarget): string {
  return `database "${t.database}" on ${t.host}`;
}

/**
 * The children's environment, without Strongbox's inputs and secrets; the password only for
 * those that connect (pg_restore writing a script does not).
 */
function childEnv(t: PgTarget, connects = true): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...childEnvironment(),
    // Without a bound, libpq waits forever for an unreachable host.
    PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? '30',
  };
  if (connects && t.password !== undefined) env.PGPASSWORD = t.password;
  else if (!connects) delete env.PGPASSWORD;
  return env;
}

function maskerFor(url: string, t: PgTarget, reporter?: Reporter): (s: string) => string {
  const masker = new SecretMasker();
  // The whole URL only when it holds a password: a password-free URL is what logs should show.
  for (const s of t.password ? [t.password, url] : []) {
    masker.add(s);
    reporter?.setSecret(s);
  }
  return (s) => masker.mask(s);
}

function psqlFor(tools: PgToolPaths): string {
  if (tools.psql) return tools.psql;
  // A pg_dump given by path most likely has its psql beside it (same major version).
  const near = tools.pgDump ?? tools.pgRestore;
  if (near?.includes('/')) {
    const candidate = join(dirname(near), 'psql');
    if (existsSync(candidate)) return candidate;
  }
  return 'psql';
}

function connectFailure(t: PgTarget) {
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
const NEVER = new AbortController().signal;

/**
 * A server session waiting for a table lock does not notice that its client was killed until
 * the lock is granted; meanwhile its statement sits in the lock queue and blocks every later
 * reader of the table. So pg_dump's and the restore's sessions carry a unique application_name
 * (PGAPPNAME; an application_name in the user's URL takes precedence), and a stopped run ends
 * its own lingering session through a fresh connection.
 */
function sessionTag(kind: 'dump' | 'restore'): string {
  return `strongbox-${kind}-${randomBytes(8).toString('hex')}`;
}

/** Ends the sessions tagged `tag` (rolling back their transaction); best effort, never throws. */
async function terminateTaggedSessions(t: PgTarget, tag: string, tools: PgToolPaths, mask: (s: string) => string, reporter?: Reporter): Promise<void> {
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

async function psqlQuery(t: PgTarget, sql: string, tools: PgToolPaths, mask: (s: string) => string, signal?: AbortSignal): Promise<string> {
  const out = await runTool(
    psqlFor(tools),
    ['-X', '--no-password', '--no-align', '--tuples-only', '--quiet', '-v', 'ON_ERROR_STOP=1', '-c', sql, `--dbname=${t.connectionUrl}`],
    { name: 'psql', env: childEnv(t), mask, describeFailure: connectFailure(t), ...(signal ? { signal } : {}) },
  );
  return out.trim();
}

/** `15.4`, `9.6.24`, `17beta1` → the leading version; '' if none. */
export function parseVersion(text: string): string {
  return /\d+(?:\.\d+)*(?:[a-z]+\d*)?/i.exec(text)?.[0] ?? '';
}

/** Major version as a comparable number (9.6 → 9.6, 15.4 → 15). */
export function majorVersion(version: string): number {
  const [a = NaN, b = 0] = version.split('.').map((p) => parseInt(p, 10));
  return a < 10 ? a + b / 10 : a;
}

export function versionMismatchError(serverVersion: string, clientVersion: string, where: string): StrongboxError {
  const major = majorVersion(serverVersion);
  const need = major < 10 ? major.toFixed(1) : String(major);
  return new StrongboxError(
    `pg_dump ${clientVersion} is older than the PostgreSQL ${serverVersion} server of ${where} and cannot dump it (server version mismatch): install pg_dump ${need} or newer`,
    { hint: `install the PostgreSQL ${need} client tools (e.g. postgresql-client-${need}) and put them first on PATH` },
  );
}

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
  if (f.signal) {
    return new StrongboxError(`pg_dump of ${where} was killed by ${f.signal} before it finished; the dump is incomplete and was not kept${f.stderr ? `:\n${f.stderr}` : ''}`);
  }
  return new StrongboxError(`pg_dump of ${where} failed with exit code ${f.code}${f.stderr ? `:\n${f.stderr}` : ''}`, {
    hint: 'see pg_dump\'s message above; nothing was committed',
  });
}

const UNCHANGED = 'it ran in a single transaction, so the database was left unchanged';

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
  if (/could not empty database/.test(f.stderr)) {
    return new StrongboxError(`could not empty ${where} before restoring into it (${how}); ${UNCHANGED}${details}`, {
      hint: 'replacing a database needs a role that owns its schemas and what is in them (the database owner or a superuser): put such a role in the target URL, or restore into a new, empty database',
    });
  }
  return new StrongboxError(`the restore into ${where} failed (${how}); ${UNCHANGED}${details}`);
}

/** Why a stream head is not a pg_dump custom-format archive, or undefined if it is one. */
export function customFormatProblem(head: Uint8Array): string | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length < HEADER_LEN) return `only ${b.length} bytes`;
  if (b.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) return 'no PGDMP signature';
  if (b[10] !== FORMAT_CUSTOM) return `archive format ${b[10]}, not custom`;
  return undefined;
}

/**
 * Passes pg_dump's stdout through unchanged, but refuses anything that does not start like a
 * custom-format archive, and ends only after pg_dump has exited 0: a killed or failing pg_dump
 * makes the stream itself error, so no consumer can mistake a clean EOF for a complete dump.
 */
class DumpGuard extends Transform {
  private head: Buffer[] = [];
  private headLen = 0;
  private checked = false;
  constructor(
    private readonly exited: Promise<void>,
    private readonly where: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.checked) return cb(null, chunk);
    this.head.push(chunk);
    this.headLen += chunk.length;
    if (this.headLen < HEADER_LEN) return cb();
    const buf = Buffer.concat(this.head);
    this.head = [];
    const problem = customFormatProblem(buf);
    if (problem) return cb(this.notADump(problem));
    this.checked = true;
    cb(null, buf);
  }
  override _flush(cb: TransformCallback): void {
    this.exited.then(
      () => cb(this.checked ? null : this.notADump(customFormatProblem(Buffer.concat(this.head)) ?? 'too short')),
      (err: unknown) => cb(err as Error),
    );
  }
  private notADump(problem: string): StrongboxError {
    return new StrongboxError(`pg_dump of ${this.where} did not produce a custom-format archive (${problem}); the dump was not kept`, {
      hint: 'check that the pg_dump being run is the real PostgreSQL client',
    });
  }
}

export async function dumpPostgres(url: string, reporter: Reporter, opts: { pgDump?: string; psql?: string; lockTimeoutMs?: number } = {}): Promise<SourceDump> {
  const t = parsePostgresUrl(url);
  const mask = maskerFor(url, t, reporter);
  const where = describe(t);
  const pgDump = opts.pgDump ?? 'pg_dump';
  const env = childEnv(t);
  const lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_DB_LOCK_TIMEOUT_MS;

  const clientVersion = parseVersion(
    await runTool(pgDump, ['--version'], { name: 'pg_dump', env, mask, describeFailure: (f) => describePgDumpFailure(f, where) }),
  );
  // Asking the server first also turns a wrong URL or password into an error before any stream exists.
  const serverVersion = parseVersion(await psqlQuery(t, 'show server_version', opts, mask));
  if (majorVersion(serverVersion) > majorVersion(clientVersion)) throw versionMismatchError(serverVersion, clientVersion, where);
  reporter.debug(`pg_dump ${clientVersion} dumping ${where} (PostgreSQL ${serverVersion})`);

  const tag = sessionTag('dump');
  const run = spawnTool(
    pgDump,
    // No pg_dump compression: the pipeline compresses with zstd, better and faster than zlib twice.
    // A table lock held elsewhere (a migration's ACCESS EXCLUSIVE) fails the dump instead of stalling it forever.
    ['--format=custom', '--compress=0', '--no-password', `--lock-wait-timeout=${lockTimeoutMs}`, `--dbname=${t.connectionUrl}`],
    { name: 'pg_dump', env: { ...env, PGAPPNAME: tag }, mask, onStderrLine: (line) => reporter.warning(line), describeFailure: (f) => describePgDumpFailure(f, where, lockTimeoutMs) },
  );
  // On SIGTERM pg_dump cancels its own query; one killed outright (SIGKILL after the grace
  // period) while waiting for a lock leaves its session queued for that lock.
  const sessionEnded = run.exited.catch(() => (run.child.signalCode ? terminateTaggedSessions(t, tag, opts, mask, reporter) : undefined));
  const guard = new DumpGuard(run.exited, where);
  // Errors reach the consumer through `guard`; this promise only drives the piping.
  pipeline(run.child.stdout!, guard).catch(() => {});
  guard.on('close', () => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  });

  const completed = finished(guard).catch(async (err: unknown) => {
    await sessionEnded;
    if (err instanceof StrongboxError) throw err;
    throw new StoppedError(`the dump of ${where} was stopped before it finished`, { cause: err });
  });
  completed.catch(() => {});
  return {
    stream: guard,
    completed,
    details: { engine: 'postgresql', serverVersion, clientVersion, database: t.database, host: t.host, dumpFormat: 'custom' },
  };
}

const USER_OBJECTS_SQL = `select count(*) from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname !~ '^pg_(toast|temp_)'
    and not exists (select 1 from pg_catalog.pg_depend d
      where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')`;

async function countUserObjects(t: PgTarget, tools: PgToolPaths, mask: (s: string) => string): Promise<number> {
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

/**
 * Holds the last `keep` bytes back until the input has ended cleanly. pg_restore needs the
 * very end of the archive to finish, so an input that fails late (a checksum or
 * authentication error found at EOF) can never let it reach COMMIT.
 */
export class TailHolder {
  private held: Buffer[] = [];
  private heldLen = 0;
  constructor(private readonly keep: number) {}
  /** Adds a chunk; returns what may be released now. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    this.held.push(chunk);
    this.heldLen += chunk.length;
    while (this.held.length && this.heldLen - this.held[0]!.length >= this.keep) {
      const c = this.held.shift()!;
      this.heldLen -= c.length;
      out.push(c);
    }
    const excess = this.heldLen - this.keep;
    if (excess > 0) {
      const first = this.held[0]!;
      out.push(first.subarray(0, excess));
      this.held[0] = first.subarray(excess);
      this.heldLen -= excess;
    }
    return out;
  }
  /** The input ended cleanly: everything held may go. */
  rest(): Buffer[] {
    const out = this.held;
    this.held = [];
    this.heldLen = 0;
    return out;
  }
}

/**
 * A forced restore's first statements, inside its transaction: everything the dump will
 * recreate, and everything it would not, goes. Every user schema is dropped with CASCADE (a
 * schema owner may drop other roles' objects in it). `public` is emptied instead of dropped:
 * PostgreSQL 15 dumps assume it exists and record only how its owner, privileges and comment
 * differ from the default, so recreating it would lose what they rely on, and emptying needs
 * no more rights than dropping what it holds. Objects that belong to an extension, or are
 * part of another object (a column's identity sequence, a range's multirange), go with their
 * owner object. A role that may not drop something (another role's schema, an extension an
 * admin installed) fails here, with a clear message, rather than later in the dump (which
 * would need to own those extensions anyway, to COMMENT on them).
 */
export const EMPTY_DATABASE_SQL = `SET client_min_messages = error;
DO $strongbox$
DECLARE
  r record;
  public_oid oid;
  doing text := '';
BEGIN
  FOR r IN SELECT pubname FROM pg_catalog.pg_publication LOOP
    doing := pg_catalog.format('DROP PUBLICATION %I', r.pubname);
    EXECUTE doing;
  END LOOP;
  PERFORM pg_catalog.lo_unlink(l.oid) FROM pg_catalog.pg_largeobject_metadata l;
  FOR r IN SELECT n.nspname FROM pg_catalog.pg_namespace n
      WHERE n.nspname <> 'public' AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
          AND e.objid = n.oid AND e.deptype = 'e') LOOP
    doing := pg_catalog.format('DROP SCHEMA IF EXISTS %I CASCADE', r.nspname);
    EXECUTE doing;
  END LOOP;
  SELECT n.oid INTO public_oid FROM pg_catalog.pg_namespace n WHERE n.nspname = 'public';
  IF public_oid IS NULL THEN
    CREATE SCHEMA public;
  END IF;
  -- One object at a time, looked up afresh: each CASCADE may take others with it.
  LOOP
    SELECT o.type, o.identity INTO r
      FROM pg_catalog.pg_depend d
      CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classid, d.objid, 0) o
      WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = public_oid AND d.deptype = 'n'
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.classid = d.classid AND i.objid = d.objid
          AND i.objsubid = 0 AND i.deptype IN ('e', 'i'))
      LIMIT 1;
    EXIT WHEN NOT FOUND;
    doing := pg_catalog.format('DROP %s %s CASCADE',
      CASE r.type WHEN 'statistics object' THEN 'STATISTICS' ELSE pg_catalog.upper(r.type) END, r.identity);
    EXECUTE doing;
  END LOOP;
  -- Extensions installed into pg_catalog (not built in: those have OIDs below 16384).
  FOR r IN SELECT x.extname FROM pg_catalog.pg_extension x WHERE x.oid >= 16384 LOOP
    doing := pg_catalog.format('DROP EXTENSION IF EXISTS %I CASCADE', r.extname);
    EXECUTE doing;
  END LOOP;
  -- Foreign-data wrappers without a handler in a schema (with their servers and user mappings).
  FOR r IN SELECT w.fdwname FROM pg_catalog.pg_foreign_data_wrapper w WHERE w.oid >= 16384 LOOP
    doing := pg_catalog.format('DROP FOREIGN DATA WRAPPER IF EXISTS %I CASCADE', r.fdwname);
    EXECUTE doing;
  END LOOP;
EXCEPTION WHEN OTHERS THEN
  -- Naming the statement names the object, e.g. the table another session has locked.
  RAISE EXCEPTION 'could not empty database % before the restore (at %): %', pg_catalog.current_database(), doing, SQLERRM USING ERRCODE = SQLSTATE;
END
$strongbox$;
`;

const XID_MARK = 'strongbox-restore-xid:';

/**
 * What psql reads before pg_restore's script. Our BEGIN puts the emptying in the restore's
 * transaction; pg_restore's own BEGIN then only warns (hushed), and its COMMIT ends both. The
 * transaction's id goes to psql's stdout, so that the server can be asked afterwards whether
 * it committed: psql exiting 0 proves nothing (it also does at an EOF mid-script, rolling back).
 */
export function restoreScriptPrologue(force: boolean, lockTimeoutMs = DEFAULT_DB_LOCK_TIMEOUT_MS): string {
  return `BEGIN;\nSET client_min_messages = error;\n${lockTimeoutSql(lockTimeoutMs)}\nSELECT '${XID_MARK}' || pg_catalog.txid_current();\n${force ? EMPTY_DATABASE_SQL : ''}`;
}

function lockTimeoutSql(ms: number): string {
  return `SET lock_timeout = '${Math.max(1, Math.round(ms))}ms';`;
}

/**
 * pg_restore's script opens with `SET lock_timeout = 0;`, which would lift ours: the head of
 * the script (the first 8 KiB) gets the restore's own timeout instead.
 */
class LockTimeoutHead extends Transform {
  private head: Buffer[] = [];
  private headLen = 0;
  private done = false;
  constructor(private readonly sql: string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.done) return cb(null, chunk);
    this.head.push(chunk);
    this.headLen += chunk.length;
    if (this.headLen >= 8192) this.release();
    cb();
  }
  override _flush(cb: TransformCallback): void {
    if (!this.done) this.release();
    cb();
  }
  private release(): void {
    this.done = true;
    const text = Buffer.concat(this.head).toString('latin1');
    this.head = [];
    this.push(Buffer.from(text.replace(/^SET lock_timeout = 0;$/m, this.sql), 'latin1'));
  }
}

/** Reads a transaction's fate from the server, waiting briefly while it is still settling. */
async function transactionStatus(t: PgTarget, xid: string, tools: PgToolPaths, mask: (s: string) => string): Promise<string> {
  for (let i = 0; ; i++) {
    // Asked even when cancelled meanwhile: whether the restore committed must be known.
    const status = await psqlQuery(t, `SELECT pg_catalog.txid_status(${xid})`, tools, mask, NEVER);
    if (status !== 'in progress' || i >= 50) return status || 'unknown';
    await new Promise((r) => setTimeout(r, 100));
  }
}

function writable(w: Writable): boolean {
  return !w.destroyed && !w.writableEnded;
}

/** Resolves on 'drain', or as soon as writing is pointless (error/close). */
function drained(w: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      w.off('error', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
    w.on('error', done);
  });
}

/** Writes with backpressure; a child that is gone makes it a no-op (its exit status says why). */
async function write(w: Writable, chunk: Buffer | string): Promise<void> {
  if (writable(w) && !w.write(chunk)) await drained(w);
}

/**
 * Feeds the archive to pg_restore, all but its last HOLD_BACK bytes until the input has ended
 * cleanly. Resolves true once it has (even if pg_restore stopped reading early: the input's
 * own end-of-stream checks must still pass), false when the restore was stopped; rejects with
 * the input's error.
 */
async function feedArchive(input: Readable, archiveIn: Writable, stopped: () => boolean): Promise<boolean> {
  const tail = new TailHolder(HOLD_BACK);
  for await (const chunk of input as AsyncIterable<Buffer>) {
    if (stopped()) return false;
    for (const part of tail.push(chunk)) await write(archiveIn, part);
  }
  if (stopped()) return false;
  for (const part of tail.rest()) await write(archiveIn, part);
  if (writable(archiveIn)) archiveIn.end();
  return true;
}

/**
 * Copies pg_restore's script into psql, keeping its tail (with the COMMIT) in `held`; never
 * ends psql's stdin. `head` sees the script's first few KiB.
 */
async function copyScript(script: Readable, sqlIn: Writable, held: TailHolder, stopped: () => boolean, head: (text: string) => void): Promise<void> {
  let start = '';
  let headSeen = false;
  const seeHead = () => {
    if (!headSeen) head(start);
    headSeen = true;
  };
  try {
    for await (const chunk of script as AsyncIterable<Buffer>) {
      if (stopped()) return;
      if (!headSeen && (start += chunk.toString('latin1', 0, 4096)).length >= 4096) seeHead();
      for (const part of held.push(chunk)) await write(sqlIn, part);
      if (!writable(sqlIn)) return; // psql is gone; its exit status says why
    }
    seeHead();
  } catch {
    // pg_restore's stdout broke: its exit status says why.
  }
}

/**
 * pg_restore ≥ 17.6, 16.10, 15.14, 14.19, 13.22 opens its script with `\restrict KEY`, which
 * makes psql refuse backslash commands hidden in a dump's contents (CVE-2025-8714).
 */
function warnIfUnrestricted(head: string, reporter: Reporter): void {
  if (!/^\\restrict /m.test(head)) {
    reporter.warning(
      'pg_restore did not open its script with \\restrict (it predates PostgreSQL 17.6, 16.10, 15.14, 14.19 and 13.22), so psql would obey backslash commands hidden in the backup (CVE-2025-8714): update the PostgreSQL client tools',
    );
  }
}

export interface RestorePostgresOptions extends PgToolPaths {
  /** Replace a non-empty database: everything in it is dropped first, in the same transaction. */
  force: boolean;
  reporter: Reporter;
  signal?: AbortSignal;
  /** Replay owners and GRANTs as dumped (needs the same roles on the target server). */
  keepOwnership?: boolean;
  /** How long a statement may wait for a lock (`--db-lock-timeout`); default 5 min. */
  lockTimeoutMs?: number;
}

/**
 * Restores a custom-format dump from `input` into `targetUrl` in one transaction: any error
 * (SQL, a failing input, a failing pg_restore, an abort) leaves the target exactly as it was.
 * With `force` the database is emptied first, so it ends up equal to the backup.
 */
export async function restorePostgres(input: Readable, targetUrl: string, opts: RestorePostgresOptions): Promise<void> {
  const t = parsePostgresUrl(targetUrl);
  const mask = maskerFor(targetUrl, t, opts.reporter);
  const where = describe(t);
  const signal = opts.signal ?? cancelSignal();
  signal.throwIfAborted();

  const objects = await countUserObjects(t, opts, mask);
  if (objects > 0 && !opts.force) {
    throw new RefusedError(
      `PostgreSQL ${where} is not empty (${objects} tables, views or sequences)`,
      'rerun with --force to replace the whole database with the backup (whatever is not in the backup is dropped)',
    );
  }
  if (opts.force) opts.reporter.info(`replacing everything in ${where} with the backup (--force)`);
  signal.throwIfAborted();

  const readerArgs = ['--single-transaction', '--file=-'];
  if (!opts.keepOwnership) readerArgs.push('--no-owner', '--no-privileges');
  const lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_DB_LOCK_TIMEOUT_MS;
  const reader = spawnTool(opts.pgRestore ?? 'pg_restore', readerArgs, {
    name: 'pg_restore',
    env: childEnv(t, false),
    stdin: true,
    mask,
    onStderrLine: (line) => opts.reporter.debug(line),
    describeFailure: (f) => describePgRestoreFailure(f, where),
    signal,
  });
  const tag = sessionTag('restore');
  const writer = spawnTool(psqlFor(opts), ['-X', '--no-password', '--quiet', '-v', 'ON_ERROR_STOP=1', '--file=-', `--dbname=${t.connectionUrl}`], {
    name: 'psql',
    env: { ...childEnv(t), PGAPPNAME: tag },
    stdin: true,
    mask,
    onStderrLine: (line) => opts.reporter.debug(line),
    describeFailure: (f) => describeRestoreSqlFailure(f, where, lockTimeoutMs),
    // Stopped only by onAbort below, which knows whether the COMMIT has been handed over.
    signal: NEVER,
  });
  // A write after a child exits fails with EPIPE; its exit status says why.
  const archiveIn = reader.child.stdin!;
  const sqlIn = writer.child.stdin!;
  archiveIn.on('error', () => {});
  sqlIn.on('error', () => {});
  // Of psql's output only the transaction id is of interest (not setval's, lo_create's…).
  let output = '';
  writer.child.stdout!.setEncoding('utf8');
  writer.child.stdout!.on('data', (s: string) => {
    if (output.length < 4096) output += s;
  });

  let inputError: unknown;
  let toolError: unknown;
  let failed = false;
  let scriptComplete = false;
  let sessionEnded: Promise<void> | undefined;
  const stopped = () => failed;
  const fail = (err: unknown, fromInput: boolean) => {
    if (fromInput) inputError ??= err;
    else toolError ??= err;
    if (failed) return;
    failed = true;
    // psql first, while its stdin is still open: SIGKILL drops the connection mid-transaction,
    // and the server rolls it back. Then stop pg_restore and whatever feeds the input.
    const psqlRunning = writer.child.exitCode === null && writer.child.signalCode === null;
    writer.child.kill('SIGKILL');
    reader.child.kill('SIGKILL');
    input.destroy();
    // A session queued for a lock would linger (blocking the table's readers) until granted.
    // Ending it rolls back, which is safe only while the COMMIT was never handed to psql. A
    // psql that exited by itself closed its session itself.
    if (!scriptComplete && psqlRunning) sessionEnded = terminateTaggedSessions(t, tag, opts, mask, opts.reporter);
  };
  reader.exited.catch((err: unknown) => fail(err, false));
  writer.exited.then(
    () => {
      if (!scriptComplete) fail(new StrongboxError(`psql ended before the whole restore script reached it; ${where} was left unchanged`), false);
    },
    (err: unknown) => fail(err, false),
  );
  // After the COMMIT has been handed to psql an abort can no longer be honoured safely.
  const onAbort = () => {
    if (!scriptComplete) fail(signal.reason, true);
  };
  signal.addEventListener('abort', onAbort, { once: true });

  try {
    await write(sqlIn, restoreScriptPrologue(opts.force, lockTimeoutMs));
    const heldScript = new TailHolder(HOLD_BACK);
    const script = new LockTimeoutHead(lockTimeoutSql(lockTimeoutMs));
    pipeline(reader.child.stdout!, script).catch(() => {}); // its failures show in pg_restore's exit status
    const copying = copyScript(script, sqlIn, heldScript, stopped, (head) => warnIfUnrestricted(head, opts.reporter));
    const inputEnded = await feedArchive(input, archiveIn, stopped).catch((err: unknown) => {
      if (!failed) fail(err, true); // once stopped, errors are the teardown's
      return false;
    });
    await Promise.all([reader.exited.catch(() => {}), copying]);
    if (!failed && inputEnded) {
      // The input ended cleanly and pg_restore exited 0: psql may now see the COMMIT.
      for (const part of heldScript.rest()) await write(sqlIn, part);
      if (!failed && writable(sqlIn)) {
        scriptComplete = true;
        sqlIn.end();
      }
    }
    if (!scriptComplete && !failed) {
      // psql's stdin broke, so psql is exiting, and its exit status (handled above) is the
      // error worth reporting; give it a moment to arrive before settling for a vaguer one.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([writer.exited.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      fail(new StrongboxError(`the restore into ${where} was stopped before it finished; ${UNCHANGED}`), false);
    }
    await writer.exited.catch(() => {});
  } catch (err) {
    fail(err, false);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (failed) {
    await Promise.all([reader.exited.catch(() => {}), writer.exited.catch(() => {}), sessionEnded]);
    throw inputError ?? toolError;
  }
  const xid = new RegExp(`${XID_MARK}(\\d+)`).exec(output)?.[1];
  const status = xid
    ? await transactionStatus(t, xid, opts, mask).catch((err: unknown) => {
        throw new StrongboxError(`the restore script ran to its end in ${where}, but whether it committed could not be checked: ${(err as Error).message}`, {
          hint: `check the restored data yourself, or ask the server: SELECT txid_status(${xid})`,
          cause: err,
        });
      })
    : 'unknown';
  if (status !== 'committed') {
    throw new StrongboxError(`the restore into ${where} did not commit (its transaction ${xid ?? '(id not seen)'} is ${status}), although psql exited without an error; the database was left unchanged`, {
      hint: 'psql stopped reading its script early: check that psql and pg_restore are the real PostgreSQL client tools of one version',
    });
  }
  opts.reporter.debug(`restore into ${where} committed (transaction ${xid})`);
}

/** Runs a rollback smoke check: resolves to the number of rows the statement returned. */
export async function countQueryRows(url: string, sql: string, tools: PgToolPaths = {}): Promise<number> {
  const t = parsePostgresUrl(url);
  const out = await psqlQuery(t, sql, tools, maskerFor(url, t));
  return out === '' ? 0 : out.split('\n').length;
}
