import { Transform, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { StoppedError, StrongboxError } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RowCountMode, SourceDetails, SourceDump } from '../adapter.js';
import { findClient, type ClientSearch } from './clients.js';
import { rowCountQuery } from './row-count-sql.js';
import { scopeArgs, scopeDetails, scopeFromOptions, type PgScope } from './scope.js';
import { SnapshotSession } from './snapshot.js';
import { runTool, spawnTool } from '../process.js';
import { childEnv, maskerFor, describe, psqlFor, psqlQuery, sessionTag, terminateTaggedSessions } from './connection.js';
import { describePgDumpFailure } from './failures.js';
import { DEFAULT_DB_LOCK_TIMEOUT_MS } from './limits.js';
import { parsePostgresUrl } from './url.js';
import { majorVersion, parseVersion, versionMismatchError } from './versions.js';

/** pg_dump's custom format; see pg_backup_archiver.c (WriteHead). */
const MAGIC = 'PGDMP';
const HEADER_LEN = 11;
const FORMAT_CUSTOM = 1;

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

export interface DumpPostgresOptions {
  /** A pg_dump to run as is (tests); otherwise one new enough is searched (see clients.ts). */
  pgDump?: string;
  psql?: string;
  pgBin?: string;
  /** Where to search (tests inject fake folders). */
  search?: ClientSearch;
  lockTimeoutMs?: number;
  scope?: PgScope;
  rowSecurity?: boolean;
  rowCounts?: RowCountMode;
}

export async function dumpPostgres(url: string, reporter: Reporter, opts: DumpPostgresOptions = {}): Promise<SourceDump> {
  const t = parsePostgresUrl(url);
  const mask = maskerFor(url, t, reporter);
  const where = describe(t);
  const env = childEnv(t);
  const lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_DB_LOCK_TIMEOUT_MS;
  const scope = opts.scope ?? scopeFromOptions();
  const rowCountMode = opts.rowCounts ?? 'exact';
  const search: ClientSearch = { env, ...opts.search, ...(opts.pgBin ? { pgBin: opts.pgBin } : {}) };

  // Asking the server first also turns a wrong URL or password into an error before any stream exists.
  const askWith = { psql: opts.psql ?? (opts.pgDump ? undefined : searchedPsql(search)), pgDump: opts.pgDump };
  const serverVersion = parseVersion(await psqlQuery(t, 'show server_version', askWith, mask));
  let pgDump: string;
  let psql: string | undefined = opts.psql;
  let clientVersion: string;
  if (opts.pgDump) {
    pgDump = opts.pgDump;
    clientVersion = parseVersion(
      await runTool(pgDump, ['--version'], { name: 'pg_dump', env, mask, describeFailure: (f) => describePgDumpFailure(f, where) }),
    );
    if (majorVersion(serverVersion) > majorVersion(clientVersion)) throw versionMismatchError(serverVersion, clientVersion, where);
  } else {
    const client = await findClient('pg_dump', serverVersion, `dumping the PostgreSQL ${serverVersion} server of ${where}`, search);
    pgDump = client.tool;
    psql ??= client.psql;
    clientVersion = client.version;
  }
  reporter.debug(`pg_dump ${clientVersion} (${pgDump}) dumping ${where} (PostgreSQL ${serverVersion})`);
  const tools = { pgDump, ...(psql ? { psql } : {}) };

  const tag = sessionTag('dump');
  // Counting shares pg_dump's snapshot: the session exporting it stays open until pg_dump ends.
  let session: SnapshotSession | undefined;
  let snapshotArgs: string[] = [];
  if (rowCountMode !== 'none') {
    session = SnapshotSession.open(t, psqlFor(tools), mask, { rowSecurity: !!opts.rowSecurity, lockTimeoutMs, appName: tag });
    try {
      snapshotArgs = [`--snapshot=${await session.snapshotId()}`];
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  const args = [
    // No pg_dump compression: the pipeline compresses with zstd, better and faster than zlib twice.
    // A table lock held elsewhere (a migration's ACCESS EXCLUSIVE) fails the dump instead of stalling it forever.
    '--format=custom', '--compress=0', '--no-password', `--lock-wait-timeout=${lockTimeoutMs}`,
    ...snapshotArgs,
    ...(opts.rowSecurity ? ['--enable-row-security'] : []),
    ...scopeArgs(scope),
    `--dbname=${t.connectionUrl}`,
  ];
  const run = spawnTool(pgDump, args, {
    name: 'pg_dump', env: { ...env, PGAPPNAME: tag }, mask, onStderrLine: (line) => reporter.warning(line), describeFailure: (f) => describePgDumpFailure(f, where, lockTimeoutMs),
  });
  // On SIGTERM pg_dump cancels its own query; one killed outright (SIGKILL after the grace
  // period) while waiting for a lock leaves its session queued for that lock (the counting
  // session carries the same tag).
  let counted: Promise<void> = Promise.resolve();
  const dumped = run.exited.then(
    async () => {
      // pg_dump succeeded: a failed count now fails the dump (had pg_dump failed, its error would say more).
      try {
        await counted;
      } finally {
        await session?.close();
      }
    },
    async (err: unknown) => {
      session?.kill();
      await session?.close();
      throw err;
    },
  );
  // The counting session is SIGKILLed on any failure, and one killed while its count waits for
  // a lock stays queued on the server as pg_dump's would: end every session of the tag.
  const sessionEnded = dumped.catch(() => (run.child.signalCode || session ? terminateTaggedSessions(t, tag, tools, mask, reporter) : undefined));
  const guard = new DumpGuard(dumped, where);

  const details: SourceDetails = { engine: 'postgresql', serverVersion, clientVersion, database: t.database, host: t.host, dumpFormat: 'custom', ...scopeDetails(scope) };
  if (opts.rowSecurity) details.rowSecurity = true;
  const result: SourceDump = { stream: guard, completed: Promise.resolve(), details };

  // Counted while pg_dump runs (same snapshot); a failed count fails the dump once pg_dump has ended.
  counted = session
    ? session.count(rowCountQuery(scope, rowCountMode === 'exact' ? 'exact' : 'estimate')).then(
(counts) => {
        result.rowCounts = counts;
        result.rowCountMode = rowCountMode;
      })
    : Promise.resolve();
  counted.catch(() => {});

  // Errors reach the consumer through `guard`; this promise only drives the piping.
  pipeline(run.child.stdout!, guard).catch(() => {});
  guard.on('close', () => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  });

  result.completed = finished(guard)
    .then(() => counted)
    .catch(async (err: unknown) => {
      await sessionEnded;
      if (err instanceof StrongboxError) throw err;
      throw new StoppedError(`the dump of ${where} was stopped before it finished`, { cause: err });
    });
  result.completed.catch(() => {});
  return result;
}

/** The psql to ask the server's version with: the one of --pg-bin when given. */
function searchedPsql(search: ClientSearch): string | undefined {
  const psql = search.pgBin ? join(search.pgBin, 'psql') : undefined;
  return psql && existsSync(psql) ? psql : undefined;
}
