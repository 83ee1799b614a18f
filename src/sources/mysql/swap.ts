import { ident, query, sqlString, type Client } from './client.js';
import type { SchemaInfo } from './counts.js';
import { createStatements, delimiterToken, dropStatement, type Program, type Programs } from './programs.js';
import { charsetClause, type WorkNames } from './staging.js';
import { MAX_NAME, type MysqlTarget } from './url.js';

/**
 * The swap: one `RENAME TABLE` that renames the target's old tables WITHIN the target
 * (`t` → `__sb_old_<id>_t`; a same-schema rename keeps a table's triggers, so nothing of the
 * target is touched before it) and brings the staging tables in. The staging tables' triggers
 * are dropped in staging first (a table with triggers cannot change database); the backup's
 * triggers are created right after the RENAME, once the old triggers (same names, same
 * schema) are dropped. Then the old views, routines and events go, the backup's are created,
 * and the old tables are dropped last. Writes run without triggers only between the RENAME
 * and the CREATE TRIGGERs (milliseconds: no lock is waited for there).
 *
 * The plan is recorded in a table in the staging database before the script runs, so that a
 * swap interrupted halfway (a lost connection, a failing CREATE) is recognised by the next
 * restore (staging.ts cleanStaleWork), which asks the server where the tables are.
 */

export const OLD_MARK = '__sb_old_';
export const PLAN_TABLE = '__strongbox_swap_plan';
export const HOLD = 'strongbox:';

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

/** What the plan table holds (JSON): enough to tell, from the server, how far a swap got. */
export interface RecordedPlan {
  id: string;
  database: string;
  started: string;
  /** [old name, name it is renamed to within the target]. */
  old: [string, string][];
  newTables: string[];
}

/** `__sb_old_<id>_<name>`, within 64 characters and unique among `taken`. */
export function oldName(id: string, name: string, index: number, taken: Set<string>): string {
  const base = `${OLD_MARK}${id}_`;
  let n = `${base}${name}`;
  if ([...n].length > MAX_NAME || taken.has(n)) n = [...`${base}${index}_${name}`].slice(0, MAX_NAME).join('');
  if (taken.has(n)) n = `${base}${index}`;
  taken.add(n);
  return n;
}

/** Old views that hold a name a restored table takes: they move aside in the RENAME. */
export function blockingViews(p: Pick<SwapPlan, 'oldPrograms' | 'newTables'>): Program[] {
  const names = new Set(p.newTables);
  return p.oldPrograms.views.filter((v) => names.has(v.name));
}

export function recordedPlan(p: SwapPlan): RecordedPlan {
  const taken = new Set<string>();
  const moved = [...p.oldTables, ...blockingViews(p).map((v) => v.name)];
  return { id: p.names.id, database: p.target.database, started: new Date().toISOString(), old: moved.map((n, i) => [n, oldName(p.names.id, n, i, taken)]), newTables: p.newTables };
}

export function swapLock(id: string): string {
  return `strongbox:swap:${id}`;
}

/**
 * Waits until the swap's server session has ended (its user lock is free), so that what the
 * server shows afterwards is final: a client that died may leave its session running the
 * RENAME. True once it has ended, false if it still runs after `ms`.
 */
export async function swapSessionGone(client: Client, t: MysqlTarget, id: string, ms: number, mask: (s: string) => string): Promise<boolean> {
  const l = sqlString(swapLock(id));
  const rows = await query(client, t, `SELECT GET_LOCK(${l}, ${Math.ceil(ms / 1000)}); DO RELEASE_LOCK(${l})`, { mask, database: null, signal: new AbortController().signal });
  return rows[0]?.[0] === '1';
}

/** Creates the plan table in staging (before the script runs). */
export async function writePlan(client: Client, t: MysqlTarget, staging: string, rec: RecordedPlan, mask: (s: string) => string): Promise<void> {
  await query(client, t, `CREATE TABLE ${ident(staging)}.${ident(PLAN_TABLE)} (k VARCHAR(16) PRIMARY KEY, v LONGTEXT) ENGINE=InnoDB; INSERT INTO ${ident(staging)}.${ident(PLAN_TABLE)} VALUES ('plan', ${sqlString(JSON.stringify(rec))}), ('phase', 'planned')`, {
    mask,
    database: null,
  });
}

export async function readPlan(client: Client, t: MysqlTarget, staging: string, mask: (s: string) => string): Promise<{ plan: RecordedPlan; phase: string } | undefined> {
  const has = await query(client, t, `SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${sqlString(staging)} AND TABLE_NAME = ${sqlString(PLAN_TABLE)}`, { mask, database: null });
  if (has[0]?.[0] !== '1') return undefined;
  const rows = await query(client, t, `SELECT k, v FROM ${ident(staging)}.${ident(PLAN_TABLE)}`, { mask, database: null });
  const m = new Map(rows.map((r) => [r[0], r[1]]));
  return { plan: JSON.parse(m.get('plan') ?? '{}') as RecordedPlan, phase: m.get('phase') ?? '' };
}

/** The swap script; `SELECT 'strongbox:…'` markers on stdout are for debugging only: the outcome is read from the server. */
export function swapScript(p: SwapPlan, rec: RecordedPlan = recordedPlan(p)): string {
  const db = ident(p.target.database);
  const stg = ident(p.names.staging);
  const planTable = `${stg}.${ident(PLAN_TABLE)}`;
  const renamed = new Map(rec.old);
  const delim = delimiterToken();
  const s: string[] = [];
  // Held until the session ends: the staging database is in use, and the swap's server session is alive (see swapLock).
  s.push(`SELECT GET_LOCK(${sqlString(swapLock(p.names.id))}, 0);`);
  s.push(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(p.lockTimeoutMs / 1000))};`);
  s.push(`SELECT '${HOLD}start';`);
  if (p.createTarget) s.push(`CREATE DATABASE IF NOT EXISTS ${db}${charsetClause(p.charset)};`);
  // Harmless: these are staging's copies; the backup's triggers are created after the RENAME.
  for (const tr of p.newPrograms.triggers) s.push(`DROP TRIGGER IF EXISTS ${stg}.${ident(tr.name)};`);
  s.push(`UPDATE ${planTable} SET v = 'renaming' WHERE k = 'phase';`);
  const renames = [...rec.old.map(([n, o]) => `${db}.${ident(n)} TO ${db}.${ident(o)}`), ...p.newTables.map((n) => `${stg}.${ident(n)} TO ${db}.${ident(n)}`)];
  if (renames.length) s.push(`RENAME TABLE ${renames.join(',\n  ')};`);
  s.push(`UPDATE ${planTable} SET v = 'renamed' WHERE k = 'phase';`);
  s.push(`SELECT '${HOLD}renamed';`);
  s.push(`USE ${db};`);
  // The old triggers (now on the __sb_old_ tables) hold the names the backup's need.
  for (const tr of p.oldPrograms.triggers) s.push(dropStatement(tr));
  for (const tr of p.newPrograms.triggers) s.push(createStatements(tr, delim));
  for (const v of [...p.oldPrograms.views].reverse()) s.push(renamed.has(v.name) ? `DROP VIEW IF EXISTS ${ident(renamed.get(v.name)!)};` : dropStatement(v));
  for (const r of [...p.oldPrograms.routines].reverse()) s.push(dropStatement(r));
  for (const e of p.oldPrograms.events) s.push(dropStatement(e));
  const np = p.newPrograms;
  for (const obj of [...np.routines, ...np.views, ...np.events]) s.push(createStatements(obj, delim));
  s.push(`UPDATE ${planTable} SET v = 'created' WHERE k = 'phase';`);
  s.push(`SELECT '${HOLD}created';`);
  const oldTables = rec.old.filter(([n]) => p.oldTables.includes(n)).map(([, o]) => ident(o));
  if (oldTables.length) s.push(`SET SESSION foreign_key_checks = 0;`, `DROP TABLE IF EXISTS ${oldTables.join(', ')};`, `SET SESSION foreign_key_checks = 1;`);
  s.push(`DROP DATABASE IF EXISTS ${stg};`);
  s.push(`SELECT '${HOLD}done';`);
  return `${s.join('\n')}\n`;
}

export interface SwapState {
  /** Whether the one RENAME TABLE committed; undefined when the server's answer fits neither. */
  renamed: boolean | undefined;
  /** The target's previous tables still there under their `__sb_old_` names. */
  oldLeft: string[];
  /** Tables (not views: staging's copies of the backup's views stay there) other than the plan table still in staging. */
  stagingTables: number;
}

/** Asks the server (information_schema) how far a swap got: the RENAME is atomic, so the tables are all old or all new. */
export async function swapState(client: Client, t: MysqlTarget, staging: string, rec: RecordedPlan, mask: (s: string) => string): Promise<SwapState> {
  const signal = new AbortController().signal;
  const rows = await query(
    client,
    t,
    `SELECT 'S', TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${sqlString(staging)} AND TABLE_NAME <> ${sqlString(PLAN_TABLE)} AND TABLE_TYPE <> 'VIEW'
     UNION ALL SELECT 'T', TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${sqlString(rec.database)}`,
    { mask, database: null, signal },
  );
  const inStaging = new Set(rows.filter((r) => r[0] === 'S').map((r) => r[1]!));
  const inTarget = new Set(rows.filter((r) => r[0] === 'T').map((r) => r[1]!));
  const oldLeft = rec.old.map(([, o]) => o).filter((o) => inTarget.has(o));
  const newStaged = rec.newTables.filter((n) => inStaging.has(n)).length;
  let renamed: boolean | undefined;
  if (rec.newTables.length) renamed = newStaged === rec.newTables.length ? false : newStaged === 0 && rec.newTables.every((n) => inTarget.has(n)) ? true : undefined;
  else if (rec.old.length) renamed = oldLeft.length > 0 ? true : rec.old.every(([n]) => inTarget.has(n)) ? false : true;
  else renamed = true;
  return { renamed, oldLeft, stagingTables: inStaging.size };
}

/** The backup's programs the target lacks (after a swap that stopped halfway). */
export async function missingPrograms(client: Client, t: MysqlTarget, p: Programs, mask: (s: string) => string): Promise<string[]> {
  const db = sqlString(t.database);
  const have = new Set(
    (
      await query(
        client,
        t,
        `SELECT CONCAT(ROUTINE_TYPE, '/', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${db}
         UNION ALL SELECT CONCAT('VIEW/', TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${db}
         UNION ALL SELECT CONCAT('TRIGGER/', TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${db}
         UNION ALL SELECT CONCAT('EVENT/', EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${db}`,
        { mask, database: null, signal: new AbortController().signal },
      )
    ).map((r) => r[0]),
  );
  return [...p.routines, ...p.views, ...p.triggers, ...p.events].filter((x) => !have.has(`${x.kind}/${x.name}`)).map((x) => `${x.kind.toLowerCase()} ${x.name}`);
}
