import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, chmod, link, lstat, lutimes, mkdir, mkdtemp, open, readFile, readdir, readlink, rm, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RefusedError, StrongboxError, UsageError } from '../../src/shared/errors.js';
import { ConsoleReporter } from '../../src/shared/reporter.js';
import { dumpFiles } from '../../src/sources/files/archive.js';
import { restoreFiles } from '../../src/sources/files/extract.js';
import { UnsafeArchiveError } from '../../src/sources/files/tar-safety.js';
import { hasGnuTar } from '../../src/sources/files/gnu-tar.js';
import { craftTar } from '../helpers/craft-tar.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function capturingReporter(): { reporter: ConsoleReporter; lines: string[] } {
  const lines: string[] = [];
  return { reporter: new ConsoleReporter({ verbose: true, write: (l) => lines.push(l) }), lines };
}

/**
 * What a user would compare after a restore: every path with its type, permission bits,
 * size, mtime (seconds, as tar keeps them; not for symlinks) and content hash or link target.
 */
async function describeTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    const p = rel ? join(root, rel) : root;
    const st = await lstat(p);
    const name = rel || '.';
    const mode = (st.mode & 0o7777).toString(8);
    const mtime = Math.floor(st.mtimeMs / 1000);
    if (st.isSymbolicLink()) out.push(`${name} link -> ${await readlink(p)}`);
    else if (st.isFile()) out.push(`${name} file ${mode} ${st.size} ${mtime} ${createHash('sha256').update(await readFile(p)).digest('hex').slice(0, 16)}`);
    else if (st.isDirectory()) {
      out.push(`${name} dir ${mode} ${mtime}`);
      for (const child of (await readdir(p)).sort()) await walk(rel ? `${rel}/${child}` : child);
    } else out.push(`${name} other`);
  };
  await walk('');
  return out;
}

/** The sandbox as a user would check it: everything in it, but not its own mtime (staging comes and goes beside the target). */
async function sandbox(base: string): Promise<string[]> {
  return (await describeTree(base)).slice(1);
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

async function dumpToBuffer(dir: string, exclude?: string[]): Promise<{ bytes: Buffer; details: Record<string, unknown> }> {
  const dump = dumpFiles(dir, { exclude, reporter: capturingReporter().reporter });
  const [bytes] = await Promise.all([buffer(dump.stream), dump.completed]);
  return { bytes, details: dump.details };
}

// Every dump and restore here runs on both tar engines (src/sources/files/gnu-tar*.ts); GNU tar is on CI's PATH.
describe.each(hasGnuTar() ? ['node', 'gnu'] : ['node'])('file trees: dump and restore (the %s tar engine)', (engine) => {
  beforeAll(() => {
    process.env.STRONGBOX_TAR_ENGINE = engine;
  });
  afterAll(() => {
    delete process.env.STRONGBOX_TAR_ENGINE;
  });
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'sb-files-'));
  });
  afterEach(async () => {
    await run('chmod', ['-R', 'u+rwx', base]).catch(() => {});
    await rm(base, { recursive: true, force: true });
  });

  /** A tree with what a backup must keep: nesting, an empty dir, links, binary data, modes, mtimes. */
  async function sampleTree(dir: string): Promise<void> {
    await mkdir(join(dir, 'a/b/c'), { recursive: true });
    await mkdir(join(dir, 'empty'));
    await mkdir(join(dir, 'locked'));
    await writeFile(join(dir, 'a/b/c/deep.txt'), 'deep\n');
    await writeFile(join(dir, 'a/random.bin'), randomBytes(3 * 1024 * 1024 + 17));
    await writeFile(join(dir, 'a/zeros.bin'), Buffer.alloc(70_000));
    await writeFile(join(dir, 'ünïcødé 日本.txt'), '名前\n');
    await writeFile(join(dir, `${'long-name-'.repeat(12)}.txt`), 'long\n');
    await writeFile(join(dir, 'script.sh'), '#!/bin/sh\necho hi\n');
    await chmod(join(dir, 'script.sh'), 0o755);
    await writeFile(join(dir, 'private.key'), 'k');
    await chmod(join(dir, 'private.key'), 0o600);
    await writeFile(join(dir, 'group-writable'), 'g');
    await chmod(join(dir, 'group-writable'), 0o664); // survives only if the restore undoes the umask
    await writeFile(join(dir, 'setgid-tool'), 's');
    await chmod(join(dir, 'setgid-tool'), 0o2755);
    await writeFile(join(dir, 'locked/inside.txt'), 'i');
    await symlink('a/b/c/deep.txt', join(dir, 'rel-link'));
    await symlink('../../random.bin', join(dir, 'a/b/up-link'));
    await symlink('no/such/file', join(dir, 'dangling-inside'));
    await link(join(dir, 'a/zeros.bin'), join(dir, 'hardlinked.bin'));
    const old = new Date('2021-03-04T05:06:07Z');
    const older = new Date('2019-01-02T03:04:05Z');
    await utimes(join(dir, 'a/b/c/deep.txt'), old, old);
    await utimes(join(dir, 'a/b/c'), older, older);
    await utimes(join(dir, 'a'), old, old);
    await utimes(join(dir, 'empty'), older, older);
    await chmod(join(dir, 'locked'), 0o555);
    await utimes(join(dir, 'locked'), old, old);
    await chmod(join(dir, 'a/b'), 0o750);
  }

  it('round-trips nested dirs, an empty dir, symlinks, hard links, binary data, modes and mtimes', async () => {
    const src = join(base, 'src');
    await mkdir(src);
    await sampleTree(src);
    const before = await describeTree(src);
    const { bytes, details } = await dumpToBuffer(src);
    expect(details).toMatchObject({ path: src, entries: before.length });

    const { reporter } = capturingReporter();
    const target = join(base, 'restored/deeper');
    const result = await restoreFiles(Readable.from([bytes]), target, { force: false, reporter });
    expect(result.entries).toBe(before.length);
    expect(await describeTree(target)).toEqual(before);
    expect((await lstat(join(target, 'hardlinked.bin'))).ino).toBe((await lstat(join(target, 'a/zeros.bin'))).ino);
    expect(await readdir(join(base, 'restored'))).toEqual(['deeper']);
  });

  it('round-trips absolute, outside-pointing and dangling symlinks exactly, touching nothing they point to (row 36)', async () => {
    const src = join(base, 'src');
    const outside = join(base, 'outside');
    await mkdir(join(src, 'conf'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'shared.txt'), 'outside');
    await writeFile(join(src, 'conf/app.ini'), 'x=1');
    await symlink('/etc/ssl/certs', join(src, 'certs'));
    await symlink(join(outside, 'shared.txt'), join(src, 'conf/shared'));
    await symlink('../../outside', join(src, 'conf/up'));
    await symlink('/nonexistent/strongbox-dangling', join(src, 'dangling-abs'));
    await symlink('../nowhere', join(src, 'dangling-out'));
    const linkTime = new Date('2020-02-03T04:05:06Z');
    await lutimes(join(src, 'certs'), linkTime, linkTime);
    const outsideBefore = await describeTree(outside);
    const before = await describeTree(src);

    const { reporter, lines } = capturingReporter();
    const dump = dumpFiles(src, { reporter });
    const [bytes] = await Promise.all([buffer(dump.stream), dump.completed]);
    expect(lines.filter((l) => /symbolic link|outside the tree/.test(l))).toEqual([]);

    const target = join(base, 'restored');
    await restoreFiles(Readable.from([bytes]), target, { force: false, reporter });
    expect(await describeTree(target)).toEqual(before);
    for (const l of ['certs', 'conf/shared', 'conf/up', 'dangling-abs', 'dangling-out']) {
      expect(await readlink(join(target, l))).toBe(await readlink(join(src, l)));
    }
    expect((await lstat(join(target, 'certs'))).mtime).toEqual(linkTime);
    expect(await describeTree(outside)).toEqual(outsideBefore);
    // Restoring again over it with --force (as a rollback does) works as well.
    await restoreFiles(Readable.from([bytes]), target, { force: true, reporter });
    expect(await describeTree(target)).toEqual(before);
    expect((await readdir(base)).sort()).toEqual(['outside', 'restored', 'src']);
  });

  it('writes a standard tar that GNU tar extracts to the same tree', async () => {
    const src = join(base, 'src');
    await mkdir(src);
    await sampleTree(src);
    const { bytes } = await dumpToBuffer(src);
    const out = join(base, 'gnu');
    await mkdir(out);
    await new Promise<void>((resolve, reject) => {
      const tar = spawn('tar', ['-x', '-p', '-C', out], { stdio: ['pipe', 'ignore', 'inherit'] });
      tar.on('error', reject);
      tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code}`))));
      tar.stdin.end(bytes);
    });
    expect(await describeTree(out)).toEqual(await describeTree(src));
  });

  it('leaves out excluded paths, skipping whole excluded directories', async () => {
    const src = join(base, 'src');
    for (const d of ['node_modules/x', 'web/node_modules/y', 'logs', 'cache/tmp', 'sub/cache/tmp', 'dist']) await mkdir(join(src, d), { recursive: true });
    for (const f of ['keep.txt', 'node_modules/x/i.js', 'web/node_modules/y/j.js', 'web/app.js', 'logs/a.log', 'b.log', 'cache/tmp/t', 'sub/cache/tmp/t', 'dist/out.js', 'notes.dist']) {
      await writeFile(join(src, f), f);
    }
    const { bytes } = await dumpToBuffer(src, ['node_modules', '*.log', 'cache/tmp', 'dist/']);
    const target = join(base, 'restored');
    await restoreFiles(Readable.from([bytes]), target, { force: false, reporter: capturingReporter().reporter });
    const names = (await describeTree(target)).map((l) => l.split(' ')[0]);
    expect(names).toEqual(['.', 'cache', 'keep.txt', 'logs', 'notes.dist', 'sub', 'sub/cache', 'sub/cache/tmp', 'sub/cache/tmp/t', 'web', 'web/app.js']);
  });

  it('backs up the directory a symlinked root points to, not the link', async () => {
    const real = join(base, 'releases/v2');
    await mkdir(real, { recursive: true });
    await writeFile(join(real, 'app.js'), 'v2');
    await symlink(real, join(base, 'current'));
    const { bytes, details } = await dumpToBuffer(join(base, 'current'));
    expect(details.path).toBe(join(base, 'current'));
    const target = join(base, 'restored');
    await restoreFiles(Readable.from([bytes]), target, { force: false, reporter: capturingReporter().reporter });
    expect(await readFile(join(target, 'app.js'), 'utf8')).toBe('v2');
  });

  it('refuses a file name that is not UTF-8, naming the directory and the escaped name, unless excluded (row 36)', async () => {
    const src = join(base, 'src');
    await mkdir(join(src, 'docs'), { recursive: true });
    await writeFile(join(src, 'fine.txt'), 'ok');
    await writeFile(Buffer.concat([Buffer.from(join(src, 'docs/caf')), Buffer.from([0xff]), Buffer.from('\n.txt')]), 'latin-1 name');
    const dump = dumpFiles(src, { reporter: capturingReporter().reporter });
    dump.stream.resume();
    dump.stream.on('error', () => {});
    const err = await dump.completed.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as Error).message).toBe(`"docs" in ${src} holds a file name that is not valid UTF-8: "caf\\xff\\n.txt"; a rerun will not help`);
    expect((err as StrongboxError).hint).toMatch(/rename it .*--exclude/);

    const link = join(src, 'docs/link');
    await rm(Buffer.concat([Buffer.from(join(src, 'docs/caf')), Buffer.from([0xff]), Buffer.from('\n.txt')]));
    await symlink(Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9])]), link);
    const linkDump = dumpFiles(src, { reporter: capturingReporter().reporter });
    linkDump.stream.resume();
    linkDump.stream.on('error', () => {});
    const linkErr = await linkDump.completed.catch((e: unknown) => e);
    expect((linkErr as Error).message).toBe(`"docs/link" in ${src} is a symbolic link whose target is not valid UTF-8: "caf\\xe9"; a rerun will not help`);

    const { bytes } = await dumpToBuffer(src, ['link']);
    const target = join(base, 'restored');
    await restoreFiles(Readable.from([bytes]), target, { force: false, reporter: capturingReporter().reporter });
    expect((await describeTree(target)).map((l) => l.split(' ')[0])).toEqual(['.', 'docs', 'fine.txt']);
  });

  describe('files that change while they are read: a warning naming them, and the backup completes (row 36)', () => {
    const SIZE = 24 << 20;
    /** Dumps src, doing `change` once the archive has passed 1 MiB (node-tar is then reading big.log). */
    async function dumpWhile(src: string, change: () => Promise<void>): Promise<{ bytes: Buffer; lines: string[] }> {
      const { reporter, lines } = capturingReporter();
      const dump = dumpFiles(src, { reporter });
      const chunks: Buffer[] = [];
      let seen = 0;
      let changing: Promise<void> | undefined;
      dump.stream.on('data', (c: Buffer) => {
        chunks.push(c);
        seen += c.length;
        if (seen > 1 << 20 && !changing) {
          dump.stream.pause();
          changing = change().then(() => void dump.stream.resume());
        }
      });
      await dump.completed;
      await changing;
      return { bytes: Buffer.concat(chunks), lines };
    }

    let src: string;
    let original: Buffer;
    beforeEach(async () => {
      src = join(base, 'src');
      await mkdir(src);
      original = randomBytes(SIZE);
      await writeFile(join(src, 'big.log'), original);
      await writeFile(join(src, 'z-after.txt'), 'after');
    });

    async function restored(bytes: Buffer): Promise<string> {
      const target = join(base, 'restored');
      await restoreFiles(Readable.from([bytes]), target, { force: false, reporter: capturingReporter().reporter });
      expect(await readFile(join(target, 'z-after.txt'), 'utf8')).toBe('after');
      return target;
    }

    it('a file that grows: stored up to the size it had, with a warning', async () => {
      const { bytes, lines } = await dumpWhile(src, () => appendFile(join(src, 'big.log'), randomBytes(3 << 20)));
      expect(lines.filter((l) => l.includes('big.log'))).toEqual([expect.stringContaining(`"big.log" in ${src} grew while it was being read`)]);
      const target = await restored(bytes);
      expect((await readFile(join(target, 'big.log'))).equals(original)).toBe(true);
    });

    it('a file that shrinks: padded with zeros, with a warning', async () => {
      const { bytes, lines } = await dumpWhile(src, () => truncate(join(src, 'big.log'), 2 << 20));
      expect(lines.filter((l) => l.includes('big.log'))).toEqual([expect.stringContaining(`"big.log" in ${src} shrank while it was being read`)]);
      const got = await readFile(join(await restored(bytes), 'big.log'));
      expect(got.length).toBe(SIZE);
      expect(got.subarray(SIZE - 1024).every((b) => b === 0)).toBe(true);
    });

    it('a file rewritten in place at the same size, with a warning', async () => {
      const { lines } = await dumpWhile(src, async () => {
        const fh = await open(join(src, 'big.log'), 'r+');
        await fh.write(Buffer.from('rewritten'), 0, 9, 0);
        await fh.close();
        await utimes(join(src, 'big.log'), new Date(), new Date(Date.now() + 5000));
      });
      expect(lines.filter((l) => l.includes('big.log'))).toEqual([expect.stringContaining(`"big.log" in ${src} changed while it was being read`)]);
    });
  });

  it('refuses a missing directory, naming it', () => {
    const missing = join(base, 'nope');
    expect(() => dumpFiles(missing, { reporter: capturingReporter().reporter })).toThrow(UsageError);
    expect(() => dumpFiles(missing, { reporter: capturingReporter().reporter })).toThrow(missing);
  });

  it('fails (never skips) on files and directories it cannot read', async () => {
    const src = join(base, 'src');
    await mkdir(join(src, 'sub'), { recursive: true });
    await mkdir(join(src, 'closed'));
    await writeFile(join(src, 'ok.txt'), 'fine');
    await writeFile(join(src, 'sub/secret.bin'), randomBytes(1000));
    const script = join(base, 'dump.mts');
    await writeFile(
      script,
      `import { dumpFiles } from ${JSON.stringify(join(repoRoot, 'src/sources/files/archive.ts'))};
       import { silentReporter } from ${JSON.stringify(join(repoRoot, 'src/shared/reporter.ts'))};
       const d = dumpFiles(process.argv[2], { reporter: silentReporter });
       d.stream.resume();
       d.stream.on('error', () => {});
       d.completed.then(() => console.log(JSON.stringify({ ok: true })), (e) => console.log(JSON.stringify({ message: e.message, hint: e.hint })));`,
    );
    // Root reads everything; drop its capabilities so permission bits apply, as for any user.
    const asUser = process.getuid?.() === 0 ? ['setpriv', '--bounding-set=-all', '--inh-caps=-all', '--'] : [];
    const dump = async (): Promise<{ ok?: boolean; message?: string; hint?: string }> => {
      const [cmd, ...args] = [...asUser, process.execPath, '--import', 'tsx', script, src];
      const { stdout } = await run(cmd!, args, { cwd: repoRoot });
      return JSON.parse(stdout.trim().split('\n').pop()!);
    };

    expect(await dump()).toEqual({ ok: true }); // the harness itself works
    await chmod(join(src, 'sub/secret.bin'), 0o000);
    const file = await dump();
    expect(file.message).toBe(`cannot read "sub/secret.bin" in ${src}: permission denied`);
    expect(file.hint).toMatch(/--exclude/);
    await chmod(join(src, 'sub/secret.bin'), 0o644);
    await chmod(join(src, 'closed'), 0o000);
    expect((await dump()).message).toBe(`cannot read "closed" in ${src}: permission denied`);
  });

  describe('restore targets', () => {
    let bytes: Buffer;
    let target: string;
    beforeEach(async () => {
      const src = join(base, 'src');
      await mkdir(join(src, 'escape'), { recursive: true });
      await writeFile(join(src, 'escape/x'), 'from backup');
      await writeFile(join(src, 'new.txt'), 'new');
      bytes = (await dumpToBuffer(src)).bytes;
      target = join(base, 'target');
    });

    it('refuses a non-empty target without force and leaves it (and its parent) untouched', async () => {
      await mkdir(target);
      await writeFile(join(target, 'old.txt'), 'old');
      const before = await sandbox(base);
      const err = await restoreFiles(Readable.from([bytes]), target, { force: false, reporter: capturingReporter().reporter }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RefusedError);
      expect((err as Error).message).toContain(target);
      expect((err as RefusedError).hint).toMatch(/--force/);
      expect(await sandbox(base)).toEqual(before);
    });

    it('restores into an existing empty directory without force', async () => {
      await mkdir(target);
      await restoreFiles(Readable.from([bytes]), target, { force: false, reporter: capturingReporter().reporter });
      expect(await readFile(join(target, 'new.txt'), 'utf8')).toBe('new');
    });

    it('with force, replaces the target whole and leaves nothing beside it', async () => {
      await mkdir(join(target, 'ro'), { recursive: true });
      await writeFile(join(target, 'old.txt'), 'old');
      await chmod(join(target, 'ro'), 0o555);
      await restoreFiles(Readable.from([bytes]), target, { force: true, reporter: capturingReporter().reporter });
      expect((await readdir(target)).sort()).toEqual(['escape', 'new.txt']);
      expect((await readdir(base)).sort()).toEqual(['src', 'target']);
    });

    it('with force, replaces a target that is itself a symlink, leaving what it pointed to alone', async () => {
      const elsewhere = join(base, 'elsewhere');
      await mkdir(elsewhere);
      await writeFile(join(elsewhere, 'kept'), 'kept');
      await symlink(elsewhere, target);
      const refused = await restoreFiles(Readable.from([bytes]), target, { force: false, reporter: capturingReporter().reporter }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RefusedError);
      const { reporter, lines } = capturingReporter();
      await restoreFiles(Readable.from([bytes]), target, { force: true, reporter });
      expect((await lstat(target)).isDirectory()).toBe(true);
      expect(await readFile(join(elsewhere, 'kept'), 'utf8')).toBe('kept');
      expect(await readdir(elsewhere)).toEqual(['kept']);
      // Said as it happened (TRIAL 15): the link was replaced, not followed, nothing "removed".
      const said = lines.join('\n');
      expect(said).toContain(`replaced the symbolic link ${target} (→ ${elsewhere}) with the restored tree; ${elsewhere} was not changed`);
      expect(said).not.toMatch(/removing its previous contents/);
      expect((await readdir(base)).sort()).toEqual(['elsewhere', 'src', 'target']);
    });

    it('with force, a symlink in the target pointing outside cannot redirect any write (fault 17)', async () => {
      const outside = join(base, 'outside');
      await mkdir(outside);
      await writeFile(join(outside, 'precious'), 'untouched');
      await mkdir(target);
      await symlink(outside, join(target, 'escape'));
      await writeFile(join(target, 'old.txt'), 'old');
      const outsideBefore = await describeTree(outside);

      const refused = await restoreFiles(Readable.from([bytes]), target, { force: false, reporter: capturingReporter().reporter }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RefusedError);

      await restoreFiles(Readable.from([bytes]), target, { force: true, reporter: capturingReporter().reporter });
      expect(await describeTree(outside)).toEqual(outsideBefore);
      expect((await lstat(join(target, 'escape'))).isDirectory()).toBe(true);
      expect(await readFile(join(target, 'escape/x'), 'utf8')).toBe('from backup');
    });

    it('leaves the target untouched and removes its staging directory when the input fails mid-way', async () => {
      await mkdir(target);
      await writeFile(join(target, 'old.txt'), 'old');
      const before = await sandbox(base);
      const input = new PassThrough();
      const upstream = new StrongboxError('checksum mismatch in files-src.tar (simulated)');
      const restoring = restoreFiles(input, target, { force: true, reporter: capturingReporter().reporter });
      restoring.catch(() => {});
      input.write(bytes.subarray(0, 1536));
      await new Promise((r) => setTimeout(r, 200));
      input.destroy(upstream);
      await expect(restoring).rejects.toBe(upstream);
      expect(await sandbox(base)).toEqual(before);
    });

    it('refuses a truncated archive, even one cut cleanly between entries', async () => {
      await mkdir(target);
      await writeFile(join(target, 'old.txt'), 'old');
      const before = await sandbox(base);
      // An archive ends with two zero blocks (GNU tar pads on to a 10 KiB record); without them it is only a prefix.
      let end = bytes.length;
      while (end > 0 && bytes[end - 1] === 0) end--;
      const clean = bytes.subarray(0, Math.ceil(end / 512) * 512);
      expect(clean.subarray(-1024).some((b) => b !== 0)).toBe(true);
      for (const cut of [clean, bytes.subarray(0, 1024 + 200)]) {
        const err = await restoreFiles(Readable.from([cut]), target, { force: true, reporter: capturingReporter().reporter }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StrongboxError);
        expect((err as Error).message).toMatch(/truncated|Truncated/);
        expect(await sandbox(base)).toEqual(before);
      }
    });
  });

  describe('hostile archives (fault 16): refused, nothing written outside, target unchanged', () => {
    let outside: string;
    let target: string;
    beforeEach(async () => {
      outside = join(base, 'outside');
      target = join(base, 'target');
      await mkdir(outside);
      await writeFile(join(outside, 'secret'), 'original');
      await mkdir(target);
      await writeFile(join(target, 'keep.txt'), 'keep');
    });

    async function expectRefused(tar: Buffer, entry: string | RegExp): Promise<void> {
      const before = await sandbox(base);
      const { reporter } = capturingReporter();
      const err = await restoreFiles(Readable.from([tar]), target, { force: true, reporter }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsafeArchiveError);
      // Tampered data: exit 3 (verification failed), as the README's table says — not 1.
      expect((err as StrongboxError).exitCode).toBe(3);
      if (typeof entry === 'string') expect((err as Error).message).toContain(`"${entry}"`);
      else expect((err as Error).message).toMatch(entry);
      expect((err as Error).message).toContain(target);
      // Nothing new anywhere under base (no escaped file, no staging left), target and outside as they were.
      expect(await sandbox(base)).toEqual(before);
    }

    it('refuses "../" paths', async () => {
      await expectRefused(await craftTar([{ name: 'fine.txt', data: 'ok' }, { name: '../evil', data: 'x' }]), '../evil');
      expect(await exists(join(base, 'evil'))).toBe(false);
    });

    it('refuses absolute paths', async () => {
      const abs = join(base, 'abs-evil');
      await expectRefused(await craftTar([{ name: abs, data: 'x' }]), abs);
      expect(await exists(abs)).toBe(false);
    });

    it('refuses the write through a symlink to an absolute path (the link alone would be restored)', async () => {
      await expectRefused(
        await craftTar([
          { name: 'link', type: 'symlink', link: outside },
          { name: 'link/pwned', data: 'x' },
        ]),
        'link',
      );
      expect(await exists(join(outside, 'pwned'))).toBe(false);
    });

    it('refuses the write through a relative symlink that climbs out', async () => {
      await expectRefused(
        await craftTar([
          { name: 'd', type: 'dir' },
          { name: 'd/link', type: 'symlink', link: '../../outside' },
          { name: 'd/link/pwned', data: 'x' },
        ]),
        'd/link',
      );
    });

    it('refuses a write through a symlink that escapes only through another symlink (lexically inside)', async () => {
      const chain = [
        { name: 'x/y/z', type: 'dir' as const },
        { name: 'x/y/z/up', type: 'symlink' as const, link: '../../..' },
        { name: 'sneaky', type: 'symlink' as const, link: 'x/y/z/up/..' },
      ];
      await expectRefused(await craftTar([...chain, { name: 'sneaky/outside/pwned', data: 'x' }]), /"sneaky\/outside\/pwned".*through the symbolic link "sneaky"/);
      await expectRefused(await craftTar([...chain, { name: 'x/y/z/up/outside/pwned', data: 'x' }]), /through the symbolic link "x\/y\/z\/up"/);
      expect(await exists(join(outside, 'pwned'))).toBe(false);
    });

    it('refuses a file stored after a symlink of the same name (it would replace the link, or write through it)', async () => {
      await expectRefused(
        await craftTar([
          { name: 'link', type: 'symlink', link: join(outside, 'secret') },
          { name: 'link', data: 'overwritten' },
        ]),
        /replace the symbolic link "link"/,
      );
      expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('original');
    });

    it('refuses a directory turned into a symlink, and a hard link through a symlink', async () => {
      await expectRefused(
        await craftTar([
          { name: 'd', type: 'dir' },
          { name: 'd/f', data: 'x' },
          { name: 'd', type: 'symlink', link: outside },
        ]),
        /in place of the directory "d"/,
      );
      await expectRefused(
        await craftTar([
          { name: 'l', type: 'symlink', link: outside },
          { name: 'hl', type: 'hardlink', link: 'l/secret' },
          { name: 'hl', data: 'overwritten' },
        ]),
        /hard link to l\/secret/,
      );
      expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('original');
    });

    it('metadata fix-ups never follow a link: a setuid file replaced by a link to an outside file', async () => {
      await chmod(join(outside, 'secret'), 0o600);
      const tar = await craftTar([
        { name: 'tool', data: 'x' },
        { name: 'tool', type: 'symlink', link: join(outside, 'secret') },
      ]);
      // Python writes mode 0644; make the file entry setuid so the restore would chmod it.
      const at = tar.indexOf(Buffer.from('0000644'));
      tar.write('0004755', at, 'latin1');
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : tar[i]!;
      tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
      const err = await restoreFiles(Readable.from([tar]), target, { force: true, reporter: capturingReporter().reporter }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsafeArchiveError);
      expect((await lstat(join(outside, 'secret'))).mode & 0o7777).toBe(0o600);
      expect(await readdir(target)).toEqual(['keep.txt']);
    });

    it('refuses hard links to paths outside, so a later entry cannot overwrite the outside file', async () => {
      for (const to of ['../outside/secret', join(outside, 'secret')]) {
        await expectRefused(
          await craftTar([
            { name: 'hl', type: 'hardlink', link: to },
            { name: 'hl', data: 'overwritten' },
          ]),
          'hl',
        );
      }
      expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('original');
    });

    it('refuses device files and named pipes', async () => {
      await expectRefused(await craftTar([{ name: 'null', type: 'chardev' }]), 'null');
      await expectRefused(await craftTar([{ name: 'pipe', type: 'fifo' }]), 'pipe');
    });
  });
});
