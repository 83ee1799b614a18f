/**
 * Restoring collections as a user does, through the CLI: an incremental tree (two backups, the
 * second referencing unchanged files) restores exactly as the source was; --path writes one file
 * or a folder into an empty or an existing target (equal files left alone, differing ones refused
 * unless --force); --dry-run writes nothing; a damaged pack is caught before the target changes;
 * --path works on a plain (tar) backup too; --before picks the older backup; verify with the key
 * reads every member back.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, lstat, lutimes, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, untimed } from '../helpers/cli.js';

const run = promisify(execFile);
let work: string;
let key: string;
let recipient: string;
let src: string;
let repo: string;
let firstId: string;
let secondId: string;

/** Every path with type, permission bits, size, mtime (ms) and content hash or link target. */
/** Every entry's mtime in milliseconds, by name. */
async function mtimes(root: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const walk = async (rel: string) => {
    const p = rel ? join(root, rel) : root;
    const st = await lstat(p, { bigint: true });
    out.set(rel || '.', Number(st.mtimeNs / 1_000_000n));
    if (st.isDirectory()) for (const n of (await readdir(p)).sort()) await walk(rel ? `${rel}/${n}` : n);
  };
  await walk('');
  return out;
}

async function describeTree(root: string, times = true): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    const p = rel ? join(root, rel) : root;
    const st = await lstat(p);
    // Milliseconds as the index records them (truncated); a restored time set through utimes'
    // float seconds may land a few nanoseconds below its millisecond, hence the 10 µs.
    const ms = times ? Number(((await lstat(p, { bigint: true })).mtimeNs + 10_000n) / 1_000_000n) : '';
    const name = rel || '.';
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out.push(`${name} link -> ${await readlink(p)} ${ms}`);
    else if (st.isFile()) out.push(`${name} file ${mode} ${st.size} ${ms} ${createHash('sha256').update(await readFile(p)).digest('hex').slice(0, 16)}`);
    else if (st.isDirectory()) {
      out.push(`${name} dir ${mode} ${ms}`);
      for (const child of (await readdir(p)).sort()) await walk(rel ? `${rel}/${child}` : child);
    }
  };
  await walk('');
  return out;
}

const key_ = () => ['--identity-file', key];
const restoreArgs = (...more: string[]) => ['restore', '--from', repo, ...key_(), ...more];

async function backupIds(r: string): Promise<string[]> {
  return (await readdir(r)).filter((n) => /^\d{8}T/.test(n)).sort();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sb-coll-restore-'));
  key = join(work, 'key.txt');
  await run('age-keygen', ['-o', key]);
  recipient = (await run('age-keygen', ['-y', key])).stdout.trim();
  src = join(work, 'src');
  await mkdir(join(src, 'docs/deep/er'), { recursive: true });
  await mkdir(join(src, 'empty'));
  await mkdir(join(src, 'photos'));
  await writeFile(join(src, 'docs/a.txt'), 'first version\n');
  await writeFile(join(src, 'docs/deep/er/ü ñ 日本.txt'), 'unicode name\n');
  await writeFile(join(src, 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(src, 'run.sh'), 0o750);
  await chmod(join(src, 'docs/a.txt'), 0o600);
  for (let i = 0; i < 20; i++) await writeFile(join(src, 'photos', `p${i}.jpg`), Buffer.alloc(10_000 + i, i));
  await writeFile(join(src, 'photos/big.raw'), Buffer.alloc(5 * 1024 * 1024, 7));
  await symlink('docs/a.txt', join(src, 'link'));
  await utimes(join(src, 'docs/a.txt'), new Date('2025-01-02T03:04:05.250Z'), new Date('2025-01-02T03:04:05.250Z'));
  await lutimes(join(src, 'link'), new Date('2025-03-03T00:00:00Z'), new Date('2025-03-03T00:00:00Z'));
  await utimes(join(src, 'empty'), new Date('2024-06-06T06:06:06Z'), new Date('2024-06-06T06:06:06Z'));
  repo = join(work, 'repo');
  const b1 = await runCli(['backup', '--to', repo, '--init', '--files', src, '--incremental', '--recipient', recipient]);
  expect(b1.code, b1.stderr).toBe(0);
  // The second backup: one file changed, one added; the rest is referenced, not stored again.
  await writeFile(join(src, 'docs/a.txt'), 'second version\n');
  await utimes(join(src, 'docs/a.txt'), new Date('2025-02-02T03:04:05.750Z'), new Date('2025-02-02T03:04:05.750Z'));
  await writeFile(join(src, 'new.txt'), 'added\n');
  await new Promise((r) => setTimeout(r, 1100)); // backup ids and --before have second resolution
  const b2 = await runCli(['backup', '--to', repo, '--files', src, '--incremental', '--recipient', recipient]);
  expect(b2.code, b2.stderr).toBe(0);
  [firstId, secondId] = await backupIds(repo);
  expect(secondId).toBeDefined();
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('restoring an incremental tree', () => {
  it('restores the whole tree exactly as the source: content, modes, links, times, empty folders', async () => {
    const target = join(work, 'full');
    const r = await runCli(restoreArgs('--files-target', target));
    expect(r.code, r.stderr).toBe(0);
    expect(await describeTree(target, false)).toEqual(await describeTree(src, false));
    // Times to the millisecond the index records; utimes' float seconds (libuv keeps whole
    // microseconds) can set one a hair below it, so allow 2 ms either way.
    const [got, want] = [await mtimes(target), await mtimes(src)];
    expect([...got.keys()]).toEqual([...want.keys()]);
    for (const [name, ms] of want) expect(Math.abs(got.get(name)! - ms), name).toBeLessThanOrEqual(2);
  });

  it('verify with the key reads every member back', async () => {
    const v = await runCli(['verify', '--from', repo, ...key_()]);
    expect(v.code, v.stderr).toBe(0);
    expect(untimed(v.stderr)).toMatch(/ok files-src \[files\] .*: 31 members read back and checked/);
  });

  it('--before picks the older backup', async () => {
    const target = join(work, 'before');
    const secondStarted = `${secondId!.slice(0, 4)}-${secondId!.slice(4, 6)}-${secondId!.slice(6, 8)}T${secondId!.slice(9, 11)}:${secondId!.slice(11, 13)}:${secondId!.slice(13, 15)}Z`;
    const r = await runCli(restoreArgs('--files-target', target, '--before', secondStarted, '--path', 'docs/a.txt'));
    expect(r.code, r.stderr).toBe(0);
    expect(untimed(r.stderr)).toContain(`Restoring ${firstId}`);
    expect(await readFile(join(target, 'docs/a.txt'), 'utf8')).toBe('first version\n');
  });

  it('--path of one file into an empty target writes just it (with its mode and time)', async () => {
    const target = join(work, 'one');
    const r = await runCli(restoreArgs('--files-target', target, '--path', 'docs/deep/er/ü ñ 日本.txt'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('wrote docs/deep/er/ü ñ 日本.txt');
    expect(await readdir(target)).toEqual(['docs']);
    expect(await readFile(join(target, 'docs/deep/er/ü ñ 日本.txt'), 'utf8')).toBe('unicode name\n');
    expect((await readdir(work)).filter((n) => n.includes('.strongbox-'))).toEqual([]);
  });

  it('--path of a folder into an existing target: the rest kept, equal left alone, differing refused unless --force', async () => {
    const target = join(work, 'existing');
    await mkdir(join(target, 'docs'), { recursive: true });
    await writeFile(join(target, 'mine.txt'), 'keep me\n');
    await writeFile(join(target, 'docs/a.txt'), 'second version\n'); // same content
    const r1 = await runCli(restoreArgs('--files-target', target, '--path', 'docs'));
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stdout).toContain('unchanged docs/a.txt');
    expect(r1.stdout).toContain('files-src → ' + target + ': 3 written, 0 replaced, 1 unchanged');
    expect(await readFile(join(target, 'mine.txt'), 'utf8')).toBe('keep me\n');
    expect(await readFile(join(target, 'docs/deep/er/ü ñ 日本.txt'), 'utf8')).toBe('unicode name\n');

    await writeFile(join(target, 'docs/a.txt'), 'edited locally\n');
    const before = await describeTree(target);
    const refused = await runCli(restoreArgs('--files-target', target, '--path', 'docs'));
    expect(refused.code).toBe(7);
    expect(untimed(refused.stderr)).toContain(`error: 1 file(s) in ${target} differ from the backup: "docs/a.txt"; nothing was written`);
    expect(await describeTree(target)).toEqual(before);

    const dry = await runCli(restoreArgs('--files-target', target, '--path', 'docs', '--dry-run', '--force'));
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would replace docs/a.txt');
    expect(dry.stdout).toContain('0 to write, 1 to replace, 1 unchanged (dry run: nothing was written)');
    expect(await describeTree(target)).toEqual(before);

    const forced = await runCli(restoreArgs('--files-target', target, '--path', 'docs', '--force'));
    expect(forced.code, forced.stderr).toBe(0);
    expect(await readFile(join(target, 'docs/a.txt'), 'utf8')).toBe('second version\n');
    expect(await readFile(join(target, 'mine.txt'), 'utf8')).toBe('keep me\n');
  });

  it('a --path matching nothing is a usage error naming it, and nothing is written', async () => {
    const target = join(work, 'nomatch');
    const r = await runCli(restoreArgs('--files-target', target, '--path', 'docs/a.txt', '--path', 'no/such/*'));
    expect(r.code).toBe(2);
    expect(untimed(r.stderr)).toContain('error: --path "no/such/*" matched nothing in files-src of backup');
    await expect(lstat(target)).rejects.toThrow();
  });

  it('--dry-run without --path lists the whole tree and writes nothing', async () => {
    const target = join(work, 'dry');
    const r = await runCli(restoreArgs('--files-target', target, '--dry-run'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('would write photos/big.raw');
    await expect(lstat(target)).rejects.toThrow();
    expect((await readdir(work)).filter((n) => n.includes('.strongbox-'))).toEqual([]);
  });

  it('a corrupted pack byte is caught before the target changes', async () => {
    const copy = join(work, 'repo-damaged');
    await run('cp', ['-a', repo, copy]);
    // The big file's own pack (≥ 4 MiB members get one): flip a byte in the middle.
    const packs: string[] = [];
    for (const d of await readdir(join(copy, 'data'))) for (const f of await readdir(join(copy, 'data', d))) packs.push(join(copy, 'data', d, f));
    const sizes = await Promise.all(packs.map(async (p) => (await lstat(p)).size));
    const biggest = packs[sizes.indexOf(Math.max(...sizes))]!;
    const bytes = await readFile(biggest);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    await writeFile(biggest, bytes);
    const target = join(work, 'damaged-target');
    await mkdir(target);
    await writeFile(join(target, 'old.txt'), 'old\n');
    const r = await runCli(['restore', '--from', copy, ...key_(), '--files-target', target, '--force']);
    expect(r.code).toBe(3);
    expect(await readdir(target)).toEqual(['old.txt']);
    const r2 = await runCli(['restore', '--from', copy, ...key_(), '--files-target', target, '--path', 'photos']);
    expect(r2.code).toBe(3);
    expect(await readdir(target)).toEqual(['old.txt']);
    const v = await runCli(['verify', '--from', copy, ...key_()]);
    expect(v.code).toBe(3);
  });
});

describe('--path on a plain (tar) backup', () => {
  it('restores one folder of a non-incremental files backup into an existing target', async () => {
    const plainRepo = join(work, 'repo-plain');
    const b = await runCli(['backup', '--to', plainRepo, '--init', '--files', src, '--recipient', recipient]);
    expect(b.code, b.stderr).toBe(0);
    const target = join(work, 'plain-target');
    await mkdir(target);
    await writeFile(join(target, 'mine.txt'), 'keep me\n');
    const r = await runCli(['restore', '--from', plainRepo, ...key_(), '--files-target', target, '--path', 'docs/deep']);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(target)).sort()).toEqual(['docs', 'mine.txt']);
    expect(await readdir(join(target, 'docs'))).toEqual(['deep']);
    expect(await readFile(join(target, 'docs/deep/er/ü ñ 日本.txt'), 'utf8')).toBe('unicode name\n');
    const none = await runCli(['restore', '--from', plainRepo, ...key_(), '--files-target', target, '--path', 'nope']);
    expect(none.code).toBe(2);
  });
});
