import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allKeys, s3Destination } from '../helpers/backup-fixtures.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { PG_HOST, PG_PORT, PG_USER, createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver.js';

/**
 * Issue 11 items 2, 3 and parts of 11, as a user meets them: the real CLI, real PostgreSQL,
 * s3rver, and mounts (bind, tmpfs) made by the test — it runs as root here and on CI; a test
 * skips only where the OS refuses the mount, and says so.
 */
let work: string;
let tree: string;
let s3: S3rverHandle;
let recipient: string;
const PASS = 'correct horse battery staple 42';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => runCli(args, { env: { ...s3.env, SB_PASS: PASS, ...env } });
const s3Flags = () => ['--endpoint', s3.endpoint, '--path-style', '--region', 'us-east-1'];

/** Mounts, or returns why the OS refused (then the test skips, saying so). */
function tryMount(args: string[]): string | undefined {
  const r = spawnSync('mount', args, { encoding: 'utf8' });
  return r.status === 0 ? undefined : `mount ${args.join(' ')} refused: ${(r.stderr || r.error?.message || '').trim()}`;
}
const umount = (dir: string) => spawnSync('umount', ['-l', dir]);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-repo-'));
  tree = join(work, 'tree');
  mkdirSync(join(tree, 'sub'), { recursive: true });
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
  s3 = await startS3rver();
  Object.assign(process.env, s3.env); // for the in-process S3 client of allKeys
  const kg = await runCli(['keygen', '--output', join(work, 'key.txt')]);
  recipient = /age1[0-9a-z]+/.exec(kg.stderr)![0];
}, 120_000);

afterAll(async () => {
  await s3?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('#30 strongbox init', () => {
  it('creates a local repository (the last folder of its path), says what it made, and is idempotent', async () => {
    mkdirSync(join(work, 'init-local', 'deep'), { recursive: true });
    writeFileSync(join(work, 'init-local', 'deep', 'README'), 'backups below\n');
    const repo = join(work, 'init-local', 'deep', 'repo');
    const r = await cli(['init', '--to', repo]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`created a Strongbox repository at ${repo} (format 1.0)\n`);
    expect(r.stderr).toBe('');
    const marker = readFileSync(join(repo, 'strongbox.json'), 'utf8');
    expect(JSON.parse(marker).format).toBe('1.0');
    const again = await cli(['init', '--to', repo, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual([{ destination: repo, created: false, format: '1.0' }]);
    expect(readFileSync(join(repo, 'strongbox.json'), 'utf8')).toBe(marker);
    expect(readdirSync(repo)).toEqual(['strongbox.json']);
  });

  it('refuses a missing parent (exit 4), naming it; warns about an empty parent that is no mount point; --init the same', async () => {
    const share = join(work, 'init-share');
    mkdirSync(share);
    const deep = join(share, 'app', 'deep');
    for (const args of [['init', '--to', deep], ['backup', '--init', '--to', deep, '--files', tree, '--recipient', recipient]]) {
      const r = await cli(args);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toContain(`will not create a Strongbox repository at ${deep}: the folder ${join(share, 'app')} does not exist`);
      expect(r.stderr).toContain('check that the volume that should be there is mounted');
      expect(readdirSync(share)).toEqual([]);
    }
    const r = await cli(['init', '--to', join(share, 'app')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${share} is an empty folder and no mount point: if a volume should be mounted there, it is not`);
    expect(readdirSync(join(share, 'app'))).toEqual(['strongbox.json']);
  });

  it('an empty parent that is a mount point (a fresh volume) gets no warning', async (ctx) => {
    const mnt = join(work, 'init-tmpfs');
    mkdirSync(mnt);
    const refused = tryMount(['-t', 'tmpfs', 'tmpfs', mnt]);
    if (refused) return ctx.skip(refused);
    try {
      const r = await cli(['init', '--to', join(mnt, 'app')]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(readdirSync(join(mnt, 'app'))).toEqual(['strongbox.json']);
    } finally {
      umount(mnt);
    }
  });

  it('refuses a folder that already holds other data (exit 7), naming it, and changes nothing (not even another --to)', async () => {
    const other = join(work, 'init-not-made');
    const r = await cli(['init', '--to', other, '--to', tree]);
    expect(r.code).toBe(7);
    expect(existsSync(other)).toBe(false);
    expect(r.stderr).toMatch(new RegExp(`will not create a Strongbox repository at ${tree}: it already holds other data \\(a\\.txt, sub/\\)`));
    expect(readdirSync(tree).sort()).toEqual(['a.txt', 'sub']);
  });

  it('creates an S3 repository under a prefix, naming bucket and prefix; refuses a prefix holding other objects', async () => {
    const r = await cli(['init', '--to', `s3://${s3.bucket}/init/prod`, ...s3Flags()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`bucket ${s3.bucket}, prefix init/prod/`);
    expect(await allKeys(s3Destination(s3, 'init/prod'))).toEqual(['strongbox.json']);
    expect((await cli(['init', '--to', `s3://${s3.bucket}/init/prod`, ...s3Flags()])).stdout).toMatch(/already holds a Strongbox repository; nothing changed/);

    await s3Destination(s3, 'init/other').putBytes('photos/cat.jpg', Buffer.from('meow'));
    const busy = await cli(['init', '--to', `s3://${s3.bucket}/init/other`, ...s3Flags()]);
    expect(busy.code).toBe(7);
    expect(busy.stderr).toContain('photos/cat.jpg');
    expect(await allKeys(s3Destination(s3, 'init/other'))).toEqual(['photos/cat.jpg']);
  });
});

describe('#30 backup needs a repository', () => {
  it('a folder under an empty, unmounted share: backup fails (exit 4) saying the share looks unmounted, offering no --init, creates nothing; verify does not say OK', async () => {
    const share = join(work, 'mnt-nas');
    mkdirSync(share);
    const r = await cli(['backup', '--to', join(share, 'app'), '--files', tree, '--recipient', recipient]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`no Strongbox repository at ${join(share, 'app')}`);
    expect(r.stderr).toContain(`${share} is an empty folder and no mount point`);
    expect(r.stderr).toMatch(/hint: mount the volume/);
    expect(r.stderr).not.toContain('--init');
    expect(readdirSync(share)).toEqual([]);
    const v = await cli(['verify', '--from', join(share, 'app')]);
    expect(v.code).toBe(4);
    expect(v.stderr).not.toMatch(/OK/);
    expect(readdirSync(share)).toEqual([]);
  });

  it('an S3 prefix without a repository: exit 4, nothing stored; --init creates it in the same run', async () => {
    const to = `s3://${s3.bucket}/fresh`;
    const r = await cli(['backup', '--to', to, '--files', tree, '--recipient', recipient, ...s3Flags()]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`strongbox init --to '${to}?endpoint=`);
    expect(await allKeys(s3Destination(s3, 'fresh'))).toEqual([]);
    const ok = await cli(['backup', '--to', to, '--init', '--files', tree, '--recipient', recipient, ...s3Flags()]);
    expect(ok.code).toBe(0);
    expect(await allKeys(s3Destination(s3, 'fresh'))).toContain('strongbox.json');
  });

  it('a run that attempts nothing creates nothing (exit 2): no marker, no locks/, no folders', async () => {
    const fresh = join(work, 'nothing-attempted');
    const aFile = join(work, 'a-file');
    writeFileSync(aFile, 'x');
    for (const source of [['--files', join(work, 'nonexistent')], ['--files', aFile], ['--postgres', 'postgres://u@127.0.0.1:5432']]) {
      const r = await cli(['backup', '--to', fresh, '--to', `s3://${s3.bucket}/never`, '--init', ...source, '--recipient', recipient, ...s3Flags()]);
      expect(r.code, r.stderr).toBe(2);
    }
    expect(existsSync(fresh)).toBe(false);
    expect(await allKeys(s3Destination(s3, 'never'))).toEqual([]);
  });
});

describe('#12 a backup that fails before any data is stored leaves no empty folder', () => {
  let db: TestDatabase;
  const role = `sb_noread_${process.pid}`;
  beforeAll(async () => {
    db = await createTestDatabase('sb_repo_fail');
    await db.sql(`CREATE TABLE secret (x int); INSERT INTO secret VALUES (1); CREATE ROLE ${role} LOGIN;`);
  });
  afterAll(async () => {
    await db?.drop();
    execFileSync('psql', ['-X', '-q', '-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER, '-d', 'postgres', '-c', `DROP ROLE IF EXISTS ${role}`]);
  });

  it('pg_dump failing (a database that does not exist; a table it may not read) leaves the repository as it was', async () => {
    const repo = join(work, 'pg-fail');
    expect((await cli(['init', '--to', repo])).code).toBe(0);
    const missing = db.url.replace(/\/[^/]+$/, '/sb_no_such_database');
    const denied = db.url.replace(`//${PG_USER}@`, `//${role}@`);
    for (const url of [missing, denied]) {
      const r = await cli(['backup', '--to', repo, '--postgres', url, '--recipient', recipient]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/does not exist|permission denied for table secret/);
      expect(readdirSync(repo)).toEqual(['strongbox.json']);
    }
  });

  it('prune removes empty backup folders a killed run left, after the grace period only', async () => {
    const repo = join(work, 'pg-fail');
    const old = join(repo, '20200101T000000Z-abcdef');
    const fresh = join(repo, '20990101T000000Z-abcdef');
    mkdirSync(old);
    mkdirSync(fresh);
    execFileSync('touch', ['-d', '2020-01-01', old]);
    const ok = await cli(['backup', '--to', repo, '--files', tree, '--recipient', recipient]);
    expect(ok.code).toBe(0);
    const p = await cli(['prune', '--from', repo, '--keep-last', '1', '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout).abandonedWrites).toEqual(['20200101T000000Z-abcdef/']);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
  });
});

describe('#31 a repository inside the tree being backed up', () => {
  const storedSizes = async (repo: string): Promise<number[]> => {
    const list = JSON.parse((await cli(['list', '--from', repo, '--json'])).stdout) as { storedBytes: number }[];
    return list.map((b) => b.storedBytes);
  };

  it('is left out, with a note: three backups do not grow, and the restored tree lacks it', async () => {
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'data.bin'), randomBytes(1 << 20));
    const repo = join(app, '.backups');
    // The last run names both through a symlink: paths differ, device and inode do not.
    const link = join(work, 'app-link');
    symlinkSync(app, link);
    for (const [to, files] of [[repo, app], [repo, app], [join(link, '.backups'), link]]) {
      const r = await cli(['backup', '--to', to!, '--init', '--files', files!, '--recipient', recipient]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`leaving ".backups" out of the backup of ${files}: it is the Strongbox repository ${to}`);
    }
    const sizes = await storedSizes(repo);
    expect(sizes).toHaveLength(3);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThan(4096);
    const target = join(work, 'app-restored');
    const r = await cli(['restore', '--from', repo, '--identity-file', join(work, 'key.txt'), '--files-target', target]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(target)).toEqual(['data.bin']);
  });

  it('is left out also when it appears in the tree through a bind mount (device + inode, not paths)', async (ctx) => {
    const app = join(work, 'app-bind');
    const repo = join(work, 'repo-elsewhere');
    mkdirSync(join(app, 'mnt', 'backups'), { recursive: true });
    writeFileSync(join(app, 'data.bin'), randomBytes(1 << 20));
    expect((await cli(['init', '--to', repo])).code).toBe(0);
    const refused = tryMount(['--bind', repo, join(app, 'mnt', 'backups')]);
    if (refused) return ctx.skip(refused);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await cli(['backup', '--to', repo, '--files', app, '--recipient', recipient]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toContain(`leaving "mnt/backups" out of the backup of ${app}`);
      }
      const sizes = await storedSizes(repo);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThan(4096);
      const target = join(work, 'app-bind-restored');
      const r = await cli(['restore', '--from', repo, '--identity-file', join(work, 'key.txt'), '--files-target', target]);
      expect(r.code, r.stderr).toBe(0);
      expect(readdirSync(join(target, 'mnt'))).toEqual([]);
    } finally {
      umount(join(app, 'mnt', 'backups'));
    }
  });
});

describe('clear errors (issue 11 item 11)', () => {
  it('a wrong bucket name is a missing bucket (exit 4, naming bucket and endpoint) for every command', async () => {
    const to = 's3://no-such-bucket-sb/prod';
    const target = join(work, 'never-restored');
    const runs = {
      init: ['init', '--to', to],
      backup: ['backup', '--to', to, '--init', '--files', tree, '--recipient', recipient],
      list: ['list', '--from', to],
      verify: ['verify', '--from', to],
      restore: ['restore', '--from', to, '--passphrase-env', 'SB_PASS', '--files-target', target],
      prune: ['prune', '--from', to, '--keep-last', '1'],
    };
    for (const [name, args] of Object.entries(runs)) {
      const r = await cli([...args, ...s3Flags()]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(4);
      expect(r.stderr, name).toContain(`bucket no-such-bucket-sb does not exist at ${s3.endpoint}`);
      expect(r.stderr, name).not.toContain('strongbox.json');
    }
    expect(existsSync(target)).toBe(false);
  });

  it('a full destination disk (ENOSPC) names the path and destination; the partial backup is removed, no manifest', async (ctx) => {
    const disk = join(work, 'small-disk');
    mkdirSync(disk);
    const refused = tryMount(['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]);
    if (refused) return ctx.skip(refused);
    try {
      const big = join(work, 'big-tree');
      mkdirSync(big);
      writeFileSync(join(big, 'noise.bin'), randomBytes(6 << 20));
      const repo = join(disk, 'repo');
      const r = await cli(['backup', '--to', repo, '--init', '--files', big, '--recipient', recipient]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`error: upload of \\S+/files-big-tree\\.tar\\.zst\\.age to ${repo} failed: writing ${repo}/\\S+ failed: ENOSPC`));
      expect(r.stderr).toContain('hint: the disk is full');
      expect(r.stderr).not.toContain('unexpected failure');
      expect(readdirSync(repo)).toEqual(['strongbox.json']);
    } finally {
      umount(disk);
    }
  });

  it('an empty tree, or one whose excludes leave nothing, warns that it looks like an unmounted volume; the backup still runs', async () => {
    const repo = join(work, 'empty-tree-repo');
    const empty = join(work, 'mnt-uploads');
    mkdirSync(empty);
    for (const [dir, extra] of [[empty, []], [tree, ['--exclude', '*']]] as const) {
      const r = await cli(['backup', '--to', repo, '--init', '--files', dir, ...extra, '--recipient', recipient]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`warning: ${dir} is empty.*check that its volume is mounted`));
    }
    const full = await cli(['backup', '--to', repo, '--files', tree, '--recipient', recipient]);
    expect(full.stderr).not.toMatch(/is empty/);
  });
});
