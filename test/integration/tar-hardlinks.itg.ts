/**
 * `restore --path` of hard links in a full (tar) tree backup, through the CLI. A tar backup
 * stores an inode's content under its first name and later names as Link entries; which name
 * is first follows directory order, so the tests read the archive (age, zstd, tar) to learn it.
 * A selected Link whose first name is not selected comes back as a regular file with the
 * content (a second read of the artifact); selected together, the names stay one inode.
 */
import { execFile } from 'node:child_process';
import { link, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const run = promisify(execFile);
let work: string;
let key: string;
let repo: string;
/** The names of each linked inode, the first (holding the content) first, as the archive has them. */
let pair: [string, string];
let triple: [string, string, string];

const restore = (target: string, ...more: string[]) => runCli(['restore', '--from', repo, '--identity-file', key, '--files-target', target, ...more]);

/** The archive's `tar -tv` lines: which entries are hard links (`h…` / "link to"). */
async function linkEntries(): Promise<Map<string, string>> {
  const id = (await readdir(repo)).filter((n) => /^\d{8}T/.test(n)).sort()[0]!;
  const artifact = (await readdir(join(repo, id))).find((n) => n.endsWith('.tar.zst.age'))!;
  const { stdout } = await run('sh', ['-c', `age -d -i "$1" "$2" | zstd -dc | tar -tv`, 'sh', key, join(repo, id, artifact)]);
  const links = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = / (\S+) link to (\S+)$/.exec(line);
    if (m) links.set(m[1]!.replace(/^\.\//, ''), m[2]!.replace(/^\.\//, ''));
  }
  return links;
}

function order(names: string[], links: Map<string, string>): string[] {
  const first = names.filter((n) => !links.has(n));
  expect(first, `exactly one of ${names.join(', ')} holds the content`).toHaveLength(1);
  for (const n of names) if (n !== first[0]) expect(links.get(n)).toBe(first[0]);
  return [first[0]!, ...names.filter((n) => n !== first[0]).sort()];
}

const fresh = async (name: string) => join(await mkdtemp(join(work, `${name}-`)), 'target');

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sb-tarlinks-'));
  key = join(work, 'key.txt');
  await run('age-keygen', ['-o', key]);
  const recipient = (await run('age-keygen', ['-y', key])).stdout.trim();
  const src = join(work, 'src');
  for (const d of ['a', 'b', 'c', 'd']) await mkdir(join(src, d), { recursive: true });
  await writeFile(join(src, 'a/one'), 'pair content\n');
  await link(join(src, 'a/one'), join(src, 'b/two'));
  await writeFile(join(src, 'c/x'), 'triple content\n');
  await link(join(src, 'c/x'), join(src, 'd/y'));
  await link(join(src, 'c/x'), join(src, 'd/z'));
  await writeFile(join(src, 'plain.txt'), 'plain\n');
  repo = join(work, 'repo');
  const b = await runCli(['backup', '--to', repo, '--init', '--files', src, '--recipient', recipient]);
  expect(b.code, b.stderr).toBe(0);
  const links = await linkEntries();
  pair = order(['a/one', 'b/two'], links) as [string, string];
  triple = order(['c/x', 'd/y', 'd/z'], links) as [string, string, string];
}, 120_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('restore --path of a hard-linked file in a tar tree backup', () => {
  it('the later name alone (a Link entry whose first name is not selected) comes back as a regular file with the content', async () => {
    const [, later] = pair;
    const target = await fresh('later');
    const r = await restore(target, '--path', later);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/strongbox-staging|ENOENT/);
    expect(await readFile(join(target, later), 'utf8')).toBe('pair content\n');
    expect((await lstat(join(target, later))).isFile()).toBe(true);
    expect((await stat(join(target, later))).nlink).toBe(1);
    expect(await readdir(target)).toEqual([later.split('/')[0]]);
  });

  it('the first name alone comes back as a file, the link left out', async () => {
    const [first, later] = pair;
    const target = await fresh('first');
    const r = await restore(target, '--path', first);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(target, first), 'utf8')).toBe('pair content\n');
    expect(await readdir(target)).toEqual([first.split('/')[0]]);
    await expect(lstat(join(target, later))).rejects.toThrow();
  });

  it('both names selected stay one inode (a hard link, as stored)', async () => {
    const [first, later] = pair;
    const target = await fresh('both');
    const r = await restore(target, '--path', 'a', '--path', 'b');
    expect(r.code, r.stderr).toBe(0);
    const [s1, s2] = [await stat(join(target, first)), await stat(join(target, later))];
    expect(s2.ino).toBe(s1.ino);
    expect(s1.nlink).toBe(2);
    expect(await readFile(join(target, later), 'utf8')).toBe('pair content\n');
  });

  it('two later names of a triple, their first name left out: files with the content, linked to each other', async () => {
    const [first, y, z] = triple;
    const target = await fresh('triple');
    const r = await restore(target, '--path', y, '--path', z);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(target, y), 'utf8')).toBe('triple content\n');
    expect(await readFile(join(target, z), 'utf8')).toBe('triple content\n');
    expect((await stat(join(target, y))).ino).toBe((await stat(join(target, z))).ino);
    expect((await stat(join(target, y))).nlink).toBe(2);
    await expect(lstat(join(target, first))).rejects.toThrow();
  });

  it('--dry-run lists the later name as written and writes nothing', async () => {
    const [, later] = pair;
    const target = await fresh('dry');
    await mkdir(target);
    const r = await restore(target, '--path', later, '--dry-run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain(later);
    expect(await readdir(target)).toEqual([]);
    expect((await readdir(join(target, '..'))).filter((n) => n.includes('strongbox'))).toEqual([]);
  });

  it('an existing different file at the later name is refused without --force (nothing written), replaced with it', async () => {
    const [, later] = pair;
    const target = await fresh('conflict');
    await mkdir(join(target, later.split('/')[0]!), { recursive: true });
    await writeFile(join(target, later), 'mine\n');
    await writeFile(join(target, 'keep.txt'), 'keep\n');
    const refused = await restore(target, '--path', later);
    expect(refused.code).toBe(7);
    expect(refused.stderr).toContain(later);
    expect(await readFile(join(target, later), 'utf8')).toBe('mine\n');
    const forced = await restore(target, '--path', later, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(await readFile(join(target, later), 'utf8')).toBe('pair content\n');
    expect(await readFile(join(target, 'keep.txt'), 'utf8')).toBe('keep\n');
  });
});
