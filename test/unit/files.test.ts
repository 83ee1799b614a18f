import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileExcludes, filesArtifactName } from '../../src/sources/files.js';
import { entryProblem, normalizeEntryPath, symlinkStaysInside } from '../../src/sources/tar-safety.js';

describe('filesArtifactName', () => {
  it('names the artifact after the directory, with safe characters only', () => {
    expect(filesArtifactName('/srv/app/uploads')).toBe('files-uploads');
    expect(filesArtifactName('/srv/app/uploads/')).toBe('files-uploads');
    expect(filesArtifactName('/data/My Files (old)')).toBe('files-My-Files-old');
    expect(filesArtifactName('/')).toBe('files-root');
  });
});

describe('compileExcludes', () => {
  const matches = (patterns: string[], rel: string, isDir = false) => compileExcludes(patterns)(rel, isDir);

  it('matches a pattern without "/" against names at any depth', () => {
    expect(matches(['node_modules'], 'node_modules', true)).toBe(true);
    expect(matches(['node_modules'], 'web/app/node_modules', true)).toBe(true);
    expect(matches(['node_modules'], 'node_modules_backup', true)).toBe(false);
    expect(matches(['*.log'], 'a/b/.hidden.log')).toBe(true);
    expect(matches(['*.log'], 'a/log/readme')).toBe(false);
  });

  it('matches a pattern with "/" (or a leading "/" or "./") from the tree root only', () => {
    expect(matches(['cache/tmp'], 'cache/tmp', true)).toBe(true);
    expect(matches(['cache/tmp'], 'x/cache/tmp', true)).toBe(false);
    expect(matches(['/build'], 'build', true)).toBe(true);
    expect(matches(['/build'], 'src/build', true)).toBe(false);
    expect(matches(['./build'], 'build', true)).toBe(true);
    expect(matches(['**/*.tmp'], 'a/b/c.tmp')).toBe(true);
    expect(matches(['**/*.tmp'], 'c.tmp')).toBe(true);
  });

  it('matches a pattern ending in "/" against directories only', () => {
    expect(matches(['dist/'], 'dist', true)).toBe(true);
    expect(matches(['dist/'], 'dist', false)).toBe(false);
    expect(matches(['dist/'], 'pkg/dist', true)).toBe(true);
  });

  it('ignores blank patterns and matches nothing without patterns', () => {
    expect(matches([], 'anything')).toBe(false);
    expect(matches(['', '  ', '/'], 'anything')).toBe(false);
  });
});

describe('entryProblem', () => {
  it('accepts ordinary entries, including links that stay inside', () => {
    for (const e of [
      { path: './', type: 'Directory' },
      { path: 'a/b.txt', type: 'File' },
      { path: './a/', type: 'Directory' },
      { path: 'a/link', type: 'SymbolicLink', linkpath: '../b/c' },
      { path: 'a/b/link', type: 'SymbolicLink', linkpath: '../../top' },
      { path: 'hard', type: 'Link', linkpath: 'a/b.txt' },
      { path: 'dots..in..name', type: 'File' },
    ]) {
      expect(entryProblem(e), e.path).toBeUndefined();
    }
  });

  it('refuses absolute paths, ".." components, escaping links and special files', () => {
    const cases: [Parameters<typeof entryProblem>[0], RegExp][] = [
      [{ path: '/etc/passwd', type: 'File' }, /absolute path/],
      [{ path: 'C:\\evil', type: 'File' }, /absolute path/],
      [{ path: '../x', type: 'File' }, /'\.\.'/],
      [{ path: 'a/../../x', type: 'Directory' }, /'\.\.'/],
      [{ path: 'a\\..\\..\\x', type: 'File' }, /'\.\.'/],
      [{ path: 'link', type: 'SymbolicLink', linkpath: '/etc' }, /absolute path \/etc/],
      [{ path: 'a/link', type: 'SymbolicLink', linkpath: '../../x' }, /outside the target/],
      [{ path: 'link', type: 'SymbolicLink', linkpath: '' }, /without a target/],
      [{ path: 'hl', type: 'Link', linkpath: '/etc/shadow' }, /hard link .*outside/],
      [{ path: 'hl', type: 'Link', linkpath: '../secret' }, /hard link .*outside/],
      [{ path: 'dev', type: 'CharacterDevice' }, /unsupported entry type CharacterDevice/],
      [{ path: 'fifo', type: 'FIFO' }, /unsupported/],
      [{ path: './', type: 'SymbolicLink', linkpath: 'x' }, /in place of the target directory/],
    ];
    for (const [e, why] of cases) expect(entryProblem(e), e.path).toMatch(why);
  });

  it('normalizes entry paths to root-relative form', () => {
    expect(normalizeEntryPath('./')).toBe('');
    expect(normalizeEntryPath('.')).toBe('');
    expect(normalizeEntryPath('././a/b/')).toBe('a/b');
  });
});

describe('symlinkStaysInside', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sb-links-'));
    await mkdir(join(root, 'x/y/z'), { recursive: true });
    await symlink('../../..', join(root, 'x/y/z/up')); // → root itself: inside
    await symlink('x/y/z/up/../../..', join(root, 'sneaky')); // lexically x, really three levels above root
    await symlink('x/y/z/up/x', join(root, 'through')); // through a link, still inside
    await symlink('does/not/exist', join(root, 'dangling')); // dangles, but inside
    await symlink('/etc', join(root, 'abs'));
    await symlink('loop2', join(root, 'loop1'));
    await symlink('loop1', join(root, 'loop2'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('follows links the way the kernel does', async () => {
    expect(await symlinkStaysInside(root, 'x/y/z/up')).toBe(true);
    expect(await symlinkStaysInside(root, 'through')).toBe(true);
    expect(await symlinkStaysInside(root, 'dangling')).toBe(true);
    expect(await symlinkStaysInside(root, 'sneaky')).toBe(false);
    expect(await symlinkStaysInside(root, 'abs')).toBe(false);
    expect(await symlinkStaysInside(root, 'loop1')).toBe(false);
  });

  it('catches what a lexical check lets through', () => {
    expect(entryProblem({ path: 'sneaky', type: 'SymbolicLink', linkpath: 'x/y/z/up/../../..' })).toBeUndefined();
  });
});
