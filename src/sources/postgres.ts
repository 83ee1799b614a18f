import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Transform, type Readable, type TransformCallback, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { RefusedError, StrongboxError } from '../core/errors.js';
import { SecretMasker, type Reporter } from '../core/reporter.js';
import { parsePostgresUrl, type PgTarget } from './pg-url.js';
import { runTool, spawnTool, type ToolFailure } from './process.js';
import type { SourceDump } from './types.js';

/**
 * PostgreSQL through the standard client tools: `pg_dump --format=custom` to back up,
 * `pg_restore --single-transaction` to restore. The password reaches the children only as
 * PGPASSWORD (argv is world-readable in `ps`), and every text taken from them is masked.
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

function childEnv(t: PgTarget): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // Without a bound, libpq waits forever for an unreachable host.
    PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? '30',
    ...(t.password !== undefined ? { PGPASSWORD: t.password } : {}),
  };
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

async function psqlQuery(t: PgTarget, sql: string, tools: PgToolPaths, mask: (s: string) => string): Promise<string> {
  const out = await runTool(
    psqlFor(tools),
    ['-X', '--no-password', '--no-align', '--tuples-only', '--quiet', '-v', 'ON_ERROR_STOP=1', '-c', sql, `--dbname=${t.connectionUrl}`],
    { name: 'psql', env: childEnv(t), mask, describeFailure: connectFailure(t) },
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

/** Turns a pg_dump failure (exit status, signal, stderr) into what the user needs to know. */
export function describePgDumpFailure(f: ToolFailure, where: string): StrongboxError {
  if (f.spawnError) {
    return new StrongboxError(`pg_dump was not found (${f.command})`, { hint: 'install the PostgreSQL client tools (e.g. postgresql-client), the same major version as the server or newer' });
  }
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

export function describePgRestoreFailure(f: ToolFailure, where: string, cleaning = false): StrongboxError {
  if (f.spawnError) {
    return new StrongboxError(`pg_restore was not found (${f.command})`, { hint: 'install the PostgreSQL client tools (e.g. postgresql-client), the same major version as the dump or newer' });
  }
  const unchanged = 'it ran in a single transaction, so the database was left unchanged';
  const version = /unsupported version \(([\d.]+)\) in file header/.exec(f.stderr);
  if (version) {
    return new StrongboxError(`pg_restore is too old to read this dump (archive format ${version[1]}); ${where} was not changed`, {
      hint: 'install pg_restore from the PostgreSQL version recorded in the manifest (clientVersion) or newer',
    });
  }
  const how = f.signal ? `was killed by ${f.signal}` : `failed with exit code ${f.code}`;
  // --clean drops the dumped objects one statement at a time (defaults, constraints, then
  // tables); IF EXISTS covers tables but not their columns, so a target whose schema has
  // drifted from the backup's fails here, before any data is touched.
  const dropping = cleaning && /Command was: (ALTER TABLE IF EXISTS .* DROP |DROP )/.test(f.stderr);
  return new StrongboxError(`pg_restore into ${where} ${how}; ${unchanged}${f.stderr ? `:\n${f.stderr}` : ''}`, {
    hint: dropping
      ? "the target's schema differs from the backup's, so its old objects could not be dropped one by one: restore into an empty database (drop and recreate it), or drop the conflicting objects first"
      : undefined,
  });
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

export async function dumpPostgres(url: string, reporter: Reporter, opts: { pgDump?: string; psql?: string } = {}): Promise<SourceDump> {
  const t = parsePostgresUrl(url);
  const mask = maskerFor(url, t, reporter);
  const where = describe(t);
  const pgDump = opts.pgDump ?? 'pg_dump';
  const env = childEnv(t);

  const clientVersion = parseVersion(
    await runTool(pgDump, ['--version'], { name: 'pg_dump', env, mask, describeFailure: (f) => describePgDumpFailure(f, where) }),
  );
  // Asking the server first also turns a wrong URL or password into an error before any stream exists.
  const serverVersion = parseVersion(await psqlQuery(t, 'show server_version', opts, mask));
  if (majorVersion(serverVersion) > majorVersion(clientVersion)) throw versionMismatchError(serverVersion, clientVersion, where);
  reporter.debug(`pg_dump ${clientVersion} dumping ${where} (PostgreSQL ${serverVersion})`);

  const run = spawnTool(
    pgDump,
    // No pg_dump compression: the pipeline compresses with zstd, better and faster than zlib twice.
    ['--format=custom', '--compress=0', '--no-password', `--dbname=${t.connectionUrl}`],
    { name: 'pg_dump', env, mask, onStderrLine: (line) => reporter.warning(line), describeFailure: (f) => describePgDumpFailure(f, where) },
  );
  const guard = new DumpGuard(run.exited, where);
  // Errors reach the consumer through `guard`; this promise only drives the piping.
  pipeline(run.child.stdout!, guard).catch(() => {});
  guard.on('close', () => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  });

  const completed = finished(guard).catch((err: unknown) => {
    if (err instanceof StrongboxError) throw err;
    throw new StrongboxError(`the dump of ${where} was stopped before it finished`, { cause: err });
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

export interface RestorePostgresOptions extends PgToolPaths {
  force: boolean;
  reporter: Reporter;
  signal?: AbortSignal;
  /** Replay owners and GRANTs as dumped (needs the same roles on the target server). */
  keepOwnership?: boolean;
}

/**
 * Restores a custom-format dump from `input` into `targetUrl` in one transaction: any error
 * (SQL, a failing input, an abort) leaves the target exactly as it was.
 */
export async function restorePostgres(input: Readable, targetUrl: string, opts: RestorePostgresOptions): Promise<void> {
  const t = parsePostgresUrl(targetUrl);
  const mask = maskerFor(targetUrl, t, opts.reporter);
  const where = describe(t);
  opts.signal?.throwIfAborted();

  const objects = await countUserObjects(t, opts, mask);
  if (objects > 0 && !opts.force) {
    throw new RefusedError(
      `PostgreSQL ${where} is not empty (${objects} tables, views or sequences)`,
      'rerun with --force to replace the objects that are in the backup (other objects are kept)',
    );
  }
  if (objects > 0) opts.reporter.info(`replacing the backed-up objects in ${where} (--force)`);
  opts.signal?.throwIfAborted();

  const args = ['--single-transaction', '--exit-on-error', '--no-password', `--dbname=${t.connectionUrl}`];
  if (!opts.keepOwnership) args.push('--no-owner', '--no-privileges');
  if (opts.force) args.push('--clean', '--if-exists');
  const run = spawnTool(opts.pgRestore ?? 'pg_restore', args, {
    name: 'pg_restore',
    env: childEnv(t),
    stdin: true,
    mask,
    onStderrLine: (line) => opts.reporter.debug(line),
    describeFailure: (f) => describePgRestoreFailure(f, where, opts.force),
  });

  // A stdin write after pg_restore exits fails with EPIPE; its exit status says why.
  const stdin = run.child.stdin!;
  stdin.on('error', () => {});
  const onAbort = () => input.destroy(opts.signal!.reason as Error);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const tail = new TailHolder(HOLD_BACK);
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        for (const part of tail.push(chunk)) if (writable(stdin) && !stdin.write(part)) await drained(stdin);
        if (!writable(stdin)) break; // pg_restore is gone; run.exited explains why
      }
    } catch (err) {
      // The input failed (or the restore was aborted): SIGKILL leaves pg_restore no chance to
      // COMMIT, and the server rolls the transaction back when the connection drops.
      run.child.kill('SIGKILL');
      await run.exited.catch(() => {});
      throw err;
    }
    if (writable(stdin)) {
      for (const part of tail.rest()) if (writable(stdin) && !stdin.write(part)) await drained(stdin);
      stdin.end();
    }
    await run.exited;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  opts.reporter.debug(`pg_restore into ${where} committed`);
}

/** Runs a rollback smoke check: resolves to the number of rows the statement returned. */
export async function countQueryRows(url: string, sql: string, tools: PgToolPaths = {}): Promise<number> {
  const t = parsePostgresUrl(url);
  const out = await psqlQuery(t, sql, tools, maskerFor(url, t));
  return out === '' ? 0 : out.split('\n').length;
}
