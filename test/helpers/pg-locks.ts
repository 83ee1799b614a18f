import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './cli-process.js';
import { PG_HOST, PG_PORT, PG_USER, type TestDatabase } from './pg.js';

/**
 * Another session holding ACCESS EXCLUSIVE on `table` (as a migration would) until released;
 * resolves once the lock is granted. Kill the returned psql at the end of a test.
 */
export async function holdTableLock(db: TestDatabase, table: string): Promise<ChildProcess> {
  const holder = spawn('psql', ['-X', '-q', '-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER, '-d', db.name, '-c', `BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600);`], {
    stdio: 'ignore',
  });
  await waitFor(
    async () => (await db.sql(`SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = '${table}' AND l.mode = 'AccessExclusiveLock' AND l.granted`)).trim() === '1',
    `the lock on ${table}`,
  );
  return holder;
}

/** Ends the lock holder's session (killing its psql alone leaves the server's backend asleep). */
export async function releaseTableLock(db: TestDatabase): Promise<void> {
  await db.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()`);
}

/** Sessions of `db` waiting for a lock: proof that a run is held mid-way. */
export async function waitingSessions(db: TestDatabase): Promise<number> {
  return Number((await db.sql(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).trim());
}
