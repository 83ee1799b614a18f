import { link, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { create } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restoreInto } from '../../src/sources/files/restore-into.js';

/**
 * `restore --path` of a tar tree's hard link whose first name is not selected (link-fill.ts):
 * filled from a second read, with the inode's mode and time; refused, naming both names, when
 * there is no second read; and a second read that fails or lacks the content changes nothing.
 */

const quiet = { info() {}, warning() {}, error() {}, debug() {} } as never;
const OLD = new Date('2021-05-06T07:08:09.000Z');

let dir: string;
let archive: Buffer;
/** The inode's first name in the archive and its later (Link) name. */
let first: string;
let later: string;

async function tarOf(root: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of create({ cwd: root, portable: false }, ['.']) as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-tarlinks-'));
  const src = join(dir, 'src');
  await mkdir(join(src, 'a'), { recursive: true });
  await mkdir(join(src, 'b'));
  await writeFile(join(src, 'a/one'), 'linked content\n');
  await chmod(join(src, 'a/one'), 0o640);
  await utimes(join(src, 'a/one'), OLD, OLD);
  await link(join(src, 'a/one'), join(src, 'b/two'));
  archive = await tarOf(src);
  // Which name node-tar stored first follows readdir order.
  const bFirst = archive.indexOf('b/two') < archive.indexOf('a/one');
  [first, later] = bFirst ? ['b/two', 'a/one'] : ['a/one', 'b/two'];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const only = (name: string) => (rel: string) => rel === name;
const besideTarget = async () => (await readdir(dir)).filter((n) => n.startsWith('target')).sort();

describe('restore --path of a hard link whose first name is not selected (tar tree)', () => {
  it('is filled from a second read: a regular file with the content, mode and time of the inode', async () => {
    const target = join(dir, 'target');
    let reads = 0;
    const r = await restoreInto(Readable.from([archive]), target, {
      force: false,
      dryRun: false,
      reporter: quiet,
      select: only(later),
      reopen: async () => (reads++, Readable.from([archive])),
    });
    expect(reads).toBe(1);
    expect(r.written).toBe(2); // its folder and the file
    expect(await readFile(join(target, later), 'utf8')).toBe('linked content\n');
    const st = await stat(join(target, later));
    expect(st.isFile() && st.nlink).toBe(1);
    expect(st.mode & 0o7777).toBe(0o640);
    expect(st.mtime.getTime()).toBe(OLD.getTime());
    await expect(lstat(join(target, first))).rejects.toThrow();
    expect(await besideTarget()).toEqual(['target']);
  });

  it('without a second read: refused (exit 2) naming both names and the --path to add, nothing written, no staging path shown', async () => {
    const target = join(dir, 'target');
    const err = await restoreInto(Readable.from([archive]), target, { force: false, dryRun: false, reporter: quiet, select: only(later) }).then(
      () => undefined,
      (e: unknown) => e as Error & { exitCode: number; hint?: string },
    );
    expect(err).toBeInstanceOf(Error);
    if (!err) return;
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`"${later}" is a hard link to "${first}", which --path does not select`);
    expect(err.hint).toContain(`--path '${first}'`);
    expect(`${err.message} ${err.hint}`).not.toMatch(/strongbox-staging|ENOENT|\/tmp/);
    expect(await besideTarget()).toEqual([]);
  });

  it('a second read that fails part way: the error is the read\'s, the target is not created, no staging left', async () => {
    const target = join(dir, 'target');
    const broken = () => {
      const s = new PassThrough();
      s.write(archive.subarray(0, 1024));
      setImmediate(() => s.destroy(new Error('stored object does not match its manifest')));
      return s;
    };
    await expect(restoreInto(Readable.from([archive]), target, { force: false, dryRun: false, reporter: quiet, select: only(later), reopen: async () => broken() })).rejects.toThrow(
      /does not match its manifest/,
    );
    expect(await besideTarget()).toEqual([]);
  });

  it('a second read without the content (another archive): refused as unsafe (exit 3), nothing written', async () => {
    const target = join(dir, 'target');
    await mkdir(target);
    await writeFile(join(target, 'mine.txt'), 'mine\n');
    const other = join(dir, 'other');
    await mkdir(other);
    await writeFile(join(other, 'else'), 'x');
    const otherTar = await tarOf(other);
    const err = await restoreInto(Readable.from([archive]), target, { force: false, dryRun: false, reporter: quiet, select: only(later), reopen: async () => Readable.from([otherTar]) }).then(
      () => undefined,
      (e: unknown) => e as Error & { exitCode: number },
    );
    expect(err).toBeInstanceOf(Error);
    if (!err) return;
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain(`"${later}" as a hard link to "${first}", which it does not hold as a file`);
    expect(await readdir(target)).toEqual(['mine.txt']);
    expect(await besideTarget()).toEqual(['target']);
  });

  it('the first name selected too: one inode, and no second read', async () => {
    const target = join(dir, 'target');
    let reads = 0;
    await restoreInto(Readable.from([archive]), target, {
      force: false,
      dryRun: false,
      reporter: quiet,
      select: (rel) => rel === first || rel === later,
      reopen: async () => (reads++, Readable.from([archive])),
    });
    expect(reads).toBe(0);
    expect((await stat(join(target, later))).ino).toBe((await stat(join(target, first))).ino);
  });
});
