import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { testDatabases, type TestDatabase } from '../helpers/pg.js';
import { holdTableLock } from '../helpers/pg-locks.js';

/** A table lock held by another session (a migration's ACCESS EXCLUSIVE) must not stall a run forever. */
const env = { STRONGBOX_TEST_PASSPHRASE: 'correct horse battery staple' };
let tmp: string;
const databases = testDatabases();
const holders: ChildProcess[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'strongbox-dblock-'));
});
afterEach(() => {
  for (const h of holders.splice(0)) h.kill('SIGKILL');
});
afterAll(async () => {
  await databases.dropAll();
  await rm(tmp, { recursive: true, force: true });
});

const database = (prefix: string, sql: string): Promise<TestDatabase> => databases.create(prefix, sql);

describe('--db-lock-timeout', () => {
  it('a backup blocked by a table lock fails after the timeout, naming the table and the flag; nothing is committed', async () => {
    const source = await database('dblock_src', 'CREATE TABLE items (id int); INSERT INTO items VALUES (1);');
    holders.push(await holdTableLock(source, 'items'));
    const repo = join(tmp, 'backup');
    const started = Date.now();
    const r = await runCli(['backup', '--to', repo, '--init', '--postgres', source.url, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE', '--db-lock-timeout', '2s'], { env });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/pg_dump of database "\w+" on [^ ]+ waited longer than --db-lock-timeout \(2s\) for a lock on public\.items that another session holds; nothing was committed/);
    expect(r.stderr).toMatch(/hint: .*pg_blocking_pids.*--db-lock-timeout/);
    expect(Date.now() - started).toBeLessThan(30_000);
    const list = await runCli(['list', '--from', repo, '--json']);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it('a restore blocked by a table lock fails after the timeout, naming the table; the target is unchanged', async () => {
    const source = await database('dblock_b', 'CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 10);');
    const repo = join(tmp, 'restore');
    const b = await runCli(['backup', '--to', repo, '--init', '--postgres', source.url, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE'], { env });
    expect(b.code, b.stderr).toBe(0);
    const target = await database('dblock_t', 'CREATE TABLE keep (id int); INSERT INTO keep SELECT generate_series(1, 42);');
    holders.push(await holdTableLock(target, 'keep'));

    const started = Date.now();
    const r = await runCli(['restore', '--from', repo, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE', '--postgres-target', target.url, '--force', '--db-lock-timeout', '2s'], { env });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/the restore into database "\w+" on [^ ]+ waited longer than --db-lock-timeout \(2s\) for a lock on public\.keep that another session holds; it ran in a single transaction, so the database was left unchanged/);
    expect(Date.now() - started).toBeLessThan(30_000);
    for (const h of holders.splice(0)) h.kill('SIGKILL');
    await target.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
    expect((await target.sql('SELECT count(*) FROM keep')).trim()).toBe('42');
    expect((await target.sql(`SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'`)).trim()).toBe('keep');
  });
});
