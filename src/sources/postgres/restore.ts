import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RefusedError, StrongboxError } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { cancelSignal } from '../../shared/cancel.js';
import { spawnTool } from '../process.js';
import { childEnv, describe, maskerFor, NEVER, psqlFor, psqlQuery, sessionTag, terminateTaggedSessions, type PgToolPaths } from './connection.js';
import { describePgRestoreFailure, describeRestoreSqlFailure, UNCHANGED } from './failures.js';
import { DEFAULT_DB_LOCK_TIMEOUT_MS, HOLD_BACK } from './limits.js';
import { LockTimeoutHead, lockTimeoutSql, RESTORE_PUBLIC_SQL, restoreScriptPrologue, XID_MARK } from './restore-script.js';
import { TailHolder } from './tail-holder.js';
import type { RowCounts } from '../adapter.js';
import { findClient, type ClientSearch } from './clients.js';
import { KeepSchemas } from './keep-schemas.js';
import { ROW_COUNT_SKIPPED, rowCountCheckSql } from './row-count-sql.js';
import { countUserObjects } from './target.js';
import { parsePostgresUrl, type PgTarget } from './url.js';

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

/**
 * The script's held tail with `sql` put just before pg_restore's final COMMIT (the row-count
 * check, the partial restore's care for `public`), so a failure there raises inside the
 * transaction and nothing is committed.
 */
function beforeCommit(tail: Buffer, sql: string): Buffer | Error {
  if (!sql) return tail;
  const at = tail.toString('latin1').lastIndexOf('\nCOMMIT;\n');
  if (at < 0) return new StrongboxError(`pg_restore's script did not end with the COMMIT of its transaction, so the restored data could not be checked; ${UNCHANGED}`);
  return Buffer.concat([tail.subarray(0, at + 1), Buffer.from(sql, 'utf8'), tail.subarray(at + 1)]);
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
  /**
   * The dump left objects out (--schema, --table…): `force` then replaces only the objects it
   * holds (`pg_restore --clean --if-exists`) instead of emptying the database.
   */
  partial?: boolean;
  /** A partial dump that left objects out of its schemas: keep the schemas (keep-schemas.ts). */
  keepSchemas?: boolean;
  /** Rows per table the restored data must have before the COMMIT (the manifest's exact counts). */
  expectedRowCounts?: RowCounts;
  /** The pg_dump version that wrote the archive: pg_restore must be at least as new. */
  dumpVersion?: string;
  pgBin?: string;
  search?: ClientSearch;
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

  // An explicit pg_restore runs as is (tests); otherwise one that can read the dump, and its psql.
  const tools: PgToolPaths = { ...opts };
  if (!opts.pgRestore) {
    const client = await findClient('pg_restore', opts.dumpVersion || '0', `restoring a dump written by pg_dump ${opts.dumpVersion || '(version not recorded)'}`, {
      env: childEnv(t, false),
      ...opts.search,
      ...(opts.pgBin ? { pgBin: opts.pgBin } : {}),
    });
    tools.pgRestore = client.tool;
    tools.psql ??= client.psql;
    opts.reporter.debug(`pg_restore ${client.version} (${client.tool}) restoring into ${where}`);
  }

  const objects = await countUserObjects(t, tools, mask);
  if (objects > 0 && !opts.force) {
    throw new RefusedError(
      `PostgreSQL ${where} is not empty (${objects} tables, views or sequences)`,
      'rerun with --force to replace the whole database with the backup (whatever is not in the backup is dropped)',
    );
  }
  if (opts.force && opts.partial) opts.reporter.info(`replacing the objects this partial backup holds in ${where}, and nothing else (--force)`);
  else if (opts.force) opts.reporter.info(`replacing everything in ${where} with the backup (--force)`);
  signal.throwIfAborted();

  const readerArgs = ['--single-transaction', '--file=-'];
  // A partial dump drops exactly its own objects (each DROP … IF EXISTS, without CASCADE);
  // its schemas too only when it holds them whole (else KeepSchemas keeps them).
  if (opts.partial) readerArgs.push('--clean', '--if-exists');
  if (!opts.keepOwnership) readerArgs.push('--no-owner', '--no-privileges');
  const lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_DB_LOCK_TIMEOUT_MS;
  const reader = spawnTool(tools.pgRestore ?? 'pg_restore', readerArgs, {
    name: 'pg_restore',
    env: childEnv(t, false),
    stdin: true,
    mask,
    onStderrLine: (line) => opts.reporter.debug(line),
    describeFailure: (f) => describePgRestoreFailure(f, where),
    signal,
  });
  const tag = sessionTag('restore');
  const writer = spawnTool(psqlFor(tools), ['-X', '--no-password', '--quiet', '-v', 'ON_ERROR_STOP=1', '--file=-', `--dbname=${t.connectionUrl}`], {
    name: 'psql',
    env: { ...childEnv(t), PGAPPNAME: tag },
    stdin: true,
    mask,
    onStderrLine: (line) => {
      const at = line.indexOf(ROW_COUNT_SKIPPED);
      if (at < 0) return opts.reporter.debug(line);
      opts.reporter.warning(`${line.slice(at)} (restored in ${where}, but their row counts were not compared with the manifest: compare them yourself, or restore as a role that may read them)`);
    },
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
    if (!scriptComplete && psqlRunning) sessionEnded = terminateTaggedSessions(t, tag, tools, mask, opts.reporter);
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
    await write(sqlIn, restoreScriptPrologue(opts.force && !opts.partial, lockTimeoutMs, !!opts.partial));
    const heldScript = new TailHolder(HOLD_BACK);
    const script = new LockTimeoutHead(lockTimeoutSql(lockTimeoutMs));
    // Its failures show in pg_restore's exit status.
    (opts.partial && opts.keepSchemas ? pipeline(reader.child.stdout!, new KeepSchemas(), script) : pipeline(reader.child.stdout!, script)).catch(() => {});
    const copying = copyScript(script, sqlIn, heldScript, stopped, (head) => warnIfUnrestricted(head, opts.reporter));
    const inputEnded = await feedArchive(input, archiveIn, stopped).catch((err: unknown) => {
      if (!failed) fail(err, true); // once stopped, errors are the teardown's
      return false;
    });
    await Promise.all([reader.exited.catch(() => {}), copying]);
    if (!failed && inputEnded) {
      // The input ended cleanly and pg_restore exited 0: psql may now see the COMMIT.
      const checks = `${opts.partial ? RESTORE_PUBLIC_SQL : ''}${opts.expectedRowCounts && Object.keys(opts.expectedRowCounts).length ? rowCountCheckSql(opts.expectedRowCounts) : ''}`;
      const tail = beforeCommit(Buffer.concat(heldScript.rest()), checks);
      if (tail instanceof Error) fail(tail, false);
      else await write(sqlIn, tail);
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
    ? await transactionStatus(t, xid, tools, mask).catch((err: unknown) => {
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
