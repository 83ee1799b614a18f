import { createHash } from 'node:crypto';
import { chmod, link, lstat, mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMembers } from '../../src/core/collection/read.js';
import { PathSelection } from '../../src/core/path-select.js';
import type { CollectionEntry, IndexMemberLike, RestoreMember } from '../../src/sources/collection.js';
import { membersTar } from '../../src/sources/files/collection-tar.js';
import { restoreFiles } from '../../src/sources/files/extract.js';
import { openFileMembers } from '../../src/sources/files/members.js';
import { restoreInto } from '../../src/sources/files/restore-into.js';
import { plantTree } from '../helpers/collection-tree.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

/**
 * Hard links and the root folder in incremental trees: what the walk records (nlink, hardlink,
 * the root's record, a linked file's bytes once), and what the restore makes of it (one inode
 * per group, written only as links to files this restore wrote; the root's mode and time).
 */

const quiet = { info() {}, warning() {}, error() {}, debug() {} } as never;
const OLD = new Date('2020-02-03T04:05:06.000Z');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-hardlinks-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function listed(root: string): Promise<{ entries: CollectionEntry[]; reader: ReturnType<typeof openFileMembers> }> {
  const reader = openFileMembers(root, { reporter: quiet });
  const entries: CollectionEntry[] = [];
  for await (const e of reader.entries()) entries.push(e);
  return { entries, reader };
}

/** A file member of `content`, its content served from memory. */
function file(name: string, content: string, extra: Record<string, unknown> = {}): RestoreMember {
  const member: IndexMemberLike = { name, size: Buffer.byteLength(content), sha256: sha(content), type: 'file', mode: 0o644, mtime: OLD.toISOString(), ...extra };
  return { member, open: () => Readable.from([Buffer.from(content)]) };
}

describe('the walk of an incremental tree', () => {
  it('records the root folder, nlink on every name of a linked inode and hardlink on all but the first; bytes count a linked file once', async () => {
    const root = join(dir, 'tree');
    await mkdir(join(root, 'a'), { recursive: true });
    await writeFile(join(root, 'a/one'), 'pair');
    await link(join(root, 'a/one'), join(root, 'b-two'));
    await writeFile(join(root, 'tri'), 'three names');
    await link(join(root, 'tri'), join(root, 'a/tri-2'));
    await link(join(root, 'tri'), join(root, 'tri-3'));
    await writeFile(join(dir, 'outside'), 'linked from outside');
    await link(join(dir, 'outside'), join(root, 'out'));
    await writeFile(join(root, 'plain'), 'plain');
    await chmod(root, 0o750);
    await utimes(root, OLD, OLD);

    const { entries, reader } = await listed(root);
    expect(reader.root).toEqual({ type: 'dir', mode: 0o750, uid: process.getuid!(), gid: process.getgid!(), mtime: OLD.toISOString() });
    const rec = (n: string) => entries.find((e) => e.name === n)!.record;
    // Walk order: a, a/one, a/tri-2, b-two, out, plain, tri, tri-3. a/tri-2 comes first of its inode.
    expect(entries.map((e) => e.name)).toEqual(['a', 'a/one', 'a/tri-2', 'b-two', 'out', 'plain', 'tri', 'tri-3']);
    expect(rec('a/one')).toMatchObject({ nlink: 2 });
    expect(rec('a/one').hardlink).toBeUndefined();
    expect(rec('b-two')).toMatchObject({ nlink: 2, hardlink: 'a/one' });
    expect(rec('a/tri-2')).toMatchObject({ nlink: 3 });
    expect(rec('a/tri-2').hardlink).toBeUndefined();
    expect(rec('tri')).toMatchObject({ nlink: 3, hardlink: 'a/tri-2' });
    expect(rec('tri-3')).toMatchObject({ nlink: 3, hardlink: 'a/tri-2' });
    // Linked from outside the tree only: nothing to link to inside, so no hardlink (a plain file on restore).
    expect(rec('out')).toMatchObject({ nlink: 2 });
    expect(rec('out').hardlink).toBeUndefined();
    expect(rec('plain').nlink).toBeUndefined();
    // Every name still has content of its own (read and deduplicated), and a fingerprint that names its first.
    expect(entries.filter((e) => e.hasContent)).toHaveLength(7);
    const fp = (n: string) => entries.find((e) => e.name === n)!.fingerprint!;
    expect(fp('b-two').startsWith(fp('a/one'))).toBe(true);
    expect(fp('b-two')).not.toBe(fp('a/one'));
    expect(reader.details).toMatchObject({ entries: 9, bytes: 4 + 11 + 'linked from outside'.length + 5 });
  });
});

describe('restoring hard links and the root folder (membersTar)', () => {
  it('links later names to the first, applies the root record, and writes the rest as files of their own', async () => {
    const members: RestoreMember[] = [
      { member: { name: '', size: 0, type: 'dir', mode: 0o750, mtime: OLD.toISOString() }, open: () => undefined },
      { member: { name: 'd', size: 0, type: 'dir', mode: 0o755 }, open: () => undefined },
      file('d/first', 'linked', { nlink: 3 }),
      file('d/second', 'linked', { nlink: 3, hardlink: 'd/first' }),
      // Not written by this restore (or outside it): a file of its own, never a link.
      file('lonely', 'own content', { nlink: 2, hardlink: 'not/in/this/restore' }),
      file('escape', 'own content too', { nlink: 2, hardlink: '../../etc/hostname' }),
      // The same first, but other content (changed between the two reads at backup): its own file.
      file('differs', 'other', { nlink: 3, hardlink: 'd/first' }),
      file('third', 'linked', { nlink: 3, hardlink: 'd/first' }),
    ];
    const target = join(dir, 't');
    await restoreFiles(membersTar(Readable.from(members)), target, { force: false, reporter: quiet });
    const st = (n: string) => lstat(join(target, n));
    const root = await st('');
    expect(root.mode & 0o7777).toBe(0o750);
    expect(root.mtime.toISOString()).toBe(OLD.toISOString());
    const [first, second, third] = await Promise.all([st('d/first'), st('d/second'), st('third')]);
    expect(second.ino).toBe(first.ino);
    expect(third.ino).toBe(first.ino);
    expect(first.nlink).toBe(3);
    for (const [n, content] of [['lonely', 'own content'], ['escape', 'own content too'], ['differs', 'other']] as const) {
      expect((await st(n)).nlink, n).toBe(1);
      expect(await readFile(join(target, n), 'utf8')).toBe(content);
    }
    expect(await readFile(join(target, 'd/second'), 'utf8')).toBe('linked');
    expect(await readdir(dir)).toEqual(['t']);
  });

  it('without a root record the target folder is as before (mode from the umask)', async () => {
    const target = join(dir, 't');
    await restoreFiles(membersTar(Readable.from([file('x', 'x')])), target, { force: false, reporter: quiet });
    expect((await lstat(target)).mode & 0o7777).toBe(0o777 & ~process.umask());
  });
});

describe('openMembers with the root record', () => {
  const tree = [
    { name: 'a', type: 'dir' as const },
    { name: 'a/one', type: 'file' as const, content: 'pair' },
    { name: 'b', type: 'dir' as const },
    { name: 'b/three', type: 'file' as const, content: 'pair' },
    { name: 'b/two', type: 'file' as const, content: 'pair' },
  ];
  const extra = (m: { name: string }) => (m.name === 'a/one' ? { nlink: 3 } : m.name.startsWith('b/') ? { nlink: 3, hardlink: 'a/one' } : {});

  it('comes first as the member "" whatever --path selects, only when asked, and only if the index has one', async () => {
    const dest = new MemoryDestination();
    const root = { type: 'dir', mode: 0o700, uid: 0, gid: 0, mtime: OLD.toISOString() };
    const t = await plantTree(dest, { id: 'b1', members: tree, extra, root });
    const names = async (opts: Parameters<typeof openMembers>[4]) => {
      const out: string[] = [];
      for await (const m of openMembers(dest, 'b1', t.record, undefined, opts)) out.push(m.member.name);
      return out;
    };
    expect(await names({ root: true, select: new PathSelection(['b/two']).select })).toEqual(['', 'b/two']);
    expect(await names({})).toEqual(['a', 'a/one', 'b', 'b/three', 'b/two']);
    const first = await openMembers(dest, 'b1', t.record, undefined, { root: true }).next();
    expect(first.value!.member).toEqual({ ...root, name: '', size: 0 });
    expect(first.value!.open()).toBeUndefined();

    const old = await plantTree(dest, { id: 'b0', members: tree });
    const oldNames: string[] = [];
    for await (const m of openMembers(dest, 'b0', old.record, undefined, { root: true })) oldNames.push(m.member.name);
    expect(oldNames[0]).toBe('a');
  });

  it('--path of the later names of a group into an existing target: linked to each other, the rest kept, the target folder left alone', async () => {
    const dest = new MemoryDestination();
    const t = await plantTree(dest, { id: 'b1', members: tree, extra, root: { type: 'dir', mode: 0o700, mtime: OLD.toISOString() } });
    const target = join(dir, 't');
    await mkdir(target, { mode: 0o755 });
    await chmod(target, 0o755);
    await writeFile(join(target, 'mine'), 'keep');
    const sel = () => new PathSelection(['b']).select;
    const r = await restoreInto(membersTar(openMembers(dest, 'b1', t.record, undefined, { root: true, select: sel() })), target, { force: false, dryRun: false, reporter: quiet, select: sel() });
    expect(r).toMatchObject({ written: 3, replaced: 0 }); // b, b/three, b/two
    const [two, three] = await Promise.all([lstat(join(target, 'b/two')), lstat(join(target, 'b/three'))]);
    expect(three.ino).toBe(two.ino);
    expect(two.nlink).toBe(2);
    expect(await readFile(join(target, 'b/two'), 'utf8')).toBe('pair');
    await expect(lstat(join(target, 'a'))).rejects.toThrow();
    expect((await lstat(target)).mode & 0o7777).toBe(0o755);
    expect(await readFile(join(target, 'mine'), 'utf8')).toBe('keep');
  });
});
