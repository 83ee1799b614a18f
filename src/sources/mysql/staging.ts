import { createHash, randomBytes } from 'node:crypto';
import { RefusedError, StrongboxError } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { ident, query, spawnClient, sqlString, type Client } from './client.js';
import { MAX_NAME, type MysqlTarget } from './url.js';
import { OLD_MARK, readPlan, swapState } from './swap.js';

/**
 * A restore works in databases of its own next to the target, named so that a person (and
 * the next restore) can tell what they are: `<target>__strongbox_new_<8 hex>` (the staging
 * database the dump is restored into) and `<target>__strongbox_old_<8 hex>` (with --force,
 * left by older versions; the swap now renames old tables within the target, see swap.ts).
 * A target name longer than 40 characters is cut to 33 plus `_` and 6 hex of its SHA-256,
 * so that both stay within MySQL's 64 and targets sharing a head never see each other's.
 *
 * While the dump streams into it, the staging session holds the user lock
 * `strongbox:restore:<hex>` (GET_LOCK). A staging database whose lock is free belongs to a
 * restore that was killed: the next restore into the same target drops it.
 */
const PREFIX_CHARS = MAX_NAME - '__strongbox_new_'.length - 8;

/** The target's name, or for a longer one its head and a hash of the whole, so that two targets sharing a head never share work databases. */
export function namePrefix(database: string): string {
  const chars = [...database];
  if (chars.length <= PREFIX_CHARS) return database;
  const hash = createHash('sha256').update(database, 'utf8').digest('hex').slice(0, 6);
  return `${chars.slice(0, PREFIX_CHARS - 7).join('')}_${hash}`;
}

export interface WorkNames {
  id: string;
  staging: string;
  trash: string;
  lock: string;
}

export function workNames(database: string, id = randomBytes(4).toString('hex')): WorkNames {
  const p = namePrefix(database);
  return { id, staging: `${p}__strongbox_new_${id}`, trash: `${p}__strongbox_old_${id}`, lock: lockName(id) };
}

export function lockName(id: string): string {
  return `strongbox:restore:${id}`;
}

/** Drops staging databases of killed restores into this target; names leftover "old" ones, which hold the data a swap replaced. */
export async function cleanStaleWork(client: Client, t: MysqlTarget, mask: (s: string) => string, reporter: Reporter): Promise<void> {
  const p = namePrefix(t.database);
  const rows = await query(client, t, `SELECT SCHEMA_NAME, IS_USED_LOCK(CONCAT('strongbox:restore:', RIGHT(SCHEMA_NAME, 8))) IS NULL AND IS_USED_LOCK(CONCAT('strongbox:swap:', RIGHT(SCHEMA_NAME, 8))) IS NULL FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%\\_\\_strongbox\\_%'`, { mask, database: null });
  for (const [name = '', free] of rows) {
    const m = /^(.*)__strongbox_(new|old)_([0-9a-f]{8})$/.exec(name);
    if (!m || m[1] !== p) continue;
    if (m[2] === 'new' && free === '1') await cleanStaging(client, t, name, mask, reporter);
    else if (m[2] === 'new') {
      throw new RefusedError(`another restore into ${t.database} is running (its staging database ${name} is in use)`, 'wait for it to finish, then restore again');
    }
    else if (m[2] === 'old') {
      reporter.warning(`${name} holds tables that a forced restore into ${t.database} replaced but was stopped before dropping; drop it (DROP DATABASE ${ident(name)}) once you no longer need them`);
    }
  }
  const old = await query(client, t, `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${sqlString(t.database)} AND TABLE_NAME LIKE '${OLD_MARK.replace(/_/g, '\\_')}%'`, { mask, database: null });
  const names = old.map((r) => r[0]!).filter((n) => new RegExp(`^${OLD_MARK}[0-9a-f]{8}_`).test(n));
  if (names.length) {
    reporter.warning(`${t.database} holds ${names.length} table(s) that an interrupted forced restore had replaced (${names.slice(0, 5).map(ident).join(', ')}${names.length > 5 ? ', …' : ''}): they hold the data from before it and are kept; drop them once you no longer need them`);
  }
}

/** A staging database whose restore is gone: dropped, unless its swap got past the RENAME (then it is only explained). */
async function cleanStaging(client: Client, t: MysqlTarget, name: string, mask: (s: string) => string, reporter: Reporter): Promise<void> {
  const rec = await readPlan(client, t, name, mask);
  if (!rec) {
    reporter.info(`dropping ${name}, the staging database of an earlier restore into ${t.database} that did not finish`);
    await query(client, t, `DROP DATABASE IF EXISTS ${ident(name)}`, { mask, database: null });
    return;
  }
  const st = await swapState(client, t, name, rec.plan, mask);
  if (st.renamed === false) {
    reporter.info(`dropping ${name}, the staging database of an earlier restore into ${t.database} that was stopped before its swap (its RENAME TABLE did not happen, ${t.database} was not changed)`);
    await query(client, t, `DROP DATABASE IF EXISTS ${ident(name)}`, { mask, database: null });
    return;
  }
  if (st.renamed === undefined) {
    reporter.warning(`${name} belongs to an earlier restore into ${t.database} (started ${rec.plan.started}) whose swap stopped in a state the server cannot explain; it is kept: check it and ${t.database} by hand`);
    return;
  }
  reporter.warning(
    `an earlier restore into ${t.database} (started ${rec.plan.started}) was interrupted after its RENAME TABLE (phase "${rec.phase}"): ${t.database} holds that backup's tables${st.oldLeft.length ? `, and its previous ${st.oldLeft.length} table(s) are kept as ${st.oldLeft.slice(0, 5).map(ident).join(', ')}${st.oldLeft.length > 5 ? ', …' : ''}` : ''}; its views, routines, triggers or events may be incomplete, which this restore replaces`,
  );
  if (st.stagingTables === 0) await query(client, t, `DROP DATABASE IF EXISTS ${ident(name)}`, { mask, database: null });
}

/**
 * Holds the restore's user lock in a session of its own for the whole restore (load, count,
 * swap): the staging database is in use as long as the lock is held. A SIGKILL of Strongbox
 * closes the session's stdin, which ends it and frees the lock.
 */
export async function holdRestoreLock(client: Client, t: MysqlTarget, lock: string, mask: (s: string) => string): Promise<{ release(): Promise<void> }> {
  const run = spawnClient(client.command, t, ['--batch', '--skip-column-names', '--no-auto-rehash', '--unbuffered'], {
    name: client.command,
    stdin: true,
    mask,
    signal: new AbortController().signal,
  });
  const stdin = run.child.stdin!;
  stdin.on('error', () => {});
  run.child.stdout!.setEncoding('utf8');
  const got = new Promise<string>((resolve) => {
    let out = '';
    run.child.stdout!.on('data', (s: string) => {
      out += s;
      if (out.includes('\n')) resolve(out.trim());
    });
    run.exited.then(() => resolve(out.trim()), () => resolve(out.trim()));
  });
  // An idle session is closed after the server's wait_timeout, freeing the lock in mid-load: not this one.
  stdin.write(`SET SESSION wait_timeout = 31536000;\nSELECT GET_LOCK(${sqlString(lock)}, 0);\n`);
  const answer = await got;
  const release = async () => {
    stdin.end();
    await run.exited.catch(() => {});
  };
  if (answer !== '1') {
    await release();
    await run.exited.catch((err: unknown) => {
      throw err;
    });
    throw new StrongboxError(`could not take the restore's lock ${lock} on ${t.host} (GET_LOCK answered ${JSON.stringify(answer)})`);
  }
  return { release };
}

export async function createWorkDatabase(client: Client, t: MysqlTarget, name: string, charset: { characterSet?: string; collation?: string }, mask: (s: string) => string): Promise<void> {
  await query(client, t, `CREATE DATABASE ${ident(name)}${charsetClause(charset)}`, { mask, database: null });
}

export function charsetClause(c: { characterSet?: string; collation?: string }): string {
  return `${c.characterSet ? ` CHARACTER SET ${sqlString(c.characterSet).slice(1, -1).replace(/[^A-Za-z0-9_]/g, '')}` : ''}${c.collation ? ` COLLATE ${c.collation.replace(/[^A-Za-z0-9_]/g, '')}` : ''}`;
}

export async function dropWorkDatabase(client: Client, t: MysqlTarget, name: string, mask: (s: string) => string, reporter: Reporter): Promise<void> {
  try {
    await query(client, t, `DROP DATABASE IF EXISTS ${ident(name)}`, { mask, database: null, signal: new AbortController().signal });
  } catch (err) {
    reporter.warning(`could not drop the restore's working database ${name}: ${(err as Error).message}; drop it yourself (DROP DATABASE ${ident(name)})`);
  }
}
