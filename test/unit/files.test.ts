import { describe, expect, it } from 'vitest';
import { compileExcludes } from '../../src/sources/files/excludes.js';
import { filesArtifactName } from '../../src/sources/files/index.js';
import { ArchiveLayout, entryProblem, normalizeEntryPath } from '../../src/sources/files/tar-safety.js';

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
  it('accepts ordinary entries, and symbolic links wherever they point', () => {
    for (const e of [
      { path: './', type: 'Directory' },
      { path: 'a/b.txt', type: 'File' },
      { path: './a/', type: 'Directory' },
      { path: 'a/link', type: 'SymbolicLink', linkpath: '../b/c' },
      { path: 'a/b/link', type: 'SymbolicLink', linkpath: '../../top' },
      { path: 'certs', type: 'SymbolicLink', linkpath: '/etc/ssl/certs' },
      { path: 'a/up', type: 'SymbolicLink', linkpath: '../../x' },
      { path: 'hard', type: 'Link', linkpath: 'a/b.txt' },
      { path: 'dots..in..name', type: 'File' },
    ]) {
      expect(entryProblem(e), e.path).toBeUndefined();
    }
  });

  it('refuses absolute paths, ".." components, hard links out and special files', () => {
    const cases: [Parameters<typeof entryProblem>[0], RegExp][] = [
      [{ path: '/etc/passwd', type: 'File' }, /absolute path/],
      [{ path: 'C:\\evil', type: 'File' }, /absolute path/],
      [{ path: '../x', type: 'File' }, /'\.\.'/],
      [{ path: 'a/../../x', type: 'Directory' }, /'\.\.'/],
      [{ path: 'a\\..\\..\\x', type: 'File' }, /'\.\.'/],
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

describe('ArchiveLayout', () => {
  type E = Parameters<typeof entryProblem>[0];
  /** The first entry refused (index and reason), as a restore would meet them in order. */
  const firstRefused = (entries: E[]): [number, string] | undefined => {
    const layout = new ArchiveLayout();
    for (const [i, e] of entries.entries()) {
      const why = entryProblem(e) ?? layout.problem(e);
      if (why) return [i, why];
      layout.record(e);
    }
    return undefined;
  };

  it('accepts links wherever they point, and entries beside them', () => {
    expect(
      firstRefused([
        { path: './', type: 'Directory' },
        { path: 'certs', type: 'SymbolicLink', linkpath: '/etc/ssl/certs' },
        { path: 'up', type: 'SymbolicLink', linkpath: '../../elsewhere' },
        { path: 'dangling', type: 'SymbolicLink', linkpath: 'no/such' },
        { path: 'certs-list.txt', type: 'File' },
        { path: 'd/link', type: 'SymbolicLink', linkpath: '..' },
        { path: 'd/', type: 'Directory' },
        { path: 'd/file', type: 'File' },
        { path: 'hard', type: 'Link', linkpath: 'd/file' },
      ]),
    ).toBeUndefined();
  });

  it('refuses an entry written through a link, a link replaced, a directory turned into a link, a hard link through a link', () => {
    const cases: [E[], RegExp][] = [
      [[{ path: 'link', type: 'SymbolicLink', linkpath: '/tmp/x' }, { path: 'link/file', type: 'File' }], /written through the symbolic link "link"/],
      [[{ path: 'a/link', type: 'SymbolicLink', linkpath: '/tmp' }, { path: './a//link/./b/c/', type: 'Directory' }], /through the symbolic link "a\/link"/],
      [[{ path: 'link', type: 'SymbolicLink', linkpath: '/etc/passwd' }, { path: 'link', type: 'File' }], /replace the symbolic link "link"/],
      [[{ path: 'link', type: 'SymbolicLink', linkpath: '/etc' }, { path: 'link/', type: 'Directory' }], /replace the symbolic link/],
      [[{ path: 'd/', type: 'Directory' }, { path: 'd', type: 'SymbolicLink', linkpath: '/etc' }], /symbolic link in place of the directory "d"/],
      [[{ path: 'x/y/f', type: 'File' }, { path: 'x', type: 'SymbolicLink', linkpath: '/etc' }], /in place of the directory "x"/],
      [[{ path: 'l', type: 'SymbolicLink', linkpath: '/etc' }, { path: 'hl', type: 'Link', linkpath: 'l/shadow' }], /hard link to l\/shadow, which is or goes through the symbolic link "l"/],
    ];
    for (const [entries, why] of cases) {
      const got = firstRefused(entries);
      expect(got?.[0], JSON.stringify(entries)).toBe(entries.length - 1);
      expect(got?.[1]).toMatch(why);
    }
  });

  it('refuses anything but a folder named other than plainly (GNU tar makes a file `a/` a folder and reads its bytes as headers)', () => {
    for (const e of [
      { path: 'a/', type: 'ContiguousFile' },
      { path: 'a/', type: 'File' },
      { path: 'a//b', type: 'File' },
      { path: 'a/./b', type: 'SymbolicLink', linkpath: 'x' },
      { path: 'a/.', type: 'Link', linkpath: 'b' },
    ]) {
      expect(firstRefused([e])?.[1], JSON.stringify(e)).toMatch(/not a plain path/);
    }
    expect(firstRefused([{ path: './a/b', type: 'File' }, { path: './c//', type: 'Directory' }])).toBeUndefined();
  });
});
