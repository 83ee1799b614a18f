import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, untimed } from '../helpers/cli.js';
import { startCli } from '../helpers/backup-fixtures.js';
import { childrenOf, isRunning, waitFor, type ProcInfo } from '../helpers/cli-process.js';
import { testDatabases, type TestDatabase } from '../helpers/pg.js';
import { startS3rver } from '../helpers/s3rver.js';
import { holdTableLock as holdLock, releaseTableLock, waitingSessions } from '../helpers/pg-locks.js';

/**
 * Ctrl-C (SIGINT), SIGTERM (CI cancel, `timeout`) and SIGHUP sent to a real CLI mid-run. The
 * run is held mid-way deterministically: another session holds an ACCESS EXCLUSIVE lock on a
 * table, so pg_dump (or the restore's psql) waits on it with every child process running.
 */
const PASSPHRASE = 'correct horse battery staple';
const env = { STRONGBOX_TEST_PASSPHRASE: PASSPHRASE };
const CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

let tmp: string;
const databases = testDatabases();
const holders: ChildProcess[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'strongbox-cancel-'));
  // Not empty, like a real backup volume: `--init` warns about an empty parent (maybe unmounted).
  await writeFile(join(tmp, 'README'), 'cancellation tests\n');
});
afterEach(() => {
  for (const h of holders.splice(0)) h.kill('SIGKILL');
});
async function holdTableLock(db: TestDatabase, table: string): Promise<ChildProcess> {
  const holder = await holdLock(db, table);
  holders.push(holder);
  return holder;
}

afterAll(async () => {
  await databases.dropAll();
  await rm(tmp, { recursive: true, force: true });
});

const database = (prefix: string, sql: string): Promise<TestDatabase> => databases.create(prefix, sql);

async function filesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isDirectory()) out.push(relative(dir, join(e.parentPath, e.name)));
  }
  return out.sort();
}

function cancelLines(stderr: string): string[] {
  return untimed(stderr).split('\n').filter((l) => l.startsWith('cancelled by'));
}

async function expectGone(children: ProcInfo[]): Promise<void> {
  await waitFor(() => children.every((c) => !isRunning(c.pid)), `children ${children.map((c) => `${c.comm}(${c.pid})`).join(', ')} to exit`, 5_000);
}

describe('cancellation of a backup', () => {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${sig} mid-backup stops pg_dump and zstd, leaves no manifest or temp file, releases the lock, prints one line and exits ${CODES[sig]}`, async () => {
      const source = await database(`cancel_src_${sig}`, 'CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 5000);');
      await holdTableLock(source, 'items');
      const repo = join(tmp, `backup-${sig}`);
      const cli = startCli(['backup', '--to', repo, '--init', '--postgres', source.url, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE'], env);

      const children = await waitFor(() => {
        const c = childrenOf(cli.pid);
        return c.some((p) => p.comm === 'pg_dump') && c.some((p) => p.comm === 'zstd') ? c : undefined;
      }, 'pg_dump and zstd to run');
      await waitFor(async () => (await waitingSessions(source)) > 0, 'pg_dump to wait for the table lock');

      process.kill(cli.pid, sig);
      const r = await cli.done;
      expect(r.code, r.stderr).toBe(CODES[sig]);
      const lines = cancelLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^cancelled by ${sig}: backup \\d{8}T\\d{6}Z-[0-9a-f]+ stopped, nothing was committed$`));
      expect(untimed(r.stderr)).not.toMatch(/^(error|warning):/m);
      await expectGone(children);

      // Nothing committed, nothing half-written: only the repository's own file is left.
      expect(await filesIn(repo)).toEqual(['strongbox.json']);
      const list = await runCli(['list', '--from', repo, '--all', '--json']);
      expect(list.code).toBe(0);
      expect(JSON.parse(list.stdout).filter((e: { complete: boolean }) => e.complete)).toEqual([]);
      // The lock was released: an exclusive prune runs at once (exit 6 if the lock had stayed).
      const prune = await runCli(['prune', '--from', repo, '--keep-last', '1']);
      expect(prune.code, prune.stderr).toBe(0);
    });
  }
});

describe('cancellation of a restore', () => {
  let repo: string;
  beforeAll(async () => {
    const source = await database('cancel_backup', `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 5000) i;`);
    repo = join(tmp, 'restore-repo');
    const b = await runCli(['backup', '--to', repo, '--init', '--postgres', source.url, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE'], { env });
    expect(b.code, b.stderr).toBe(0);
  });

  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${sig} mid-restore into PostgreSQL stops psql, pg_restore and zstd, leaves the target unchanged, releases the lock and exits ${CODES[sig]}`, async () => {
      const target = await database(`cancel_tgt_${sig}`, `CREATE TABLE keep (id int); INSERT INTO keep SELECT generate_series(1, 42);`);
      await holdTableLock(target, 'keep');
      // --force empties the target first, in the restore's transaction: that DROP waits for the lock.
      const cli = startCli(['restore', '--from', repo, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE', '--postgres-target', target.url, '--force'], env);

      const children = await waitFor(() => {
        const c = childrenOf(cli.pid);
        return ['psql', 'pg_restore', 'zstd'].every((n) => c.some((p) => p.comm === n)) ? c : undefined;
      }, 'psql, pg_restore and zstd to run');
      await waitFor(async () => (await waitingSessions(target)) > 0, 'the restore to wait for the table lock');

      process.kill(cli.pid, sig);
      const r = await cli.done;
      expect(r.code, r.stderr).toBe(CODES[sig]);
      const lines = cancelLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^cancelled by ${sig}: restore of \\S+ stopped, the targets were left unchanged$`));
      await expectGone(children);

      // The restore's server session waits for the lock until it gets it, then finds its
      // client gone and rolls back.
      await releaseTableLock(target);
      // The target is as it was: its own table with its rows, nothing of the backup.
      expect((await target.sql('SELECT count(*) FROM keep')).trim()).toBe('42');
      expect((await target.sql(`SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'`)).trim()).toBe('keep');
      await waitFor(
        async () => (await target.sql(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)).trim() === '0',
        'no session of the restore left on the server',
      );
      expect((await target.sql('SELECT count(*) FROM keep')).trim()).toBe('42');

      const prune = await runCli(['prune', '--from', repo, '--keep-last', '1']);
      expect(prune.code, prune.stderr).toBe(0);
    });
  }
});

describe('cancellation of a rollback', () => {
  it('SIGTERM during the safety backup releases the exclusive lock, leaves the database as it was and exits 143', async () => {
    const db = await database('cancel_rb', 'CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 10);');
    const repo = join(tmp, 'rollback');
    const b = await runCli(['backup', '--to', repo, '--init', '--postgres', db.url, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE', '--label', 'pre-release'], { env });
    expect(b.code, b.stderr).toBe(0);
    await db.sql('INSERT INTO items VALUES (11);'); // the "migration" to roll back
    await holdTableLock(db, 'items'); // holds the safety backup's pg_dump
    const cli = startCli(['rollback', '--from', repo, '--backup', 'label:pre-release', '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE', '--postgres-target', db.url, '--confirm', db.name], env);
    const children = await waitFor(() => {
      const c = childrenOf(cli.pid);
      return c.some((p) => p.comm === 'pg_dump') ? c : undefined;
    }, 'the safety backup to run');
    await waitFor(async () => (await waitingSessions(db)) > 0, 'pg_dump to wait for the table lock');

    process.kill(cli.pid, 'SIGTERM');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(143);
    expect(cancelLines(r.stderr)).toEqual([`cancelled by SIGTERM: rollback of ${db.name} to ${b.stdout.trim()} stopped, the targets were left unchanged`]);
    await expectGone(children);
    await releaseTableLock(db);
    expect((await db.sql('SELECT count(*) FROM items')).trim()).toBe('11');
    const prune = await runCli(['prune', '--from', repo, '--keep-last', '1']);
    expect(prune.code, prune.stderr).toBe(0); // exit 6 for 30 minutes before
  });
});

describe('a second signal', () => {
  it('exits at once, saying the cleanup was not finished, after deleting its lock; what else it left is cleaned up by the next run', async () => {
    const source = await database('cancel_twice', 'CREATE TABLE items (id int); INSERT INTO items VALUES (1);');
    await holdTableLock(source, 'items');
    const repo = join(tmp, 'twice');
    const cli = startCli(['backup', '--to', repo, '--init', '--postgres', source.url, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE'], env);
    const children = await waitFor(() => {
      const c = childrenOf(cli.pid);
      return c.some((p) => p.comm === 'pg_dump') ? c : undefined;
    }, 'pg_dump to run');
    await waitFor(async () => (await waitingSessions(source)) > 0, 'pg_dump to wait for the table lock');
    process.kill(cli.pid, 'SIGINT');
    process.kill(cli.pid, 'SIGTERM');
    const r = await cli.done;
    // Two signals sent back to back may be handled in either order: the first one handled
    // names the cancellation and its exit code, the other is the second signal.
    const [first, second] = r.code === 143 ? ['SIGTERM', 'SIGINT'] : ['SIGINT', 'SIGTERM'];
    expect([130, 143], r.stderr).toContain(r.code);
    expect(cancelLines(r.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^cancelled by ${first}: backup \\S+ stopped, nothing was committed \\(second signal ${second}: exited without finishing the cleanup\\)$`)),
    ]);
    // The lock was deleted before the forced exit: nothing blocks the next run, on any host.
    expect(await filesIn(repo)).not.toContainEqual(expect.stringMatching(/^locks\//));
    await releaseTableLock(source);
    await expectGone(children);
    const prune = await runCli(['prune', '--from', repo, '--keep-last', '1']);
    expect(prune.code, prune.stderr).toBe(0);
  });
});

describe('a run killed with SIGKILL', () => {
  it('leaves a lock that the next run on this host breaks at once, its holder being gone', async () => {
    const source = await database('cancel_kill', 'CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 100);');
    await holdTableLock(source, 'items');
    const repo = join(tmp, 'killed');
    const cli = startCli(['backup', '--to', repo, '--init', '--postgres', source.url, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE'], env);
    await waitFor(async () => (await waitingSessions(source)) > 0, 'pg_dump to wait for the table lock');
    expect((await readdir(join(repo, 'locks'))).length).toBe(1);

    process.kill(cli.pid, 'SIGKILL');
    await cli.done;
    expect((await readdir(join(repo, 'locks'))).length).toBe(1); // left behind, as after any kill -9
    await releaseTableLock(source); // lets the orphaned pg_dump run into its closed pipe and end

    const started = Date.now();
    const prune = await runCli(['prune', '--from', repo, '--keep-last', '1']);
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stderr).toMatch(/Removing the lock of a run that is no longer running .*backup \(shared\) on host .*pid \d+/);
    expect(Date.now() - started).toBeLessThan(20_000); // not the 30-minute stale timeout
    expect(await readdir(join(repo, 'locks')).catch(() => [])).toEqual([]);
  });
});

describe('cancellation of an upload to S3', () => {
  it('SIGTERM while a multipart upload is in flight aborts it: no parts, objects or lock left; exit 143', async () => {
    const s3 = await startS3rver();
    try {
      const tree = join(tmp, 's3-tree');
      await mkdir(tree, { recursive: true });
      await writeFile(join(tree, 'random.bin'), randomBytes(40 * 1024 * 1024)); // incompressible: three 16 MiB parts
      await s3.setFaults({ stallParts: [2] }); // the store stops answering mid-upload
      const to = `s3://${s3.bucket}/app`;
      const storage = ['--endpoint', s3.endpoint, '--path-style'];
      const cli = startCli(['backup', '--to', to, '--init', ...storage, '--files', tree, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE'], { ...env, ...s3.env });
      const uploads = join(s3.directory, s3.bucket, '._S3rver_uploads');
      const pending = async () => (existsSync(uploads) ? (await readdir(uploads)).length : 0);
      await cli.waitForStderr(/Backup \S+ →/);
      await waitFor(async () => (await pending()) > 0, 'a multipart upload in flight', 60_000);

      process.kill(cli.pid, 'SIGTERM');
      const r = await cli.done;
      expect(r.code, r.stderr).toBe(143);
      expect(cancelLines(r.stderr)).toEqual([expect.stringMatching(/^cancelled by SIGTERM: backup \S+ stopped, nothing was committed$/)]);
      expect(await pending()).toBe(0); // aborted, not left as billed parts
      await s3.setFaults({});
      const list = await runCli(['list', '--from', to, ...storage, '--all', '--json'], { env: s3.env });
      expect(list.code, list.stderr).toBe(0);
      expect(JSON.parse(list.stdout)).toEqual([]); // not even an incomplete backup: its objects were removed
      const prune = await runCli(['prune', '--from', to, ...storage, '--keep-last', '1'], { env: s3.env });
      expect(prune.code, prune.stderr).toBe(0);
    } finally {
      await s3.stop();
    }
  });
});

describe('cancellation of a files restore', () => {
  it('SIGINT while a tree is being extracted removes the staging directory; the target is not created; exit 130', async () => {
    const s3 = await startS3rver();
    try {
      const tree = join(tmp, 's3-restore-tree');
      await mkdir(tree, { recursive: true });
      await writeFile(join(tree, 'random.bin'), randomBytes(8 * 1024 * 1024));
      const to = `s3://${s3.bucket}/files`;
      const storage = ['--endpoint', s3.endpoint, '--path-style'];
      const b = await runCli(['backup', '--to', to, '--init', ...storage, '--files', tree, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE'], { env: { ...env, ...s3.env } });
      expect(b.code, b.stderr).toBe(0);
      await s3.setFaults({ stallGetAfterBytes: 2 * 1024 * 1024 }); // the download stalls mid-stream
      const parent = join(tmp, 'restore-parent');
      await mkdir(parent, { recursive: true });
      const target = join(parent, 'uploads');
      const cli = startCli(['restore', '--from', to, ...storage, '--passphrase-env', 'STRONGBOX_TEST_PASSPHRASE', '--files-target', target], { ...env, ...s3.env });
      const staging = async () => (await readdir(parent)).filter((n) => n.startsWith('uploads.strongbox-staging-'));
      await waitFor(async () => (await staging()).length > 0 && (await readdir(join(parent, (await staging())[0]!), { recursive: true })).length > 0, 'extraction into the staging directory');

      process.kill(cli.pid, 'SIGINT');
      const r = await cli.done;
      expect(r.code, r.stderr).toBe(130);
      expect(cancelLines(r.stderr)).toEqual([expect.stringMatching(/^cancelled by SIGINT: restore of \S+ stopped, the targets were left unchanged$/)]);
      expect(await readdir(parent)).toEqual([]); // no staging left, no target created
      await s3.setFaults({});
      const prune = await runCli(['prune', '--from', to, ...storage, '--keep-last', '1'], { env: s3.env });
      expect(prune.code, prune.stderr).toBe(0);
    } finally {
      await s3.stop();
    }
  });
});
