/**
 * A swapped PostgreSQL artifact, through the real CLI and real PostgreSQL: someone with write
 * access to the storage and the public recipient (no secret) replaces the artifact object of a
 * signed backup with their own encrypted dump. Manifest and signature stay valid, so only the
 * stored SHA-256 can tell — and it must before pg_restore or psql reads a byte, because psql
 * executes statements as they arrive (some with effects no ROLLBACK undoes). The tools are
 * wrapped on PATH to record every start.
 */
import { spawnSync } from 'node:child_process';
import { machineTag, ownerTag } from '../../src/shared/owned-names.js';
import { currentOwner } from '../../src/shared/process-owner.js';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { startCli } from '../helpers/backup-fixtures.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/cli-process.js';
import { holdTableLock, releaseTableLock, waitingSessions } from '../helpers/pg-locks.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

let work: string;
let bin: string;
let toolLog: string;
let idFile: string;
let recipient: string;
let signKey: string;
const dbs: TestDatabase[] = [];

/**
 * A wrapper that logs its name, arguments and (for the restore's pg_restore and psql) the modes
 * of our temp folder, then runs the real tool. Only our entries are listed: the two run at
 * once, and a short listing is appended in one write, so their lines never interleave.
 */
function wrap(tool: string): void {
  const real = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
  const script = `#!/bin/sh
echo "${tool} $*" >> "${toolLog}"
case "$*" in *--file=-*) find "$TMPDIR" -mindepth 1 -path "$TMPDIR/strongbox-*" -printf '%m %P\\n' >> "${toolLog}.tmp" ;; esac
exec "${real}" "$@"
`;
  writeFileSync(join(bin, tool), script, { mode: 0o755 });
}

/** Strongbox's entries in a temp dir (tsx, which runs the CLI from source, keeps its cache there too). */
const ours = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('strongbox-'));
const starts = () => (existsSync(toolLog) ? readFileSync(toolLog, 'utf8').split('\n').filter(Boolean) : []);
/** pg_restore, or the psql that runs the restore script (`--file=-`); the emptiness checks also use psql. */
const restoreStarts = () => starts().filter((l) => l.startsWith('pg_restore') || l.includes('--file=-'));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sb-pg-swap-'));
  bin = join(work, 'bin');
  mkdirSync(bin);
  toolLog = join(work, 'tools.log');
  wrap('psql');
  wrap('pg_restore');
  const id = generateIdentity();
  recipient = id.recipient;
  idFile = join(work, 'key.txt');
  writeFileSync(idFile, `${id.identity}\n`, { mode: 0o600 });
  signKey = join(work, 'signing');
  const k = await runCli(['keygen', '--signing', '--output', signKey]);
  expect(k.code, k.stderr).toBe(0);
});
afterAll(async () => {
  for (const d of dbs) await d.drop();
  rmSync(work, { recursive: true, force: true });
});

async function db(prefix: string): Promise<TestDatabase> {
  const d = await createTestDatabase(prefix);
  dbs.push(d);
  return d;
}

async function backup(repo: string, url: string, extra: string[] = []): Promise<string> {
  const r = await runCli(['backup', '--to', repo, '--init', '--postgres', url, '--recipient', recipient, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

function artifactPath(repo: string, id: string): string {
  const m = JSON.parse(readFileSync(join(repo, id, 'manifest.json'), 'utf8'));
  return join(repo, id, m.artifacts[0].key);
}

describe('#1 restore of a signed backup whose PostgreSQL artifact was swapped for another encrypted dump', () => {
  it('exits 3 naming the object; pg_restore and the restoring psql never start; the target is unchanged; the temp copy is gone', async () => {
    const real = await db('swap_real');
    await real.sql('CREATE TABLE accounts (id int primary key, owner text); INSERT INTO accounts VALUES (1, $$alice$$);');
    const evil = await db('swap_evil');
    await evil.sql('CREATE TABLE planted (id int); CREATE FUNCTION planted_fn() RETURNS int LANGUAGE sql AS $$ SELECT 42 $$;');
    const repo = join(work, 'repo');
    const signed = await backup(repo, real.url, ['--sign-key', signKey]);
    const other = await backup(join(work, 'attacker-repo'), evil.url);
    const victim = artifactPath(repo, signed);
    copyFileSync(artifactPath(join(work, 'attacker-repo'), other), victim);

    const target = await db('swap_target');
    const temp = join(work, 'tmp-swap');
    mkdirSync(temp);
    const env = { PATH: `${bin}:${process.env.PATH}`, TMPDIR: temp };
    for (const trust of [['--trust', `${signKey}.pub`], []]) {
      rmSync(toolLog, { force: true });
      const r = await runCli(['restore', '--from', repo, '--backup', signed, '--identity-file', idFile, ...trust, '--postgres-target', target.url], { env });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(`stored object ${victim} does not match its manifest`);
      expect(starts().length, 'the wrapper on PATH was used (emptiness check)').toBeGreaterThan(0);
      expect(restoreStarts()).toEqual([]);
      expect((await target.sql(`SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace`)).trim()).toBe('0');
      expect((await target.sql(`SELECT count(*) FROM pg_proc WHERE proname = 'planted_fn'`)).trim()).toBe('0');
      expect(ours(temp)).toEqual([]);
    }
  });

  it('an intact backup restores from a private copy (folder 0700, file 0600) that is removed afterwards', async () => {
    const src = await db('swap_ok');
    await src.sql('CREATE TABLE t (v text); INSERT INTO t VALUES ($$kept$$);');
    const repo = join(work, 'repo-ok');
    const id = await backup(repo, src.url, ['--sign-key', signKey]);
    const target = await db('swap_ok_target');
    const temp = join(work, 'tmp-ok');
    mkdirSync(temp);
    rmSync(`${toolLog}.tmp`, { force: true });
    const r = await runCli(['restore', '--from', repo, '--backup', id, '--identity-file', idFile, '--trust', `${signKey}.pub`, '--postgres-target', target.url], {
      env: { PATH: `${bin}:${process.env.PATH}`, TMPDIR: temp },
    });
    expect(r.code, r.stderr).toBe(0);
    expect((await target.sql('SELECT v FROM t')).trim()).toBe('kept');
    const seen = readFileSync(`${toolLog}.tmp`, 'utf8').trim().split('\n').filter((l) => l.includes('strongbox-'));
    expect([...new Set(seen)]).toEqual([expect.stringMatching(/^700 strongbox-restore-[\w-]+$/), expect.stringMatching(/^600 strongbox-restore-[\w-]+\/artifact$/)]);
    expect(ours(temp)).toEqual([]);
  });

  it('the copy a restore killed with kill -9 left behind is removed by the next restore; one of a running restore is kept', async () => {
    const src = await db('swap_sweep');
    await src.sql('CREATE TABLE t (v text); INSERT INTO t VALUES ($$swept$$);');
    const repo = join(work, 'repo-sweep');
    const id = await backup(repo, src.url);
    const target = await db('swap_sweep_target');
    const temp = join(work, 'tmp-sweep');
    mkdirSync(temp);
    // A killed restore's folder: named for a process that has ended (on this machine, boot and pid namespace).
    const gone = spawnSync('true').pid!;
    const me = currentOwner();
    const killed = join(temp, `strongbox-restore-${gone}-0-${machineTag(me)}-AbC123`);
    const running = join(temp, `strongbox-restore-${ownerTag()}XyZ789`);
    for (const d of [killed, running]) {
      mkdirSync(d, { mode: 0o700 });
      writeFileSync(join(d, 'artifact'), 'a whole encrypted dump');
    }
    const r = await runCli(['restore', '--from', repo, '--backup', id, '--identity-file', idFile, '--postgres-target', target.url], { env: { TMPDIR: temp } });
    expect(r.code, r.stderr).toBe(0);
    expect((await target.sql('SELECT v FROM t')).trim()).toBe('swept');
    expect(existsSync(killed)).toBe(false);
    expect(existsSync(running)).toBe(true);
  });

  it('a temp disk too small for the copy: exit 1 naming the size needed and TMPDIR, the target unchanged', async (ctx) => {
    const src = await db('swap_big');
    await src.sql(`CREATE TABLE noise AS SELECT g, md5(random()::text) || md5(random()::text) AS h FROM generate_series(1, 20000) g;`);
    const repo = join(work, 'repo-big');
    const id = await backup(repo, src.url);
    const size = JSON.parse(readFileSync(join(repo, id, 'manifest.json'), 'utf8')).artifacts[0].stored.size as number;
    const disk = join(work, 'small-tmp');
    mkdirSync(disk);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk], { stdio: 'pipe' });
    } catch (err) {
      return ctx.skip(`the OS refused mount (${(err as Error).message}); run as root`);
    }
    try {
      expect(size).toBeGreaterThan(128 * 1024);
      const target = await db('swap_big_target');
      const r = await runCli(['restore', '--from', repo, '--backup', id, '--identity-file', idFile, '--postgres-target', target.url], { env: { TMPDIR: disk } });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`not enough space in ${disk} for the verified local copy of ${artifactPath(repo, id)}: it needs ${size} bytes`);
      expect(r.stderr).toContain('point TMPDIR at a disk with room');
      expect((await target.sql(`SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace`)).trim()).toBe('0');
      expect(ours(disk)).toEqual([]);
    } finally {
      execFileSync('umount', [disk]);
    }
  });

  for (const twice of [false, true]) {
    it(`SIGINT${twice ? ' twice (exit without finishing the cleanup)' : ''} mid-restore removes the temp copy; the target is unchanged`, async () => {
      const src = await db('swap_cancel');
      await src.sql('CREATE TABLE t (v text); INSERT INTO t VALUES ($$x$$);');
      const repo = join(work, `repo-cancel-${twice}`);
      const id = await backup(repo, src.url);
      const target = await db('swap_cancel_target');
      await target.sql('CREATE TABLE keep (id int); INSERT INTO keep VALUES (1);');
      // The restore's transaction (--force empties the target first) waits on this lock,
      // with the verified copy in place.
      const holder = await holdTableLock(target, 'keep');
      const temp = join(work, `tmp-cancel-${twice}`);
      mkdirSync(temp);
      try {
        const cli = startCli(['restore', '--from', repo, '--backup', id, '--identity-file', idFile, '--postgres-target', target.url, '--force'], { TMPDIR: temp });
        await waitFor(async () => (await waitingSessions(target)) > 0, 'the restore to wait for the table lock');
        expect(ours(temp)).toHaveLength(1);
        process.kill(cli.pid, 'SIGINT');
        if (twice) {
          await new Promise((r) => setTimeout(r, 100));
          process.kill(cli.pid, 'SIGINT');
        }
        const r = await cli.done;
        expect(r.code, r.stderr).toBe(130);
        if (twice) expect(r.stderr).toContain('exited without finishing the cleanup');
        expect(ours(temp)).toEqual([]);
      } finally {
        holder.kill('SIGKILL');
        await releaseTableLock(target).catch(() => {});
      }
      expect((await target.sql('SELECT count(*) FROM keep')).trim()).toBe('1');
    });
  }
});
