import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { ConsoleReporter } from '../../src/shared/reporter.js';
import { dumpFiles } from '../../src/sources/files/archive.js';
import { restoreFiles } from '../../src/sources/files/extract.js';
import { stagingPrefix } from '../../src/sources/files/target.js';

/**
 * The files target of `restore` / `rollback`, as a user meets it from the CLI: real bind and
 * tmpfs mounts below it, parents that cannot be written, names too long, a file in its place,
 * and the folders a killed restore leaves beside it.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = fileURLToPath(new URL('../../src/entries/cli.ts', import.meta.url));
const PASS = 'restore-target-passphrase-0123';
const env = { SB_PASS: PASS };

let work: string;
let repo: string;
let backupId: string;

function cli(args: string[]): Promise<CliResult> {
  return runCli(args, { env });
}

/** Everything under a directory (type, size, content hash of files), for "unchanged" checks. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const p = rel ? join(dir, rel) : dir;
    const st = lstatSync(p);
    if (st.isDirectory()) {
      out.push(`${rel || '.'}/`);
      for (const n of readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
    } else out.push(`${rel} ${st.size} ${st.isFile() ? readFileSync(p).toString('base64').slice(0, 24) : 'other'}`);
  };
  walk('');
  return out;
}

function completeBackups(): string[] {
  return readdirSync(repo).filter((n) => existsSync(join(repo, n, 'manifest.json')));
}

/** Mounting is what these tests are about: probe once, and say why they are skipped if the OS refuses. */
function mountRefused(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'sb-mount-probe-'));
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { encoding: 'utf8' });
    if (r.status !== 0) return `the OS refused mount (${(r.stderr || r.error?.message || '').trim()}); run as root with CAP_SYS_ADMIN`;
    spawnSync('umount', [dir]);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const refusedWhy = mountRefused();

const mounted: string[] = [];
function mount(args: string[], at: string): void {
  mkdirSync(at, { recursive: true });
  const r = spawnSync('mount', [...args, at], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount ${args.join(' ')} ${at}: ${r.stderr}`);
  mounted.push(at);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sb-restore-target-'));
  const src = join(work, 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'from the backup');
  writeFileSync(join(src, 'sub/b.bin'), randomBytes(4096));
  repo = join(work, 'repo');
  const b = await cli(['backup', '--to', repo, '--init', '--files', src, '--passphrase-env', 'SB_PASS', '--json']);
  expect(b.code, b.stderr).toBe(0);
  backupId = completeBackups()[0]!;
}, 60_000);

afterEach(() => {
  for (const at of mounted.splice(0).reverse()) {
    if (spawnSync('umount', [at]).status !== 0) spawnSync('umount', ['-l', at]);
  }
});

afterAll(() => {
  // Also what a failed run moved aside with its mounts: never rm -rf through a mount.
  const below = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && m.startsWith(`${work}/`));
  for (const at of below.reverse()) if (spawnSync('umount', [at]).status !== 0) spawnSync('umount', ['-l', at]);
  spawnSync('chmod', ['-R', 'u+rwx', work]);
  rmSync(work, { recursive: true, force: true });
});

/** A target with content, as `restore --force` would find it. */
function occupiedTarget(name: string): string {
  const target = join(work, name);
  mkdirSync(target, { recursive: true });
  writeFileSync(join(target, 'live.txt'), 'live data');
  return target;
}

const restoreArgs = (target: string, extra: string[] = []) => ['restore', '--from', repo, '--files-target', target, '--passphrase-env', 'SB_PASS', ...extra];

describe.skipIf(refusedWhy !== undefined)(`restore --force over mounts (row 32)${refusedWhy ? ` — skipped: ${refusedWhy}` : ''}`, () => {
  it('refuses a target holding a bind mount of the repository (exit 2): repository intact, target unchanged', async () => {
    const target = occupiedTarget('app-bind-repo');
    mount(['--bind', repo], join(target, 'backups'));
    const repoBefore = snapshot(repo);
    const targetBefore = snapshot(target);
    const r = await cli(restoreArgs(target, ['--force']));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`the files target ${target} contains the repository ${repo}`);
    expect(r.stderr).toContain(join(target, 'backups'));
    expect(snapshot(repo)).toEqual(repoBefore);
    expect(snapshot(target)).toEqual(targetBefore);
    expect(readdirSync(work).filter((n) => n.startsWith('app-bind-repo.'))).toEqual([]);
  });

  it('rollback refuses it too, before taking a safety backup', async () => {
    const target = occupiedTarget('app-rollback-bind');
    mount(['--bind', repo], join(target, 'backups'));
    const r = await cli(['rollback', '--from', repo, '--backup', backupId, '--files-target', target, '--confirm', 'app-rollback-bind', '--passphrase-env', 'SB_PASS']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/contains the repository/);
    expect(completeBackups()).toEqual([backupId]);
  });

  it('refuses a target given by another path (a bind mount) to an ancestor of the repository (exit 2)', async () => {
    const app = occupiedTarget('app-with-repo');
    const inner = join(app, '.backups');
    const b = await cli(['backup', '--to', inner, '--init', '--files', join(work, 'src'), '--passphrase-env', 'SB_PASS']);
    expect(b.code, b.stderr).toBe(0);
    const alias = join(work, 'alias');
    mount(['--bind', app], alias);
    const before = snapshot(app);
    const r = await runCli(['restore', '--from', inner, '--files-target', alias, '--passphrase-env', 'SB_PASS', '--force'], { env });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/contains the repository/);
    expect(snapshot(app)).toEqual(before);
  });

  it('refuses a target with a tmpfs mounted below it (exit 7): the volume and its data stay', async () => {
    const target = occupiedTarget('app-tmpfs');
    const vol = join(target, 'data/volume');
    mount(['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs'], vol);
    writeFileSync(join(vol, 'precious.db'), 'volume data');
    const before = snapshot(target);
    const r = await cli(restoreArgs(target, ['--force']));
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toContain(`the files target ${target} has a file system mounted below it (${vol})`);
    expect(r.stderr).toMatch(/unmount/);
    expect(r.stderr).not.toMatch(/remove (them|it) by hand/);
    expect(snapshot(target)).toEqual(before);
    expect(readFileSync(join(vol, 'precious.db'), 'utf8')).toBe('volume data');
    expect(readdirSync(work).filter((n) => n.startsWith('app-tmpfs.'))).toEqual([]);
  });

  it('refuses a target with a bind mount of another folder of the same file system below it (exit 7)', async () => {
    const other = join(work, 'shared-folder');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'keep.txt'), 'shared');
    const target = occupiedTarget('app-bind-other');
    mount(['--bind', other], join(target, 'shared'));
    const r = await cli(restoreArgs(target, ['--force']));
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toContain(join(target, 'shared'));
    expect(readFileSync(join(other, 'keep.txt'), 'utf8')).toBe('shared');
  });

  it('the old contents are never deleted while a volume is mounted below them (a mount that appeared after the checks)', async () => {
    // restoreFiles itself, past the CLI's up-front refusal: as if the volume was mounted mid-restore.
    const target = occupiedTarget('app-late-mount');
    const vol = join(target, 'volume');
    mount(['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs'], vol);
    writeFileSync(join(vol, 'precious.db'), 'volume data');
    const lines: string[] = [];
    const reporter = new ConsoleReporter({ verbose: true, write: (l) => lines.push(l) });
    const src = join(work, 'src');
    const dump = dumpFiles(src, { reporter });
    const [bytes] = await Promise.all([buffer(dump.stream), dump.completed]);
    await restoreFiles(Readable.from([bytes]), target, { force: true, reporter });
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('from the backup');
    const aside = readdirSync(work).filter((n) => n.startsWith('app-late-mount.strongbox-old-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(work, aside[0]!, 'volume/precious.db'), 'utf8')).toBe('volume data');
    expect(lines.join('\n')).toContain(`its previous contents were kept at ${join(work, aside[0]!)}: a file system is mounted below it`);
    mounted.push(join(work, aside[0]!, 'volume'));
  });

  it('a target whose parent is on a read-only file system gets a clear message naming it (exit 2)', async () => {
    const ro = join(work, 'ro');
    mount(['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs'], ro);
    const r = await cli(restoreArgs(join(ro, 'restored')));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`cannot restore into ${join(ro, 'restored')}: its parent directory ${ro} is not writable (it is on a read-only file system)`);
  });

  it('refuses a target that is itself a mount point (exit 7), with or without --force, before extracting anything (TRIAL 7)', async () => {
    const vol = join(work, 'vol-itself');
    mount(['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs'], vol);
    writeFileSync(join(vol, 'precious.db'), 'volume data');
    const before = snapshot(vol);
    for (const extra of [[], ['--force']]) {
      const r = await cli(restoreArgs(vol, extra));
      expect(r.code, r.stderr).toBe(7);
      expect(r.stderr).toContain(`the files target ${vol} is itself a mount point`);
      expect(r.stderr).toContain(`restore into a new directory inside it (e.g. --files-target ${join(vol, 'restored')}), then move the contents`);
      expect(r.stderr).not.toMatch(/EBUSY|Restoring /);
    }
    expect(snapshot(vol)).toEqual(before);
    // No staging folder beside it (on the parent's file system), none inside it.
    expect(readdirSync(work).filter((n) => n.startsWith('vol-itself.'))).toEqual([]);

    // An empty tmpfs too: rename(2) onto it would fail only after the whole extraction.
    const empty = join(work, 'vol-empty');
    mount(['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs'], empty);
    const e = await cli(restoreArgs(empty));
    expect(e.code, e.stderr).toBe(7);
    expect(readdirSync(empty)).toEqual([]);
    expect(readdirSync(work).filter((n) => n.startsWith('vol-empty.'))).toEqual([]);

    // The hint works: a new directory inside the volume restores.
    const inside = await cli(restoreArgs(join(vol, 'restored')));
    expect(inside.code, inside.stderr).toBe(0);
    expect(readFileSync(join(vol, 'restored/a.txt'), 'utf8')).toBe('from the backup');
    expect(readFileSync(join(vol, 'precious.db'), 'utf8')).toBe('volume data');
  });

  it('refuses a target that is a bind mount of a folder of the same file system (exit 7)', async () => {
    const other = join(work, 'bind-source');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'keep.txt'), 'kept');
    const target = join(work, 'bind-target');
    mount(['--bind', other], target);
    const r = await cli(restoreArgs(target, ['--force']));
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toContain(`the files target ${target} is itself a mount point`);
    expect(readdirSync(other)).toEqual(['keep.txt']);
    expect(readdirSync(work).filter((n) => n.startsWith('bind-target.'))).toEqual([]);
  });

  it('rollback refuses a target that is itself a mount point before its safety backup (exit 7)', async () => {
    const vol = join(work, 'vol-rollback');
    mount(['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs'], vol);
    writeFileSync(join(vol, 'precious.db'), 'volume data');
    const backupsBefore = completeBackups();
    const r = await cli(['rollback', '--from', repo, '--backup', backupId, '--files-target', vol, '--confirm', 'vol-rollback', '--passphrase-env', 'SB_PASS']);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toContain(`the files target ${vol} is itself a mount point`);
    expect(r.stderr).not.toMatch(/safety backup of the current state/);
    expect(completeBackups()).toEqual(backupsBefore);
    expect(readdirSync(vol)).toEqual(['precious.db']);
    expect(readdirSync(work).filter((n) => n.startsWith('vol-rollback.'))).toEqual([]);
  });
});

describe('files targets a restore cannot use (issue 11 item 11)', () => {
  it('a parent this user may not write gets a clear message naming it (exit 2), nothing created', async () => {
    const parent = join(work, 'locked-parent');
    mkdirSync(parent, { recursive: true });
    spawnSync('chmod', ['0555', parent]);
    // Root writes anywhere; drop its capabilities so the permission bits apply, as for any user.
    const asUser = process.getuid?.() === 0 ? ['setpriv', '--bounding-set=-all', '--inh-caps=-all', '--'] : [];
    const [cmd, ...args] = [...asUser, process.execPath, '--import', 'tsx', ENTRY, ...restoreArgs(join(parent, 'restored'))];
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(cmd!, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`its parent directory ${parent} is not writable (this user may not write in it)`);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('a target name too long for the folders put beside it gets a clear message (exit 2), nothing created', async () => {
    const parent = join(work, 'long');
    mkdirSync(parent);
    const target = join(parent, 'x'.repeat(240));
    const r = await cli(restoreArgs(target));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`the files target name is too long: ${target}`);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('rollback with a file as --files-target is refused (exit 7) like restore, before any safety backup', async () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'keep me');
    const restoreRun = await cli(restoreArgs(file));
    expect(restoreRun.code).toBe(7);
    const r = await cli(['rollback', '--from', repo, '--backup', backupId, '--files-target', file, '--confirm', 'a-file', '--passphrase-env', 'SB_PASS']);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toContain(`the files target ${file} is not a directory`);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    expect(completeBackups()).toEqual([backupId]);
  });
});

describe('a tree with absolute, outside-pointing and dangling links, from the CLI (row 36)', () => {
  it('backs up, deep-verifies, restores and rolls back, the links exactly as they were', async () => {
    const app = join(work, 'linked-app');
    mkdirSync(join(app, 'conf'), { recursive: true });
    writeFileSync(join(app, 'conf/app.ini'), 'v=1');
    symlinkSync('/etc/ssl/certs', join(app, 'certs'));
    symlinkSync('../../src/a.txt', join(app, 'conf/outside'));
    symlinkSync('/nonexistent/strongbox', join(app, 'dangling'));
    const links = ['certs', 'conf/outside', 'dangling'];
    const linkRepo = join(work, 'linked-repo');
    const b = await cli(['backup', '--to', linkRepo, '--init', '--files', app, '--passphrase-env', 'SB_PASS', '--label', 'pre-release']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).not.toMatch(/cannot be restored|restores refuse/);
    const v = await cli(['verify', '--from', linkRepo, '--deep', '--passphrase-env', 'SB_PASS']);
    expect(v.code, v.stderr).toBe(0);

    const restored = join(work, 'linked-restored');
    const r = await cli(['restore', '--from', linkRepo, '--files-target', restored, '--passphrase-env', 'SB_PASS']);
    expect(r.code, r.stderr).toBe(0);
    for (const l of links) expect(readlinkSync(join(restored, l))).toBe(readlinkSync(join(app, l)));

    // A release changes the tree; rolling back returns it, links included.
    rmSync(join(app, 'certs'));
    writeFileSync(join(app, 'certs'), 'not a link any more');
    const rb = await cli(['rollback', '--from', linkRepo, '--backup', 'label:pre-release', '--files-target', app, '--confirm', 'linked-app', '--passphrase-env', 'SB_PASS']);
    expect(rb.code, rb.stderr).toBe(0);
    for (const l of links) expect(readlinkSync(join(app, l))).toBe(readlinkSync(join(restored, l)));
    expect(readFileSync(join(app, 'conf/app.ini'), 'utf8')).toBe('v=1');
  }, 60_000);
});

describe('folders a killed restore leaves beside the target (issue 11 item 7)', () => {
  it('after kill -9 mid-extraction, the next restore removes the staging folder, keeps a running one and reports an old one', async () => {
    const big = join(work, 'big');
    mkdirSync(big);
    for (let i = 0; i < 40; i++) writeFileSync(join(big, `f${i}.bin`), randomBytes(4 << 20));
    const bigRepo = join(work, 'big-repo');
    const b = await cli(['backup', '--to', bigRepo, '--init', '--files', big, '--compression', 'none', '--passphrase-env', 'SB_PASS']);
    expect(b.code, b.stderr).toBe(0);

    const parent = join(work, 'killed');
    mkdirSync(parent);
    const target = join(parent, 'restored');
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'restore', '--from', bigRepo, '--files-target', target, '--passphrase-env', 'SB_PASS'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const closed = new Promise<string | null>((r) => child.on('close', (_c, signal) => r(signal)));
    // Kill it as soon as its staging folder holds a file: extraction has started.
    const staging = await new Promise<string>((resolve, reject) => {
      const deadline = Date.now() + 30_000;
      const poll = () => {
        const s = readdirSync(parent).find((n) => n.startsWith('restored.strongbox-staging-'));
        if (s && readdirSync(join(parent, s)).length > 0) return resolve(join(parent, s));
        if (Date.now() > deadline) return reject(new Error('the restore never started extracting'));
        setTimeout(poll, 5);
      };
      poll();
    });
    child.kill('SIGKILL');
    expect(await closed).toBe('SIGKILL');
    expect(existsSync(staging)).toBe(true);
    expect(existsSync(target)).toBe(false);

    // A staging folder of a restore that is still running (this process), and an old-contents folder.
    const running = mkdtempSync(stagingPrefix(target));
    const old = `${target}.strongbox-old-0a1b2c3d`;
    mkdirSync(old);
    writeFileSync(join(old, 'previous.txt'), 'previous contents');

    const again = await runCli(['restore', '--from', bigRepo, '--files-target', target, '--passphrase-env', 'SB_PASS'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`removed ${staging}, left by an interrupted restore`);
    expect(again.stderr).toContain(`${old} is there from an earlier restore --force of ${target}`);
    expect(again.stderr).not.toMatch(/remove (them|it) by hand/);
    expect(existsSync(staging)).toBe(false);
    expect(existsSync(running)).toBe(true);
    expect(readFileSync(join(old, 'previous.txt'), 'utf8')).toBe('previous contents');
    expect(readdirSync(target).length).toBe(40);
    expect(statSync(join(target, 'f7.bin')).size).toBe(4 << 20);
    expect(readdirSync(parent).sort()).toEqual([basenameOf(old), basenameOf(running), 'restored'].sort());
  }, 120_000);
});

function basenameOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
