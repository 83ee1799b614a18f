import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { childrenOf, isRunning } from '../helpers/cli-process.js';

/** Errors before or at the start of a run: refused up front, and never a process left hanging. */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
let tmp: string;
let tree: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'strongbox-early-'));
  tree = join(tmp, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('passphrases refused up front', () => {
  it.each([
    ['sixteen spaces', ' '.repeat(16)],
    ['sixteen newlines', '\n'.repeat(16)],
  ])('#2 a passphrase of %s exits 2 before the backup starts', async (_name, pp) => {
    const repo = join(tmp, `ws-${pp.charCodeAt(0)}`);
    const r = await runCli(['backup', '--init', '--to', repo, '--files', tree, '--passphrase-env', 'PP'], { env: { PP: pp } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: the passphrase in \$PP is empty \(only whitespace\)/);
    expect(r.stderr).not.toMatch(/Backup .*→/);
    expect(existsSync(repo)).toBe(false);
  });

  it('#16 a too-short passphrase is refused with a message that masking does not mangle', async () => {
    const repo = join(tmp, 'short');
    const r = await runCli(['backup', '--init', '--to', repo, '--files', tree, '--passphrase-env', 'PP'], { env: { PP: 'backup' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the passphrase in \$PP is 6 characters long; new backups need at least 16/);
    expect(r.stderr).not.toContain('***');
    expect(existsSync(repo)).toBe(false);
  });
});

describe('#11 --db-lock-timeout bounds', () => {
  it.each(['0s', '25d', '100d'])('--db-lock-timeout %s exits 2 naming the allowed range', async (value) => {
    const r = await runCli(['backup', '--init', '--to', join(tmp, 'lt'), '--files', tree, '--unencrypted', '--db-lock-timeout', value]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--db-lock-timeout "${value}" is out of range: it must be from 1s to 24d20h`);
    expect(r.stderr).not.toMatch(/Backup .*→/);
    expect(existsSync(join(tmp, 'lt'))).toBe(false);
  });

  it('accepts the bounds themselves', async () => {
    for (const value of ['1s', '24d20h']) {
      const r = await runCli(['backup', '--init', '--to', join(tmp, `ok-${value}`), '--files', tree, '--unencrypted', '--db-lock-timeout', value]);
      expect(r.code, r.stderr).toBe(0);
    }
  });
});

describe('#2 an error inside the backup pipeline ends the run', () => {
  it('a stage failing after zstd was spawned: the process exits, zstd is gone, no lock or partial backup remains', async () => {
    // The core directly (the config resolver refuses this passphrase earlier): the encryption
    // stage throws while the pipeline is built, after the zstd child already runs.
    const repo = join(tmp, 'pipeline');
    const script = join(tmp, 'early-stage-failure.mjs');
    writeFileSync(
      script,
      `const { backup } = await import(${JSON.stringify(join(SRC, 'core/backup.ts'))});
const { openDestination } = await import(${JSON.stringify(join(SRC, 'destinations/index.ts'))});
const { silentReporter } = await import(${JSON.stringify(join(SRC, 'shared/reporter.ts'))});
try {
  await backup({ destinations: [openDestination(${JSON.stringify(repo)})], sources: [{ kind: 'files', location: ${JSON.stringify(tree)} }],
    encryption: { passphrase: ' '.repeat(16) }, compression: { algorithm: 'zstd' }, labels: [], origin: { host: 't' },
    reporter: silentReporter, lock: { waitMs: 0 }, init: true });
} catch (e) { process.stderr.write('error: ' + e.message + '\\n'); process.exitCode = 1; }
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const zstd = new Set<number>();
    const poll = setInterval(() => {
      for (const p of childrenOf(child.pid!)) if (p.comm === 'zstd') zstd.add(p.pid);
    }, 10);
    const code = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('still running after 20 s');
      }, 20_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c ?? -1);
      });
    });
    clearInterval(poll);
    for (const pid of zstd) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(/the encryption passphrase is empty/);
    expect([...zstd].filter(isRunning)).toEqual([]);
    expect(readdirSync(repo).sort()).toEqual(['strongbox.json']);
  }, 30_000);
});
