import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/core/backup.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { openDestination } from '../../src/destinations/index.js';
import { runCli } from '../helpers/cli.js';
import { startCli, type RunningCli } from '../helpers/backup-fixtures.js';
import { childrenOf, waitFor, type ProcInfo } from '../helpers/cli-process.js';
import { PG_HOST, PG_PORT, PG_USER, testDatabases, type TestDatabase } from '../helpers/pg.js';
import { holdTableLock, releaseTableLock, waitingSessions } from '../helpers/pg-locks.js';

/** Secrets stay secret: passphrase strength for new backups, and no database password in any argv. */
const PASSPHRASE = 'correct horse battery staple';
// The test server trusts loopback, so any password is accepted; what matters is where it travels.
const PASSWORD = 'Sup3r-s3cret-pw';
let tmp: string;
const databases = testDatabases();
const holders: ChildProcess[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'strongbox-secrets-'));
});
afterEach(() => {
  for (const h of holders.splice(0)) h.kill('SIGKILL');
});
afterAll(async () => {
  await databases.dropAll();
  await rm(tmp, { recursive: true, force: true });
});

const database = (prefix: string, sql: string): Promise<TestDatabase> => databases.create(prefix, sql);

const withPassword = (db: TestDatabase) => `postgres://${PG_USER}:${PASSWORD}@${PG_HOST}:${PG_PORT}/${db.name}`;

/** Records every child process of a running CLI (and the CLI itself) until it exits. */
function watchProcesses(cli: RunningCli): { seen: Map<string, ProcInfo>; own: () => string[] } {
  // Keyed by pid and command line: a child is seen before and after its exec.
  const seen = new Map<string, ProcInfo>();
  const own = readFileSync(`/proc/${cli.pid}/cmdline`, 'utf8').split('\0');
  const timer = setInterval(() => {
    for (const c of childrenOf(cli.pid)) seen.set(`${c.pid} ${c.cmdline.join(' ')}`, c);
  }, 5);
  void cli.done.finally(() => clearInterval(timer));
  return { seen, own: () => own };
}

describe('passphrases for new backups', () => {
  it('refuses one shorter than 16 characters (exit 2), suggesting keygen recipients; nothing is written', async () => {
    const tree = join(tmp, 'tree');
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(tree, 'a.txt'), 'a\n');
    const repo = join(tmp, 'short');
    const r = await runCli(['backup', '--to', repo, '--init', '--files', tree, '--passphrase-env', 'SB_PASS'], { env: { SB_PASS: 'fifteen-chars!!' } });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('error: the passphrase in $SB_PASS is 15 characters long; new backups need at least 16');
    expect(r.stderr).toMatch(/hint: .*strongbox keygen.*--recipient/);
    expect(r.stderr).not.toContain('fifteen-chars!!');
    const list = await runCli(['list', '--from', repo]);
    expect(list.code).toBe(4); // no repository was created
  });

  it('still verifies and restores a backup made earlier with a shorter passphrase', async () => {
    const tree = join(tmp, 'old-tree');
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(tree, 'a.txt'), 'from an older version\n');
    const repo = join(tmp, 'old');
    // As an earlier version wrote it: the core itself does not judge passphrases.
    await backup({
      destinations: [openDestination(repo, {})],
      sources: [{ kind: 'files', location: tree }],
      encryption: { passphrase: 'backup' },
      compression: { algorithm: 'zstd' },
      labels: [],
      origin: { host: 'test' },
      reporter: silentReporter,
      init: true,
    } as Parameters<typeof backup>[0]);
    const env = { SB_PASS: 'backup' };
    const v = await runCli(['verify', '--from', repo, '--deep', '--passphrase-env', 'SB_PASS'], { env });
    expect(v.code, v.stderr).toBe(0);
    const target = join(tmp, 'old-restored');
    const r = await runCli(['restore', '--from', repo, '--passphrase-env', 'SB_PASS', '--files-target', target], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('from an older version\n');
  });
});

describe('database passwords', () => {
  it('--postgres-env and --postgres-target-env: the password is in no process argv during a real backup and restore, and PGPASSWORD reaches only the environment', async () => {
    const source = await database('secrets_src', `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT i, 'n' || i FROM generate_series(1, 500) i;`);
    const repo = join(tmp, 'pg');
    const env = { SB_PASS: PASSPHRASE, SB_DB: withPassword(source) };

    // Held mid-way by a table lock, so the children can be looked at while they run.
    holders.push(await holdTableLock(source, 'items'));
    const b = startCli(['backup', '--to', repo, '--init', '--postgres-env', 'SB_DB', '--passphrase-env', 'SB_PASS'], env);
    const bw = watchProcesses(b);
    // The dump itself (not the short `pg_dump --version` before it), waiting for the lock.
    const isDump = (p: ProcInfo) => p.comm === 'pg_dump' && p.cmdline.includes('--format=custom');
    await waitFor(() => [...bw.seen.values()].some(isDump), 'pg_dump to run');
    await waitFor(async () => (await waitingSessions(source)) > 0, 'pg_dump to wait for the table lock');
    // Read while it runs: /proc/PID/environ reads empty for a moment around exec (the wrapper
    // Debian puts in front of pg_dump execs the real one under the same pid).
    const environOf = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      } catch {
        return [];
      }
    };
    await waitFor(() => [...bw.seen.values()].filter(isDump).some((p) => environOf(p.pid).length > 1), 'the environment of the running pg_dump');
    const pgDump = [...bw.seen.values()].filter(isDump).find((p) => environOf(p.pid).length > 1)!;
    expect(environOf(pgDump.pid)).toContain(`PGPASSWORD=${PASSWORD}`);
    await releaseTableLock(source);
    const br = await b.done;
    expect(br.code, br.stderr).toBe(0);
    expect([...bw.seen.values()].map((p) => p.comm)).toEqual(expect.arrayContaining(['pg_dump', 'zstd']));
    for (const p of bw.seen.values()) expect(p.cmdline.join(' '), p.comm).not.toContain(PASSWORD);
    expect(bw.own().join(' ')).not.toContain(PASSWORD);
    expect(br.stderr + br.stdout).not.toContain(PASSWORD);
    expect(br.stderr).not.toMatch(/process list/); // no warning: the URL came from the environment

    const target = await database('secrets_tgt', 'CREATE TABLE old (id int);');
    holders.push(await holdTableLock(target, 'old'));
    const r = startCli(['restore', '--from', repo, '--passphrase-env', 'SB_PASS', '--postgres-target-env', 'SB_TARGET', '--force'], { SB_PASS: PASSPHRASE, SB_TARGET: withPassword(target) });
    const rw = watchProcesses(r);
    await waitFor(async () => (await waitingSessions(target)) > 0, 'the restore to run');
    await releaseTableLock(target);
    const rr = await r.done;
    expect(rr.code, rr.stderr).toBe(0);
    expect([...rw.seen.values()].map((p) => p.comm)).toContain('psql'); // held by the lock
    for (const p of rw.seen.values()) expect(p.cmdline.join(' '), p.comm).not.toContain(PASSWORD);
    expect(rr.stderr + rr.stdout).not.toContain(PASSWORD);
    expect((await target.sql('SELECT count(*) FROM items')).trim()).toBe('500');
  });

  it('the backup action, started as a runner starts it, passes the password in its input to no child argv', async () => {
    const source = await database('secrets_action', 'CREATE TABLE items (id int); INSERT INTO items VALUES (1);');
    const out = join(tmp, 'action-output');
    writeFileSync(out, '');
    holders.push(await holdTableLock(source, 'items'));
    const entry = fileURLToPath(new URL('../../src/entries/backup.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      env: {
        ...process.env,
        INPUT_TO: join(tmp, 'action-repo'),
        INPUT_INIT: 'true',
        INPUT_POSTGRES: withPassword(source),
        INPUT_PASSPHRASE: PASSPHRASE,
        INPUT_COMPRESSION: 'zstd',
        GITHUB_OUTPUT: out,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    const seen = new Map<string, ProcInfo>();
    const timer = setInterval(() => {
      for (const c of childrenOf(child.pid!)) seen.set(`${c.pid} ${c.cmdline.join(' ')}`, c);
    }, 5);
    await waitFor(() => [...seen.values()].some((p) => p.comm === 'pg_dump'), 'pg_dump to run');
    await releaseTableLock(source);
    const code = await done;
    clearInterval(timer);
    expect(code, log).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/status<<ghadelimiter_[\w-]+\nsuccess\n/);
    expect([...seen.values()].map((p) => p.comm)).toContain('pg_dump'); // held by the lock; short-lived psql queries may be missed
    for (const p of seen.values()) expect(p.cmdline.join(' '), p.comm).not.toContain(PASSWORD);
    expect(log.replace(/::add-mask::.*\n/g, '')).not.toContain(PASSWORD);
  });

  it('a password given in --postgres or --postgres-target is warned about, naming the -env flag; it is never printed', async () => {
    const source = await database('secrets_argv', 'CREATE TABLE t (id int); INSERT INTO t VALUES (1);');
    const repo = join(tmp, 'argv');
    const b = await runCli(['backup', '--to', repo, '--init', '--postgres', withPassword(source), '--passphrase-env', 'SB_PASS'], { env: { SB_PASS: PASSPHRASE } });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/warning: the --postgres URL holds a password, which other users of this machine can read in the process list \(ps\): .*--postgres-env NAME.*PGPASSWORD.*PGPASSFILE/);
    expect(b.stderr + b.stdout).not.toContain(PASSWORD);

    const target = await database('secrets_argv_t', 'SELECT 1;');
    const r = await runCli(['restore', '--from', repo, '--passphrase-env', 'SB_PASS', '--postgres-target', withPassword(target)], { env: { SB_PASS: PASSPHRASE } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: the --postgres-target URL holds a password.*--postgres-target-env NAME/);
    expect(r.stderr + r.stdout).not.toContain(PASSWORD);
  });

  it('a URL without a password works with PGPASSWORD set by the user, and refuses an unset --postgres-env variable', async () => {
    const source = await database('secrets_pgpw', 'CREATE TABLE t (id int); INSERT INTO t VALUES (1);');
    const repo = join(tmp, 'pgpw');
    const b = await runCli(['backup', '--to', repo, '--init', '--postgres-env', 'SB_DB', '--passphrase-env', 'SB_PASS'], { env: { SB_PASS: PASSPHRASE, SB_DB: source.url, PGPASSWORD: PASSWORD } });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).not.toMatch(/process list/);
    const unset = await runCli(['backup', '--to', repo, '--postgres-env', 'SB_NOPE', '--passphrase-env', 'SB_PASS'], { env: { SB_PASS: PASSPHRASE } });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('environment variable SB_NOPE (--postgres-env) is unset');
  });
});

describe('child processes inherit no secret', () => {
  /** Each tool as a wrapper on PATH that records its environment, then runs the real one. */
  function envRecordingTools(): string {
    const bin = join(tmp, 'env-bin');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['pg_dump', 'pg_restore', 'psql', 'zstd']) {
      const real = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      writeFileSync(join(bin, tool), `#!/bin/sh\nenv -0 > "$ENV_DUMPS/${tool}.$$"\nexec ${real} "$@"\n`);
      chmodSync(join(bin, tool), 0o755);
    }
    return bin;
  }

  /** Runs `start` with the recording tools first on PATH; checks every child's environment. */
  async function checkChildren(label: string, secrets: Record<string, string>, tools: string[], start: (env: NodeJS.ProcessEnv) => Promise<{ code: number | null; log: string }>) {
    const dumps = join(tmp, `env-dumps-${label}`);
    mkdirSync(dumps, { recursive: true });
    const r = await start({ ...secrets, ENV_DUMPS: dumps, PATH: `${envRecordingTools()}:${process.env.PATH}` });
    expect(r.code, r.log).toBe(0);
    const files = readdirSync(dumps);
    expect(new Set(files.map((f) => f.split('.')[0]))).toEqual(new Set(tools));
    for (const f of files) {
      const vars = readFileSync(join(dumps, f), 'utf8').split('\0');
      const names = vars.map((v) => v.slice(0, v.indexOf('=')));
      expect(names.filter((n) => n.startsWith('INPUT_') || n in secrets), f).toEqual([]);
      for (const value of Object.values(secrets).filter((v) => v.length >= 12)) expect(vars.join('\n'), f).not.toContain(value);
      if (!f.startsWith('zstd') && !f.startsWith('pg_restore')) expect(vars, f).toContain(`PGPASSWORD=${PASSWORD}`);
    }
  }

  it('CLI: pg_dump, zstd, pg_restore and psql see none of the variables Strongbox read a secret from; PGPASSWORD still reaches them', async () => {
    const source = await database('secrets_env_src', 'CREATE TABLE items (id int); INSERT INTO items VALUES (1), (2);');
    const target = await database('secrets_env_tgt', 'SELECT 1;');
    const repo = join(tmp, 'env-repo');
    const cli = (args: string[]) => async (env: NodeJS.ProcessEnv) => {
      const r = await runCli(args, { env });
      return { code: r.code, log: r.stderr };
    };
    await checkChildren('cli-backup', { SB_PASS: PASSPHRASE, SB_DB: withPassword(source) }, ['pg_dump', 'psql', 'zstd'], cli(['backup', '--to', repo, '--init', '--compression', 'zstd', '--postgres-env', 'SB_DB', '--passphrase-env', 'SB_PASS']));
    await checkChildren('cli-restore', { SB_PASS: PASSPHRASE, SB_TARGET: withPassword(target) }, ['psql', 'pg_restore', 'zstd'], cli(['restore', '--from', repo, '--passphrase-env', 'SB_PASS', '--postgres-target-env', 'SB_TARGET']));
    expect((await target.sql('SELECT count(*) FROM items')).trim()).toBe('2');
  });

  it('actions: no child sees an INPUT_* variable (identity, passphrase, signing key, database URL)', async () => {
    const source = await database('secrets_env_asrc', 'CREATE TABLE items (id int); INSERT INTO items VALUES (1), (2), (3);');
    const target = await database('secrets_env_atgt', 'SELECT 1;');
    const repo = join(tmp, 'env-action-repo');
    const action = (name: string) => async (env: NodeJS.ProcessEnv) => {
      const out = join(tmp, `env-${name}-output`);
      writeFileSync(out, '');
      const entry = fileURLToPath(new URL(`../../src/entries/${name}.ts`, import.meta.url));
      const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { ...process.env, ...env, GITHUB_OUTPUT: out }, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      return { code: /status<<ghadelimiter_[\w-]+\nsuccess\n/.test(readFileSync(out, 'utf8')) ? code : -1, log };
    };
    const common = { INPUT_PASSPHRASE: PASSPHRASE, INPUT_IDENTITY: '', 'INPUT_SIGNING-KEY': '', 'INPUT_UNUSED-SECRET': 'an input no child may see' };
    await checkChildren(
      'action-backup',
      { ...common, INPUT_TO: repo, INPUT_INIT: 'true', INPUT_POSTGRES: withPassword(source), INPUT_COMPRESSION: 'zstd' },
      ['pg_dump', 'psql', 'zstd'],
      action('backup'),
    );
    await checkChildren('action-restore', { ...common, INPUT_FROM: repo, 'INPUT_POSTGRES-TARGET': withPassword(target) }, ['psql', 'pg_restore', 'zstd'], action('restore'));
    expect((await target.sql('SELECT count(*) FROM items')).trim()).toBe('3');
  });
});
