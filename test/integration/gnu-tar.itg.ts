/**
 * The GNU tar extraction engine (src/sources/files/gnu-tar.ts) with the real `tar`: it must
 * never hand tar an entry our checks refuse (tar reads only an archive re-encoded from checked entries), must read the stream to its end (the caller's
 * checksum runs there) before it reports success, and must name a full disk. The safety rules
 * themselves run on both engines in files.itg.ts.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleReporter } from '../../src/shared/reporter.js';
import { StrongboxError } from '../../src/shared/errors.js';
import { dumpFiles } from '../../src/sources/files/archive.js';
import { restoreFiles } from '../../src/sources/files/extract.js';
import { gnuTarExtract, hasGnuTar, tarEngineChoice, useGnuTar } from '../../src/sources/files/gnu-tar.js';
import { UnsafeArchiveError } from '../../src/sources/files/tar-safety.js';
import { craftTar } from '../helpers/craft-tar.js';
import { runCli } from '../helpers/cli.js';
import { buffer } from 'node:stream/consumers';

const quiet = new ConsoleReporter({ write: () => {} });

/** The archive in 512-byte pieces, so tar is already extracting when a later header is checked. */
function inBlocks(tar: Buffer): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < tar.length; i += 512) pieces.push(tar.subarray(i, i + 512));
  return Readable.from(pieces);
}

describe('choosing the tar engine', () => {
  it('STRONGBOX_TAR_ENGINE takes node, gnu or auto; anything else is exit 2 naming the variable', () => {
    expect(tarEngineChoice({})).toBe('auto');
    expect(tarEngineChoice({ STRONGBOX_TAR_ENGINE: ' GNU ' })).toBe('gnu');
    expect(useGnuTar({ STRONGBOX_TAR_ENGINE: 'node' })).toBe(false);
    let err: unknown;
    try {
      tarEngineChoice({ STRONGBOX_TAR_ENGINE: 'bsd' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as StrongboxError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/STRONGBOX_TAR_ENGINE must be node, gnu or auto, not "bsd"/);
  });
});

describe('a bad STRONGBOX_TAR_ENGINE from the CLI', () => {
  it('backup and restore stop with exit 2 naming it, before a repository or a target is created', async () => {
    const work = await mkdtemp(join(tmpdir(), 'sb-tar-env-'));
    try {
      const src = join(work, 'src');
      await mkdir(src);
      await writeFile(join(src, 'a.txt'), 'a');
      const key = join(work, 'key.txt');
      execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
      const recipient = execFileSync('age-keygen', ['-y', key], { encoding: 'utf8' }).trim();
      const bad = { STRONGBOX_TAR_ENGINE: 'bsd' };
      const b = await runCli(['backup', '--to', join(work, 'repo'), '--init', '--files', src, '--recipient', recipient], { env: bad });
      expect(b.code).toBe(2);
      expect(b.stderr).toMatch(/STRONGBOX_TAR_ENGINE must be node, gnu or auto, not "bsd"/);
      expect(await readdir(work)).not.toContain('repo');
      const ok = await runCli(['backup', '--to', join(work, 'repo'), '--init', '--files', src, '--recipient', recipient]);
      expect(ok.code, ok.stderr).toBe(0);
      const r = await runCli(['restore', '--from', join(work, 'repo'), '--identity-file', key, '--files-target', join(work, 'target')], { env: bad });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/STRONGBOX_TAR_ENGINE must be node, gnu or auto/);
      expect(await readdir(work)).not.toContain('target');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 60_000);
});

describe.skipIf(!hasGnuTar())('the GNU tar restore engine', () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'sb-gnutar-'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const entries = [
    { name: 'first.bin', data: 'x'.repeat(300_000) },
    { name: 'pipe', type: 'fifo' as const },
    { name: 'after.txt', data: 'after' },
  ];

  it('tar never receives an entry the checks refuse: it is not created even inside staging', async () => {
    const staging = join(base, 'staging');
    await mkdir(staging);
    const refuseFifo = (path: string, e: { type: string }) => (e.type === 'FIFO' ? new UnsafeArchiveError(`refused ${path}`) : undefined);
    const err = await gnuTarExtract(inBlocks(await craftTar(entries)), staging, refuseFifo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    const names = await readdir(staging);
    expect(names).not.toContain('pipe');
    expect(names).not.toContain('after.txt');
  });

  it('the bytes tar receives stop before the refused header (a stand-in tar on PATH records its stdin)', async () => {
    const bin = join(base, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'tar'), '#!/bin/sh\ncat > "$SB_TAR_RECORD"\n', { mode: 0o755 });
    const record = join(base, 'stdin.tar');
    const saved = { PATH: process.env.PATH };
    process.env.PATH = `${bin}:${process.env.PATH}`;
    process.env.SB_TAR_RECORD = record;
    try {
      const tar = await craftTar(entries);
      const header = Buffer.from('pipe\0\0\0\0');
      expect(tar.includes(header)).toBe(true);
      const staging = join(base, 'staging');
      await mkdir(staging);
      const refuseFifo = (path: string, e: { type: string }) => (e.type === 'FIFO' ? new UnsafeArchiveError(`refused ${path}`) : undefined);
      await expect(gnuTarExtract(inBlocks(tar), staging, refuseFifo)).rejects.toBeInstanceOf(UnsafeArchiveError);
      const got = await readFile(record);
      expect(got.length).toBeGreaterThan(200_000); // it was extracting the first file (more than a pipe holds)
      expect(got.includes(header)).toBe(false);
      // Unchecked, the stand-in gets every entry (re-encoded), the pipe's header included: the assertion above can fail.
      await gnuTarExtract(inBlocks(tar), staging, () => undefined);
      const all = await readFile(record);
      expect(all.includes(header)).toBe(true);
      expect(execFileSync('tar', ['-tf', record], { encoding: 'utf8', env: { ...process.env, PATH: saved.PATH } }).split('\n').filter(Boolean)).toEqual(['./first.bin', './pipe', './after.txt']);
    } finally {
      process.env.PATH = saved.PATH;
      delete process.env.SB_TAR_RECORD;
    }
  });

  it('the same archive unchecked: tar itself would create the pipe (so the test above can fail)', async () => {
    const staging = join(base, 'staging');
    await mkdir(staging);
    await gnuTarExtract(inBlocks(await craftTar(entries)), staging, () => undefined);
    expect((await readdir(staging)).sort()).toEqual(['after.txt', 'first.bin', 'pipe']);
  });

  it('refuses a compressed stream before tar sees any of it', async () => {
    const staging = join(base, 'staging');
    await mkdir(staging);
    const gz = gzipSync(await craftTar([{ name: 'a.txt', data: 'a' }]));
    const err = await gnuTarExtract(Readable.from([gz]), staging, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toMatch(/compressed/);
    expect(await readdir(staging)).toEqual([]);
  });

  it('reads the stream to its end: a failure after the end-of-archive marker (a checksum) still fails the extraction', async () => {
    const staging = join(base, 'staging');
    await mkdir(staging);
    const tar = await craftTar([{ name: 'a.txt', data: 'a' }]);
    const input = new Readable({ read() {} });
    input.push(tar);
    input.push(Buffer.alloc(20_480));
    setTimeout(() => input.destroy(new Error('plaintext SHA-256 mismatch')), 200);
    await expect(gnuTarExtract(input, staging, () => undefined)).rejects.toThrow(/SHA-256 mismatch/);
  });

  it('a backup whose reader is slow: tar exits with its output still buffered on our side, and the dump completes, counted', async () => {
    const src = join(base, 'src');
    await mkdir(src);
    // Less than our buffers hold, so tar is done long before anything is read.
    for (let i = 0; i < 10; i++) await writeFile(join(src, `f${i}.bin`), randomBytes(250_000));
    process.env.STRONGBOX_TAR_ENGINE = 'gnu';
    try {
      const dump = dumpFiles(src, { reporter: quiet });
      await new Promise((r) => setTimeout(r, 1000));
      const [bytes] = await Promise.all([buffer(dump.stream), dump.completed]);
      expect(dump.details).toMatchObject({ entries: 11, bytes: 2_500_000 });
      const target = join(base, 'target');
      await restoreFiles(Readable.from([bytes]), target, { force: false, reporter: quiet });
      expect((await readdir(target)).length).toBe(10);
    } finally {
      delete process.env.STRONGBOX_TAR_ENGINE;
    }
  });

  it('a full disk: exit with "no space left", the target not created, no staging folder left', async (ctx) => {
    const disk = join(base, 'disk');
    await mkdir(disk);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk], { stdio: 'pipe' });
    } catch (err) {
      return ctx.skip(`the OS refused mount (${(err as Error).message})`);
    }
    try {
      const src = join(base, 'src');
      await mkdir(src);
      await writeFile(join(src, 'big.bin'), randomBytes(3 << 20));
      const dump = dumpFiles(src, { reporter: quiet });
      const [bytes] = await Promise.all([buffer(dump.stream), dump.completed]);
      process.env.STRONGBOX_TAR_ENGINE = 'gnu';
      const err = await restoreFiles(Readable.from([bytes]), join(disk, 'target'), { force: false, reporter: quiet }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StrongboxError);
      expect((err as Error).message).toMatch(/no space left on the device; .*target was not changed/);
      expect(await readdir(disk)).toEqual([]);
    } finally {
      delete process.env.STRONGBOX_TAR_ENGINE;
      execFileSync('umount', [disk]);
    }
  });
});
