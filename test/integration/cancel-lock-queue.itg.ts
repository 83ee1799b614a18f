import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startCli } from '../helpers/backup-fixtures.js';
import { waitFor } from '../helpers/cli-process.js';
import { testDatabases, type TestDatabase } from '../helpers/pg.js';
import { holdTableLock, releaseTableLock, waitingSessions } from '../helpers/pg-locks.js';

/**
 * A run cancelled while its server session waits for a table lock must not leave that session
 * behind in the lock queue: killing pg_dump or psql alone does not end it (a backend waiting
 * for a lock notices its client is gone only once the lock is granted), and until then it
 * blocks every later reader of the table.
 */
const PASSPHRASE = 'correct horse battery staple';
const env = { STRONGBOX_TEST_PASSPHRASE: PASSPHRASE };
let tmp: string;
const databases = testDatabases();
const holders: ChildProcess[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'strongbox-lockq-'));
  await writeFile(join(tmp, 'README'), 'lock queue tests\n');
});
afterEach(() => {
  for (const h of holders.splice(0)) h.kill('SIGKILL');
});
afterAll(async () => {
  await databases.dropAll();
  await rm(tmp, { recursive: true, force: true });
});

const database = (prefix: string, sql: string): Promise<TestDatabase> => databases.create(prefix, sql);

/** Sessions of ours (pg_dump's or the restore's) still connected to `db`. */
async function ourSessions(db: TestDatabase): Promise<number> {
  return Number((await db.sql(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'strongbox-%'`)).trim());
}

/** Within a few seconds of the run's exit, nothing of ours is left waiting in the lock queue. */
async function expectLockQueueLeft(db: TestDatabase): Promise<void> {
  await waitFor(async () => (await waitingSessions(db)) === 0 && (await ourSessions(db)) === 0, 'the cancelled run\'s session to leave the lock queue', 5_000);
}

describe('#3 a cancelled run leaves no session waiting for a table lock', () => {
  it('a cancelled forced restore blocked on a table lock: its statement leaves the server, the target is unchanged', async () => {
    const source = await database('lockq_src', `CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 100);`);
    const repo = join(tmp, 'restore-repo');
    const b = await runCli(['backup', '--to', repo, '--init', '--postgres', source.url, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE'], { env });
    expect(b.code, b.stderr).toBe(0);

    const target = await database('lockq_tgt', `CREATE TABLE keep (id int); INSERT INTO keep SELECT generate_series(1, 42);`);
    holders.push(await holdTableLock(target, 'keep'));
    // --force empties the target first, in the restore's transaction: that DROP waits for the lock.
    const cli = startCli(['restore', '--from', repo, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE', '--postgres-target', target.url, '--force'], env);
    await waitFor(async () => (await waitingSessions(target)) > 0, 'the restore to wait for the table lock');

    process.kill(cli.pid, 'SIGTERM');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(143);
    await expectLockQueueLeft(target);

    // The holder still holds its lock, and nothing of ours is queued behind it: once it lets
    // go, a reader gets the table at once and finds it as it was.
    await releaseTableLock(target);
    expect((await target.sql('SELECT count(*) FROM keep')).trim()).toBe('42');
    expect((await target.sql(`SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'`)).trim()).toBe('keep');
  }, 60_000);

  it('a cancelled backup whose pg_dump waits for a table lock: pg_dump\'s session leaves the server', async () => {
    const source = await database('lockq_dump', `CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 100);`);
    holders.push(await holdTableLock(source, 'items'));
    const cli = startCli(['backup', '--to', join(tmp, 'backup-repo'), '--init', '--postgres', source.url, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE'], env);
    await waitFor(async () => (await waitingSessions(source)) > 0, 'pg_dump to wait for the table lock');

    process.kill(cli.pid, 'SIGTERM');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(143);
    await expectLockQueueLeft(source);
  }, 60_000);
});
