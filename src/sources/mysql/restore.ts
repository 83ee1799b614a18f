import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RefusedError, StrongboxError } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { cancelSignal } from '../../shared/cancel.js';
import type { RestoreArtifact, TargetContext } from '../adapter.js';
import { describe, ident, maskerFor, query, runScriptFile, spawnClient, sqlString, type Client } from './client.js';
import { countDifferences, countMismatch, countRows, readSchema } from './counts.js';
import { COMPLETION_MARKER } from './dump.js';
import { DumpScanner } from './dump-scanner.js';
import { programCount, readPrograms } from './programs.js';
import { cleanStaleWork, createWorkDatabase, dropWorkDatabase, holdRestoreLock, workNames, type WorkNames } from './staging.js';
import { OLD_MARK, missingPrograms, recordedPlan, swapScript, swapSessionGone, swapState, writePlan, type SwapPlan, type SwapState } from './swap.js';
import { detectTools } from './tools.js';
import { parseMysqlUrl, type MysqlTarget } from './url.js';

/**
 * MySQL commits DDL implicitly, so a restore cannot be one transaction. It is staged instead:
 *
 * 1. The dump streams into a fresh staging database on the same server (staging.ts) through
 *    the `mariadb`/`mysql` client. The dump holds no USE/CREATE DATABASE (it is made without
 *    --databases), and one that does is refused before that line reaches the client. Nothing
 *    of the target is touched; a failure, a cancel or a SIGKILL of Strongbox leaves only the
 *    staging database, which the next restore drops.
 * 2. The stream must end cleanly with the dump's completion marker and the client exit 0.
 *    Then the staging tables are counted (COUNT(*)) and compared with the manifest: a
 *    difference is a VerificationError, and the target is still untouched.
 * 3. The swap (swap.ts), one script in a file that is the client's stdin (client.ts
 *    runScriptFile), so it runs to its end even if Strongbox is killed meanwhile: nothing of
 *    the target changes before its one atomic `RENAME TABLE`, which renames the old tables
 *    within the target (`__sb_old_<id>_…`, keeping their triggers) and brings the staging
 *    tables in; then the backup's triggers, routines, views and events replace the old ones
 *    and the old tables are dropped. The plan is recorded in staging first, and the outcome
 *    of a failed swap is read from the server (swapState), never from the client's output.
 *
 * Replaced with --force: every table, sequence, view, trigger, routine and event of the
 * target (the database ends up equal to the backup; tables not in the backup are dropped).
 * Kept: the database itself with its default character set and collation, and grants, and
 * the `__sb_old_` tables an interrupted earlier swap left (named, never dropped by us).
 * Not atomic: the milliseconds after the RENAME until the backup's triggers exist (no lock
 * is waited for then), and until its views, routines and events are re-created.
 */

export function targetOf(url: string): MysqlTarget {
  return parseMysqlUrl(url, '--mysql-target');
}

/** Tables, views, routines and events that a restore would replace. */
export async function countTargetObjects(client: Client, t: MysqlTarget, mask: (s: string) => string): Promise<number> {
  const db = sqlString(t.database);
  const rows = await query(
    client,
    t,
    `SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${db})
      + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${db})
      + (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${db})`,
    { mask, database: null },
  );
  return Number(rows[0]?.[0] ?? NaN);
}

/** Passes the dump to the client, refusing one that would leave the staging database; remembers whether it was complete. */
class RestoreGuard extends Transform {
  readonly scanner = new DumpScanner();
  constructor(private readonly onRefuse: () => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.scanner.push(chunk);
    const sw = this.scanner.peekSwitch();
    if (sw) {
      this.onRefuse();
      return cb(
        new StrongboxError(`the backup's SQL switches or creates a database ("${sw.replace(/[^\x20-\x7e]/g, '?')}…"), which a staged restore cannot allow; the target was left unchanged`, {
          hint: 'a dump made with --databases (or edited by hand) holds such lines: load it by hand with the mariadb/mysql client, or dump the one database without --databases',
        }),
      );
    }
    cb(null, chunk);
  }
}

function isOldTable(name: string): boolean {
  return new RegExp(`^${OLD_MARK}[0-9a-f]{8}_`).test(name);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function restoreMysql(input: Readable, url: string, artifact: RestoreArtifact, ctx: TargetContext & { signal?: AbortSignal }): Promise<void> {
  const t = targetOf(url);
  const reporter = ctx.reporter;
  const mask = maskerFor(url, t, reporter);
  const where = `MySQL ${describe(t)}`;
  const signal = ctx.signal ?? cancelSignal();
  signal.throwIfAborted();

  const tools = await detectTools(t, mask, signal);
  const client = tools.client;
  const before = await readSchema(client, t, mask);
  const objects = before.exists ? await countTargetObjects(client, t, mask) : 0;
  if (objects > 0 && !ctx.force) {
    throw new RefusedError(`${where} is not empty (${objects} tables, views, routines or events)`, 'rerun with --force to replace everything in the database with the backup (whatever is not in the backup is dropped)');
  }
  if (objects > 0) reporter.info(`replacing everything in ${where} with the backup (--force)`);
  await cleanStaleWork(client, t, mask, reporter);
  signal.throwIfAborted();

  const names = workNames(t.database);
  const charset = {
    ...(typeof artifact.source.characterSet === 'string' ? { characterSet: artifact.source.characterSet } : before.characterSet ? { characterSet: before.characterSet } : {}),
    ...(typeof artifact.source.collation === 'string' ? { collation: artifact.source.collation } : before.collation ? { collation: before.collation } : {}),
  };
  // Taken before the staging database exists and held until the end (see holdRestoreLock).
  const held = await holdRestoreLock(client, t, names.lock, mask);
  let swapped = false;
  const outcome = { keepStaging: false };
  try {
    await createWorkDatabase(client, t, names.staging, charset, mask);
    reporter.debug(`restoring into the staging database ${names.staging}`);
    await streamIntoStaging(input, client, t, names, where, reporter, signal, mask);
    signal.throwIfAborted();

    const staged = await readSchema(client, t, mask, names.staging);
    const stagedTables = staged.tables.filter((x) => x.type === 'BASE TABLE').map((x) => x.name);
    if (artifact.rowCountMode === 'exact' && artifact.rowCounts) {
      const actual = await countRows(client, t, names.staging, stagedTables, mask);
      const diffs = countDifferences(artifact.rowCounts, actual);
      if (diffs.length) throw countMismatch(where, diffs);
      reporter.debug(`row counts of ${stagedTables.length} table(s) match the manifest`);
    }
    const newPrograms = await readPrograms(client, t, names.staging, mask);
    const oldPrograms = before.exists ? await readPrograms(client, t, t.database, mask) : { routines: [], views: [], triggers: [], events: [] };
    const current = before.exists ? await readSchema(client, t, mask) : before;
    if (before.exists) await refuseUnswappable(client, t, names.staging, where, mask);
    const plan: SwapPlan = {
      names,
      target: t,
      createTarget: before.exists ? undefined : before,
      charset,
      // Previous tables of an interrupted swap are never dropped on the way (cleanStaleWork names them).
      oldTables: current.tables.filter((x) => x.type !== 'VIEW' && !isOldTable(x.name)).map((x) => x.name),
      newTables: staged.tables.filter((x) => x.type !== 'VIEW').map((x) => x.name),
      oldPrograms,
      newPrograms,
      lockTimeoutMs: ctx.lockTimeoutMs ?? 5 * 60_000,
    };
    signal.throwIfAborted();
    swapped = await runSwap(plan, client, where, reporter, mask, outcome);
    reporter.debug(`swapped ${plan.newTables.length} table(s) and ${programCount(newPrograms)} view(s)/routine(s)/trigger(s)/event(s) into ${where}`);
  } finally {
    // Kept when the server could not say how far a swap got: the next restore reads its plan.
    if (!swapped && !outcome.keepStaging) await dropWorkDatabase(client, t, names.staging, mask, reporter);
    await held.release();
  }
}

async function streamIntoStaging(input: Readable, client: Client, t: MysqlTarget, names: WorkNames, where: string, reporter: Reporter, signal: AbortSignal, mask: (s: string) => string): Promise<void> {
  const run = spawnClient(client.command, t, ['--batch', '--skip-column-names', '--default-character-set=utf8mb4', '--no-auto-rehash', '--unbuffered', '--one-database', '--', names.staging], {
    name: client.command,
    stdin: true,
    mask,
    onStderrLine: (line) => reporter.debug(line),
    describeFailure: (f) => {
      if (f.spawnError) return new StrongboxError(`${client.command} was not found (${f.command})`, { hint: 'install the MariaDB or MySQL client tools (e.g. apt-get install mariadb-client)' });
      const how = f.signal ? `was killed by ${f.signal}` : `failed with exit code ${f.code}`;
      return new StrongboxError(`the restore into ${where} failed: ${client.command} ${how} while running the backup's SQL in the staging database; ${where} was left unchanged${f.stderr ? `:\n${f.stderr}` : ''}`);
    },
    signal,
  });
  const stdin = run.child.stdin!;
  stdin.on('error', () => {}); // its exit status says why
  run.child.stdout!.resume();
  const guard = new RestoreGuard(() => run.child.kill('SIGKILL'));
  let streamError: unknown;
  try {
    // Its output row is the sign that the client has connected, so its option file goes at once.
    stdin.write(`SELECT 1;\n`);
    await pipeline(input, guard, stdin);
  } catch (err) {
    streamError = err;
    run.child.kill('SIGKILL');
  }
  let toolError: unknown;
  await run.exited.catch((err: unknown) => (toolError = err));
  const guardError = guard.errored ? (guard as unknown as { errored: unknown }).errored : undefined;
  if (guardError instanceof StrongboxError) throw guardError;
  if (signal.aborted) throw signal.reason;
  // The input's own errors (a damaged or undecryptable backup) keep their meaning and exit code.
  if (streamError instanceof StrongboxError) throw streamError;
  if (streamError && !(toolError && isPipeError(streamError))) {
    throw new StrongboxError(`reading the backup failed while restoring into ${where}; ${where} was left unchanged: ${errorText(streamError)}`, { cause: streamError });
  }
  if (toolError) throw toolError;
  const r = guard.scanner.end();
  if (!r.complete) {
    throw new StrongboxError(`the backup's SQL ends without the dump's "${COMPLETION_MARKER}" line (${r.bytes} bytes): it is truncated; ${where} was left unchanged`, { hint: 'the artifact is incomplete: restore another backup' });
  }
}

function isPipeError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/** Hands the whole swap script to one client; returns true once the tables were swapped. The outcome is read from the server, never from the client's output. */
async function runSwap(plan: SwapPlan, client: Client, where: string, reporter: Reporter, mask: (s: string) => string, outcome: { keepStaging: boolean }): Promise<boolean> {
  const t = plan.target;
  const rec = recordedPlan(plan);
  await writePlan(client, t, plan.names.staging, rec, mask);
  let out = '';
  const r = await runScriptFile(client.command, t, ['--batch', '--skip-column-names', '--default-character-set=utf8mb4', '--no-auto-rehash', '--unbuffered'], swapScript(plan, rec), { mask, onStdout: (s) => (out += s) });
  reporter.debug(`swap script output: ${out.replace(/\n/g, ' ').trim()}`);
  const failed = r.spawnError || r.code !== 0 || r.signal;
  const why = r.spawnError ? `${client.command} was not found` : failed ? `${client.command} ${r.signal ? `was killed by ${r.signal}` : `failed with exit code ${r.code}`}${r.stderr ? `: ${r.stderr}` : ''}` : '';
  let st: SwapState;
  try {
    if (failed && !(await swapSessionGone(client, t, plan.names.id, plan.lockTimeoutMs + 60_000, mask))) throw new Error('its server session is still running');
    st = await swapState(client, t, plan.names.staging, rec, mask);
  } catch (err) {
    outcome.keepStaging = true;
    throw new StrongboxError(`the restore into ${where} ${failed ? `stopped during the swap (${why})` : 'ran its swap'}, and the server could not be asked how far it got (${errorText(err)}); nothing was dropped`, {
      hint: `check by hand: if ${plan.names.staging} still holds the backup's tables, the RENAME did not happen and ${t.database} is as it was; otherwise ${t.database} holds the backup's tables and its previous ones are the \`${OLD_MARK}${plan.names.id}_…\` tables in it. The next restore into ${t.database} also tells which.`,
      cause: err,
    });
  }
  if (st.renamed === undefined) {
    outcome.keepStaging = true;
    throw new StrongboxError(`the restore into ${where} stopped during the swap${failed ? ` (${why})` : ''}, and the tables are neither all in ${plan.names.staging} nor all in ${t.database}; nothing was dropped`, {
      hint: `inspect ${t.database} and ${plan.names.staging} by hand; the previous tables are the \`${OLD_MARK}${plan.names.id}_…\` ones`,
    });
  }
  if (!st.renamed) {
    // The target was not touched; staging holds only the backup's copy.
    throw new StrongboxError(`the restore into ${where} could not swap the restored tables in (${why || 'the swap script stopped before its RENAME TABLE'}); the server shows ${where} ${plan.createTarget ? 'still without tables (it was created empty)' : 'as it was (its tables, views, triggers and routines were not touched)'}`, {
      hint: 'the restore needs CREATE, DROP, ALTER and INSERT on the target and its __strongbox_ working database; a table locked by another session makes RENAME TABLE wait up to --db-lock-timeout',
    });
  }
  // Renamed: staging holds nothing but the plan now.
  outcome.keepStaging = st.stagingTables > 0;
  const missing = await missingPrograms(client, t, plan.newPrograms, mask).catch((err: unknown) => [`(could not be checked: ${errorText(err)})`]);
  if (missing.length) {
    throw new StrongboxError(`the restore into ${where} swapped the backup's tables in, but re-creating its views, routines, triggers or events failed${why ? ` (${why})` : ''}; missing: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? `, … (${missing.length} in all)` : ''}`, {
      hint: `${st.oldLeft.length ? `the previous tables are kept in ${t.database} as ${st.oldLeft.slice(0, 5).map(ident).join(', ')}${st.oldLeft.length > 5 ? ', …' : ''} (drop them once you no longer need them)` : 'no previous tables are left'}; the backup's definitions compiled in staging, so check the privileges (CREATE VIEW, CREATE ROUTINE, TRIGGER, EVENT, and SUPER/SET USER for other definers), then restore again with --force`,
    });
  }
  if (st.oldLeft.length) reporter.warning(`the restore into ${where} succeeded, but its previous tables could not be dropped${why ? ` (${why})` : ''}: drop ${st.oldLeft.map((o) => `${t.database}.${ident(o)}`).join(', ')} yourself`);
  if (failed || st.stagingTables === 0) await dropWorkDatabase(client, t, plan.names.staging, mask, reporter);
  return true;
}

/**
 * What would make the one atomic RENAME fail, or break something outside the target, found
 * while the target is still untouched. Foreign-key names are unique per database in InnoDB,
 * and a named one (Rails' fk_rails_…, Django's, Laravel's) keeps its name when its table is
 * renamed aside, so the backup's copy cannot come in beside it. A foreign key in another
 * database would follow the renamed old table and then point at a dropped one.
 */
async function refuseUnswappable(client: Client, t: MysqlTarget, staging: string, where: string, mask: (s: string) => string): Promise<void> {
  const names = async (schema: string) =>
    new Set(
      (await query(client, t, `SELECT CONSTRAINT_NAME FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ${sqlString(schema)} AND CONSTRAINT_TYPE = 'FOREIGN KEY'`, { mask, database: null })).map((r) => r[0]!),
    );
  const [own, incoming] = await Promise.all([names(t.database), names(staging)]);
  // <table>_ibfk_N names are renamed with their table, so only chosen names collide.
  const shared = [...incoming].filter((n) => own.has(n) && !/_ibfk_\d+$/.test(n));
  if (shared.length) {
    throw new RefusedError(
      `the backup's foreign keys ${shared.slice(0, 5).map((n) => `\`${n}\``).join(', ')}${shared.length > 5 ? ` and ${shared.length - 5} more` : ''} have the same names as ${where}'s own, and MySQL keeps foreign-key names unique per database, so the tables cannot be swapped in one atomic RENAME; nothing was changed`,
      'restore into a new, empty database and point the application at it, or (after a backup of it) drop the target\'s tables and restore without --force',
    );
  }
  const outside = await query(
    client,
    t,
    `SELECT CONCAT(CONSTRAINT_SCHEMA, '.', TABLE_NAME, ' (', CONSTRAINT_NAME, ')') FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE UNIQUE_CONSTRAINT_SCHEMA = ${sqlString(t.database)} AND CONSTRAINT_SCHEMA <> ${sqlString(t.database)} AND CONSTRAINT_SCHEMA <> ${sqlString(staging)}`,
    { mask, database: null },
  );
  if (outside.length) {
    throw new RefusedError(
      `foreign keys in other databases reference tables of ${where} (${outside.slice(0, 5).map((r) => r[0]).join(', ')}): after the swap they would point at the replaced tables; nothing was changed`,
      'drop those foreign keys, restore, then create them again',
    );
  }
}
