import { Transform, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { StoppedError, StrongboxError } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import type { SourceDump } from '../adapter.js';
import { runTool, spawnTool } from '../process.js';
import { childEnv, maskerFor, describe, psqlQuery, sessionTag, terminateTaggedSessions } from './connection.js';
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
