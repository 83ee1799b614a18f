/**
 * An incremental tree restores what a full (tar) backup of the same tree restores, hard links
 * and the root folder included: a pair and a triple of names of one inode come back as one inode
 * each, the root folder gets its mode and time back, and a second backup with nothing changed
 * reuses every member. A --path restore of a pair's second name alone gives a plain file.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, link, lstat, lutimes, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/core/types.js';
import { runCli } from '../helpers/cli.js';

const run = promisify(execFile);
let work: string;
let key: string;
let recipient: string;
let src: string;
let repo: string;
const OLD = new Date('2021-04-05T06:07:08Z');

/**
 * Every entry with type, mode, mtime (s), content hash or link target, and which files of the
 * tree share an inode (named by the group's first path and how many names it has in the tree).
 */
async function describeTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const files: { line: number; ino: number }[] = [];
  const walk = async (rel: string) => {
    const p = rel ? join(root, rel) : root;
    const st = await lstat(p);
    const name = rel || '.';
    const mode = (st.mode & 0o7777).toString(8);
    const s = Math.floor(st.mtimeMs / 1000);
    if (st.isSymbolicLink()) out.push(`${name} link -> ${await readlink(p)} ${s}`);
    else if (st.isFile()) {
      const hash = createHash('sha256').update(await readFile(p)).digest('hex').slice(0, 16);
      files.push({ line: out.length, ino: st.ino });
      out.push(`${name} file ${mode} ${st.size} ${s} ${hash}`);
    } else if (st.isDirectory()) {
      out.push(`${name} dir ${mode} ${s}`);
      for (const child of (await readdir(p)).sort()) await walk(rel ? `${rel}/${child}` : child);
    }
  };
  await walk('');
  for (const f of files) {
    const group = files.filter((g) => g.ino === f.ino);
    if (group.length > 1) out[f.line] += ` inode of ${out[group[0]!.line]!.split(' file ')[0]} (${group.length} names)`;
  }
  return out;
}

async function backup(...more: string[]): Promise<{ id: string; manifest: Manifest }> {
  const r = await runCli(['backup', '--to', repo, '--init', '--files', src, '--recipient', recipient, ...more]);
  expect(r.code, r.stderr).toBe(0);
  const id = r.stdout.trim();
  return { id, manifest: JSON.parse(readFileSync(join(repo, id, 'manifest.json'), 'utf8')) as Manifest };
}

async function restore(id: string, target: string, ...more: string[]): Promise<void> {
  const r = await runCli(['restore', '--from', repo, '--identity-file', key, '--backup', id, '--files-target', target, ...more]);
  expect(r.code, r.stderr).toBe(0);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sb-fidelity-'));
  key = join(work, 'key.txt');
  await run('age-keygen', ['-o', key]);
  recipient = (await run('age-keygen', ['-y', key])).stdout.trim();
  src = join(work, 'src');
  repo = join(work, 'repo');
  await mkdir(join(src, 'a/deep'), { recursive: true });
  await mkdir(join(src, 'b'));
  await mkdir(join(src, 'empty'));
  await writeFile(join(src, 'a/pair-1'), 'the pair\n');
  await chmod(join(src, 'a/pair-1'), 0o640);
  await link(join(src, 'a/pair-1'), join(src, 'b/pair-2'));
  await writeFile(join(src, 'a/deep/tri-1'), Buffer.alloc(70_000, 3));
  await link(join(src, 'a/deep/tri-1'), join(src, 'a/tri-2'));
  await link(join(src, 'a/deep/tri-1'), join(src, 'z-tri-3'));
  await writeFile(join(src, 'plain.txt'), 'alone\n');
  // A file also linked from outside the tree: a plain file in both backups.
  await writeFile(join(work, 'outside'), 'shared with outside\n');
  await link(join(work, 'outside'), join(src, 'b/from-outside'));
  await symlink('a/pair-1', join(src, 'sym'));
  await utimes(join(src, 'a/pair-1'), OLD, OLD);
  await utimes(join(src, 'a/deep/tri-1'), OLD, OLD);
  await lutimes(join(src, 'sym'), OLD, OLD);
  for (const d of ['a/deep', 'a', 'b', 'empty']) await utimes(join(src, d), OLD, OLD);
  await chmod(src, 0o750);
  await utimes(src, OLD, OLD);
}, 60_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('incremental trees: hard links and the root folder', () => {
  it('restores exactly what the tar backup restores; a second backup reuses everything; --path of a second name gives a file', async () => {
    const state = join(work, 'state');
    const inc = await backup('--incremental', '--state-dir', state);
    const full = await backup();
    const incSource = inc.manifest.artifacts[0]!.source;
    // The same counts as the tar backup (a hard link's data once), so a drill's comparison holds.
    expect({ entries: incSource.entries, bytes: incSource.bytes }).toEqual({ entries: full.manifest.artifacts[0]!.source.entries, bytes: full.manifest.artifacts[0]!.source.bytes });

    const a = join(work, 'restored-incremental');
    const b = join(work, 'restored-full');
    await restore(inc.id, a);
    await restore(full.id, b);
    const sa = await describeTree(a);
    expect(sa).toEqual(await describeTree(b));
    expect(sa).toEqual(await describeTree(src));
    expect(sa[0]).toBe(`. dir 750 ${OLD.getTime() / 1000}`);
    expect(sa).toContain(`b/pair-2 file 640 9 ${OLD.getTime() / 1000} ${createHash('sha256').update('the pair\n').digest('hex').slice(0, 16)} inode of a/pair-1 (2 names)`);
    expect(sa.filter((l) => l.includes('inode of a/deep/tri-1 (3 names)'))).toHaveLength(3);
    expect(sa.find((l) => l.startsWith('b/from-outside '))).not.toContain('inode of');
    expect(sa.find((l) => l.startsWith('empty '))).toMatch(new RegExp(`^empty dir \\d+ ${OLD.getTime() / 1000}$`));
    const [ia, ib] = await Promise.all([lstat(join(a, 'a/pair-1')), lstat(join(a, 'b/pair-2'))]);
    expect(ib.ino).toBe(ia.ino);
    expect(ib.nlink).toBe(2);

    // Nothing changed: every member with content is referenced, none read or stored again.
    const again = await backup('--incremental', '--state-dir', state);
    const c = again.manifest.artifacts[0]!.collection!;
    expect(c).toMatchObject({ members: inc.manifest.artifacts[0]!.collection!.members, newMembers: 0, newBytes: 0, newPacks: 0 });
    expect(c.reused).toBe(7); // pair ×2, triple ×3, plain.txt, from-outside
    const a2 = join(work, 'restored-again');
    await restore(again.id, a2);
    expect(await describeTree(a2)).toEqual(sa);

    // Only the pair's second name: its first is not restored, so it is a file of its own.
    const one = join(work, 'only-second');
    await mkdir(one);
    await restore(again.id, one, '--path', 'b/pair-2');
    const st = await lstat(join(one, 'b/pair-2'));
    expect(st.isFile()).toBe(true);
    expect(st.nlink).toBe(1);
    expect(await readFile(join(one, 'b/pair-2'), 'utf8')).toBe('the pair\n');
    expect(await readdir(one)).toEqual(['b']);

    // The triple's last two names into a new target, its first left out: linked to each other.
    const two = join(work, 'two-of-three');
    await restore(again.id, two, '--path', 'a/tri-2', '--path', 'z-tri-3');
    const [t2, t3] = await Promise.all([lstat(join(two, 'a/tri-2')), lstat(join(two, 'z-tri-3'))]);
    expect(t3.ino).toBe(t2.ino);
    expect(t3.nlink).toBe(2);
    expect((await readFile(join(two, 'z-tri-3'))).equals(Buffer.alloc(70_000, 3))).toBe(true);
    // A target created by the restore gets the root folder's mode, as from a tar backup.
    expect((await lstat(two)).mode & 0o7777).toBe(0o750);
  }, 180_000);
});
