import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { lstat, mkdir, mkdtemp, readFile, readlink, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openMembers } from '../../src/core/collection/read.js';
import { PathSelection } from '../../src/core/path-select.js';
import { membersTar } from '../../src/sources/files/collection-tar.js';
import { restoreFiles } from '../../src/sources/files/extract.js';
import { restoreInto } from '../../src/sources/files/restore-into.js';
import { ExitCode } from '../../src/shared/errors.js';
import type { RestoreMember } from '../../src/sources/collection.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { plantTree, type TreeMember } from '../helpers/collection-tree.js';

const quiet = { info() {}, warning() {}, error() {}, debug() {} } as never;
const long = `${'very-long-folder-name/'.repeat(8)}${'é'.repeat(60)}.txt`;

const tree: TreeMember[] = [
  { name: 'docs', type: 'dir', mode: 0o750, mtime: '2026-01-02T03:04:05.678Z' },
  { name: 'docs/a b.txt', type: 'file', content: 'alpha', mode: 0o600, mtime: '2025-05-05T05:05:05.000Z' },
  { name: 'docs/日本語 ✓.md', type: 'file', content: 'unicode' },
  { name: 'empty', type: 'dir' },
  { name: 'link', type: 'symlink', link: 'docs/a b.txt' },
  { name: 'out-link', type: 'symlink', link: '/etc/hostname' },
  { name: 'run.sh', type: 'file', content: '#!/bin/sh\n', mode: 0o755 },
  { name: long, type: 'file', content: 'deep' },
];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-collection-restore-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function planted() {
  const dest = new MemoryDestination();
  const t = await plantTree(dest, { id: 'b1', members: tree, perPack: 2 });
  return { dest, t, members: (select?: (n: string) => boolean) => openMembers(dest, 'b1', t.record, undefined, select ? { select } : {}) };
}

describe('members as a tar stream (files adapter)', () => {
  it('restores names long and unicode, modes, times, links and empty folders exactly', async () => {
    const { members } = await planted();
    const target = join(dir, 't');
    await restoreFiles(membersTar(members()), target, { force: false, reporter: quiet });
    expect(await readFile(join(target, 'docs/a b.txt'), 'utf8')).toBe('alpha');
    expect(await readFile(join(target, 'docs/日本語 ✓.md'), 'utf8')).toBe('unicode');
    expect(await readFile(join(target, long), 'utf8')).toBe('deep');
    expect((await lstat(join(target, 'docs/a b.txt'))).mode & 0o7777).toBe(0o600);
    expect((await lstat(join(target, 'run.sh'))).mode & 0o7777).toBe(0o755);
    expect((await lstat(join(target, 'docs'))).mode & 0o7777).toBe(0o750);
    expect((await lstat(join(target, 'docs'))).mtime.toISOString()).toBe('2026-01-02T03:04:05.678Z');
    expect((await lstat(join(target, 'docs/a b.txt'))).mtime.toISOString()).toBe('2025-05-05T05:05:05.000Z');
    expect(await readlink(join(target, 'link'))).toBe('docs/a b.txt');
    expect(await readlink(join(target, 'out-link'))).toBe('/etc/hostname');
    expect(await readdir(join(target, 'empty'))).toEqual([]);
  });

  it('refuses a member that would escape the target, leaving the target as it was', async () => {
    const bad: RestoreMember[] = [{ member: { name: '../escape', size: 0, type: 'dir' }, open: () => undefined }];
    const target = join(dir, 't');
    await expect(restoreFiles(membersTar(Readable.from(bad)), target, { force: false, reporter: quiet })).rejects.toMatchObject({ exitCode: ExitCode.verifyFailed });
    await expect(lstat(target)).rejects.toThrow();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a damaged pack fails the restore before the target exists', async () => {
    const { dest, t, members } = await planted();
    dest.objects.get(t.packKeys[0]!)!.data[30] ^= 0xff;
    const target = join(dir, 't');
    await expect(restoreFiles(membersTar(members()), target, { force: false, reporter: quiet })).rejects.toThrow();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('restore --path', () => {
  it('selects a file, a folder with its subtree and globs; a pattern that matches nothing is named', () => {
    const s = new PathSelection(['docs', 'run.sh', '**/*.md', 'nothing/here']);
    expect(['docs', 'docs/a b.txt', 'docs/日本語 ✓.md', 'empty', 'link', 'run.sh', 'x/y.md'].filter(s.select)).toEqual(['docs', 'docs/a b.txt', 'docs/日本語 ✓.md', 'run.sh', 'x/y.md']);
    expect(() => s.assertAllMatched('files-tree of backup b1')).toThrow('--path "nothing/here" matched nothing in files-tree of backup b1; nothing was written');
  });

  it('writes the selection into an existing target, keeps the rest, leaves equal files alone, refuses differing ones unless --force', async () => {
    const { members } = await planted();
    const target = join(dir, 't');
    await mkdir(join(target, 'docs'), { recursive: true });
    await writeFile(join(target, 'keep.txt'), 'mine');
    await writeFile(join(target, 'docs/a b.txt'), 'alpha');
    const sel = () => new PathSelection(['docs']).select;
    const r1 = await restoreInto(membersTar(members(sel())), target, { force: false, dryRun: false, reporter: quiet, select: sel() });
    expect(r1).toMatchObject({ written: 1, same: 1, replaced: 0 });
    expect(await readFile(join(target, 'docs/日本語 ✓.md'), 'utf8')).toBe('unicode');
    expect(await readFile(join(target, 'keep.txt'), 'utf8')).toBe('mine');
    await expect(lstat(join(target, 'run.sh'))).rejects.toThrow();

    await writeFile(join(target, 'docs/a b.txt'), 'changed');
    await writeFile(join(target, 'docs/日本語 ✓.md'), 'changed too');
    const refused = restoreInto(membersTar(members(sel())), target, { force: false, dryRun: false, reporter: quiet, select: sel() });
    await expect(refused).rejects.toMatchObject({ exitCode: ExitCode.refused, message: expect.stringContaining('2 file(s) in') });
    expect(await readFile(join(target, 'docs/a b.txt'), 'utf8')).toBe('changed');

    const dry = await restoreInto(membersTar(members(sel())), target, { force: true, dryRun: true, reporter: quiet, select: sel() });
    expect(dry.listed).toEqual([
      { name: 'docs/a b.txt', action: 'replace' },
      { name: 'docs/日本語 ✓.md', action: 'replace' },
    ]);
    expect(await readFile(join(target, 'docs/a b.txt'), 'utf8')).toBe('changed');

    const forced = await restoreInto(membersTar(members(sel())), target, { force: true, dryRun: false, reporter: quiet, select: sel() });
    expect(forced).toMatchObject({ written: 0, replaced: 2 });
    expect(await readFile(join(target, 'docs/a b.txt'), 'utf8')).toBe('alpha');
    expect((await lstat(join(target, 'docs/a b.txt'))).mode & 0o7777).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(['t']);
  });

  it('never writes through a symbolic link in the target, even with --force', async () => {
    const { members } = await planted();
    const target = join(dir, 't');
    await mkdir(join(dir, 'elsewhere'), { recursive: true });
    await mkdir(target);
    const { symlink } = await import('node:fs/promises');
    await symlink(join(dir, 'elsewhere'), join(target, 'docs'));
    const sel = new PathSelection(['docs/a b.txt']).select;
    await expect(restoreInto(membersTar(members(sel)), target, { force: true, dryRun: false, reporter: quiet, select: sel })).rejects.toMatchObject({ exitCode: ExitCode.refused, message: expect.stringContaining('"docs" (a symbolic link where the backup has a folder)') });
    expect(await readdir(join(dir, 'elsewhere'))).toEqual([]);
  });
});
