import { randomBytes } from 'node:crypto';
import type { Reporter } from '../../shared/reporter.js';
import { ident, query, sqlString, type Client } from './client.js';
import { MAX_NAME, type MysqlTarget } from './url.js';

/**
 * A restore works in databases of its own next to the target, named so that a person (and
 * the next restore) can tell what they are: `<target>__strongbox_new_<8 hex>` (the staging
 * database the dump is restored into) and `<target>__strongbox_old_<8 hex>` (with --force,
 * where the target's previous tables go at the swap, dropped right after it). The target's
 * name is cut to 40 characters so that both stay within MySQL's 64.
 *
 * While the dump streams into it, the staging session holds the user lock
 * `strongbox:restore:<hex>` (GET_LOCK). A staging database whose lock is free belongs to a
 * restore that was killed: the next restore into the same target drops it.
 */
const PREFIX_CHARS = MAX_NAME - '__strongbox_new_'.length - 8;

export function namePrefix(database: string): string {
  return [...database].slice(0, PREFIX_CHARS).join('');
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
  const rows = await query(client, t, `SELECT SCHEMA_NAME, IS_USED_LOCK(CONCAT('strongbox:restore:', RIGHT(SCHEMA_NAME, 8))) IS NULL FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%\\_\\_strongbox\\_%'`, { mask, database: null });
  for (const [name = '', free] of rows) {
    const m = /^(.*)__strongbox_(new|old)_([0-9a-f]{8})$/.exec(name);
    if (!m || m[1] !== p) continue;
    if (m[2] === 'new' && free === '1') {
      reporter.info(`dropping ${name}, the staging database of an earlier restore into ${t.database} that did not finish`);
      await query(client, t, `DROP DATABASE IF EXISTS ${ident(name)}`, { mask, database: null });
    } else if (m[2] === 'old') {
      reporter.warning(`${name} holds tables that a forced restore into ${t.database} replaced but was stopped before dropping; drop it (DROP DATABASE ${ident(name)}) once you no longer need them`);
    }
  }
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
