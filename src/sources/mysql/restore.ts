import { randomBytes } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RefusedError, StrongboxError } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { cancelSignal } from '../../shared/cancel.js';
import type { RestoreArtifact, TargetContext } from '../adapter.js';
import { clientMissing, describe, ident, maskerFor, query, runScriptFile, spawnClient, sqlString, type Client } from './client.js';
import { countDifferences, countMismatch, countRows, readSchema, type SchemaInfo } from './counts.js';
import { COMPLETION_MARKER } from './dump.js';
import { DumpScanner } from './dump-scanner.js';
import { createStatements, delimiterToken, dropStatement, programCount, readPrograms, type Program, type Programs } from './programs.js';
import { charsetClause, cleanStaleWork, createWorkDatabase, dropWorkDatabase, workNames, type WorkNames } from './staging.js';
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
 * 3. The swap, one script handed whole to one client session: the old tables (with --force)
 *    and the new ones change places in ONE `RENAME TABLE` statement, which is atomic; the
 *    target's old views, routines and events are dropped and the backup's re-created (see
 *    programs.ts), then the working databases are dropped. The script goes whole into a file
 *    that is the client's stdin (client.ts runScriptFile), so it runs to its end even if
 *    Strongbox is killed meanwhile.
 *
 * Replaced with --force: every table, sequence, view, trigger, routine and event of the
 * target (the database ends up equal to the backup; tables not in the backup are dropped).
 * Kept: the database itself with its default character set and collation, and grants.
 * The one window that is not atomic is the swap's: triggers of the old tables are dropped
 * just before the RENAME (a table with triggers cannot move to another database) and the
 * backup's views, routines, triggers and events are created just after it. A failure there
 * is reported, undone where it can be (the old triggers are re-created if the RENAME did not
 * happen); the tables themselves are either all old or all new.
 */

const HOLD = 'strongbox:';

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
          hint: 'it was not made by Strongbox (a dump with --databases?): restore it by hand, or dump the one database without --databases',
        }),
      );
    }
    cb(null, chunk);
  }
}

export interface SwapPlan {
  names: WorkNames;
  target: MysqlTarget;
  createTarget: SchemaInfo | undefined;
  charset: { characterSet?: string; collation?: string };
  oldTables: string[];
  newTables: string[];
  oldPrograms: Programs;
  newPrograms: Programs;
  lockTimeoutMs: number;
}

/** Old views that must go before the RENAME: they hold a name a restored table takes. */
export function blockingViews(p: Pick<SwapPlan, 'oldPrograms' | 'newTables'>): Program[] {
  const names = new Set(p.newTables);
  return p.oldPrograms.views.filter((v) => names.has(v.name));
}

/** The swap script (see the comment at the top); markers on stdout say how far it got. */
export function swapScript(p: SwapPlan): string {
  const db = ident(p.target.database);
  const stg = ident(p.names.staging);
  const trash = ident(p.names.trash);
  const delim = delimiterToken();
  const s: string[] = [];
  s.push(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(p.lockTimeoutMs / 1000))};`);
  s.push(`SELECT '${HOLD}start';`);
  if (p.createTarget) s.push(`CREATE DATABASE IF NOT EXISTS ${db}${charsetClause(p.charset)};`);
  if (p.oldTables.length) s.push(`CREATE DATABASE ${trash};`);
  for (const tr of p.newPrograms.triggers) s.push(`DROP TRIGGER IF EXISTS ${stg}.${ident(tr.name)};`);
  for (const tr of p.oldPrograms.triggers) s.push(`DROP TRIGGER IF EXISTS ${db}.${ident(tr.name)};`);
  // An old view named like a table of the backup would block that table's RENAME.
  for (const v of blockingViews(p)) s.push(`DROP VIEW IF EXISTS ${db}.${ident(v.name)};`);
  const renames = [...p.oldTables.map((n) => `${db}.${ident(n)} TO ${trash}.${ident(n)}`), ...p.newTables.map((n) => `${stg}.${ident(n)} TO ${db}.${ident(n)}`)];
  if (renames.length) s.push(`RENAME TABLE ${renames.join(',\n  ')};`);
  s.push(`SELECT '${HOLD}renamed';`);
  s.push(`USE ${db};`);
  for (const v of [...p.oldPrograms.views].reverse()) s.push(dropStatement(v));
  for (const r of [...p.oldPrograms.routines].reverse()) s.push(dropStatement(r));
  for (const e of p.oldPrograms.events) s.push(dropStatement(e));
  const np = p.newPrograms;
  for (const obj of [...np.routines, ...np.views, ...np.triggers, ...np.events]) s.push(createStatements(obj, delim));
  s.push(`SELECT '${HOLD}created';`);
  s.push(`DROP DATABASE IF EXISTS ${stg};`);
  if (p.oldTables.length) s.push(`DROP DATABASE IF EXISTS ${trash};`);
  s.push(`SELECT '${HOLD}done';`);
  return `${s.join('\n')}\n`;
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
  await createWorkDatabase(client, t, names.staging, charset, mask);
  reporter.debug(`restoring into the staging database ${names.staging}`);
  let swapped = false;
  try {
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
    const plan: SwapPlan = {
      names,
      target: t,
      createTarget: before.exists ? undefined : before,
      charset,
      oldTables: current.tables.filter((x) => x.type !== 'VIEW').map((x) => x.name),
      newTables: staged.tables.filter((x) => x.type !== 'VIEW').map((x) => x.name),
      oldPrograms,
      newPrograms,
      lockTimeoutMs: ctx.lockTimeoutMs ?? 5 * 60_000,
    };
    signal.throwIfAborted();
    swapped = await runSwap(plan, client, where, reporter, mask);
    reporter.debug(`swapped ${plan.newTables.length} table(s) and ${programCount(newPrograms)} view(s)/routine(s)/trigger(s)/event(s) into ${where}`);
  } finally {
    if (!swapped) await dropWorkDatabase(client, t, names.staging, mask, reporter);
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
    // The lock marks the staging database as in use (staging.ts); its output row is also the
    // sign that the client has connected, so its option file goes at once.
    stdin.write(`SELECT GET_LOCK(${sqlString(names.lock)}, 0);\n`);
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

/** Hands the whole swap script to one client; returns true once the tables were swapped. */
async function runSwap(plan: SwapPlan, client: Client, where: string, reporter: Reporter, mask: (s: string) => string): Promise<boolean> {
  const t = plan.target;
  let out = '';
  const r = await runScriptFile(client.command, t, ['--batch', '--skip-column-names', '--default-character-set=utf8mb4', '--no-auto-rehash', '--unbuffered'], swapScript(plan), { mask, onStdout: (s) => (out += s) });
  const failure = r.spawnError ? clientMissing(client.command, client.engine) : r.code === 0 && !r.signal ? undefined : new StrongboxError(`${client.command} ${r.signal ? `was killed by ${r.signal}` : `failed with exit code ${r.code}`}${r.stderr ? `:\n${r.stderr}` : ''}`);
  const renamed = out.includes(`${HOLD}renamed`);
  if (!failure && out.includes(`${HOLD}done`)) return true;
  const why = failure instanceof StrongboxError ? failure.message : errorText(failure ?? 'the swap script stopped early');
  if (!renamed) {
    await restoreTriggers(plan, client, reporter, mask);
    await dropWorkDatabase(client, t, plan.names.trash, mask, reporter);
    throw new StrongboxError(`the restore into ${where} could not swap the restored tables in (${why}); ${where} was left unchanged`, {
      hint: 'the restore needs CREATE, DROP, ALTER and INSERT on the target and its __strongbox_ working databases; a table locked by another session makes RENAME TABLE wait up to --db-lock-timeout',
    });
  }
  if (!out.includes(`${HOLD}created`)) {
    throw new StrongboxError(`the restore into ${where} swapped the backup's tables in, but re-creating its views, routines, triggers or events failed (${why})`, {
      hint: `the previous tables are kept in ${plan.names.trash}${plan.oldTables.length ? '' : ' (none)'}; the backup's definitions compiled in staging, so check the privileges (CREATE VIEW, CREATE ROUTINE, TRIGGER, EVENT, and SUPER/SET USER for other definers), then restore again with --force`,
    });
  }
  reporter.warning(`the restore into ${where} succeeded, but dropping its working databases failed (${why}): drop ${plan.names.staging} and ${plan.names.trash} yourself`);
  return true;
}

/** After a swap that did not happen: the old triggers and views that the script had dropped before the RENAME come back. */
async function restoreTriggers(plan: SwapPlan, client: Client, reporter: Reporter, mask: (s: string) => string): Promise<void> {
  const dropped = [...blockingViews(plan), ...plan.oldPrograms.triggers];
  if (!dropped.length) return;
  const t = plan.target;
  const db = sqlString(t.database);
  try {
    const still = new Set(
      (
        await query(
          client,
          t,
          `SELECT CONCAT('TRIGGER/', TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${db} UNION ALL SELECT CONCAT('VIEW/', TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${db}`,
          { mask, database: null, signal: new AbortController().signal },
        )
      ).map((r) => r[0]),
    );
    const missing = dropped.filter((p: Program) => !still.has(`${p.kind}/${p.name}`));
    if (!missing.length) return;
    const delim = delimiterToken();
    await query(client, t, missing.map((p) => createStatements(p, delim)).join('\n'), { mask, signal: new AbortController().signal });
  } catch (err) {
    reporter.error(`could not re-create the triggers and views of ${t.database} after the failed swap: ${errorText(err)}`);
  }
}
