import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/** `strongbox verify … 2>&1 | head -1`: a reader that goes away must not abort the run's cleanup. */
const ENTRY = fileURLToPath(new URL('../../src/entries/cli.ts', import.meta.url));
let tmp: string;
let repo: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'strongbox-epipe-'));
  const tree = join(tmp, 'tree');
  mkdirSync(tree);
  // Big enough that verify still has lines to print after the reader has gone.
  writeFileSync(join(tree, 'noise.bin'), randomBytes(16 << 20));
  repo = join(tmp, 'repo');
  const r = await runCli(['backup', '--init', '--to', repo, '--files', tree, '--unencrypted']);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** Runs the CLI with `which` on a pipe that is closed after its first chunk; resolves to the exit code. */
function runWithReaderGone(args: string[], which: 'stdout' | 'stderr'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
      stdio: ['ignore', which === 'stdout' ? 'pipe' : 'ignore', which === 'stderr' ? 'pipe' : 'ignore'],
    });
    const out = child[which]!;
    out.once('data', () => out.destroy());
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal as unknown as number)));
  });
}

const locks = () => (existsSync(join(repo, 'locks')) ? readdirSync(join(repo, 'locks')) : []);

describe('#12 a closed stdout/stderr never aborts the run', () => {
  it('verify with stderr closed after the first line exits 0 and releases its lock', async () => {
    expect(await runWithReaderGone(['verify', '--from', repo], 'stderr')).toBe(0);
    expect(locks()).toEqual([]);
  }, 60_000);

  it('verify of a damaged backup with stderr closed early still exits 3, without a lock left', async () => {
    const id = readdirSync(repo).find((n) => /^\d{8}T/.test(n))!;
    const object = readdirSync(join(repo, id)).find((n) => n.startsWith('files-'))!;
    const damaged = join(tmp, 'damaged');
    await runCli(['backup', '--init', '--to', damaged, '--files', join(tmp, 'tree'), '--unencrypted']);
    const did = readdirSync(damaged).find((n) => /^\d{8}T/.test(n))!;
    writeFileSync(join(damaged, did, object), randomBytes(1024));
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'verify', '--from', damaged], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.once('data', () => child.stderr.destroy());
      child.on('close', (c) => resolve(c ?? -1));
    });
    expect(code).toBe(3);
    expect(existsSync(join(damaged, 'locks')) ? readdirSync(join(damaged, 'locks')) : []).toEqual([]);
  }, 60_000);

  it('the trial command `verify … 2>&1 | head -1` exits with verify\'s own code and leaves no lock', async () => {
    const cmd = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(ENTRY)} verify --from ${JSON.stringify(repo)} 2>&1 | head -1; exit \${PIPESTATUS[0]}`;
    const code = await new Promise<number>((resolve) => {
      const child = spawn('bash', ['-c', cmd], { stdio: 'ignore' });
      child.on('close', (c) => resolve(c ?? -1));
    });
    expect(code).toBe(0);
    expect(locks()).toEqual([]);
  }, 60_000);
});
