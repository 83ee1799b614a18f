import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult, untimed } from '../helpers/cli.js';

/**
 * Paths and names from the user or the storage are printed on one line, escaped (TRIAL 6):
 * a newline in a --files, --to/--from or --files-target path, or in a file name, must not start
 * a line of its own, where `::error::` or `##[error]` would be read as a workflow command.
 */

const PASS = 'control-chars-passphrase-0123';
const env = { SB_PASS: PASS };
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sb-control-'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** No line of stderr may start a workflow command; the escaped value is on the line that names it. */
function expectOneLine(r: CliResult, escaped: string): void {
  const lines = untimed(r.stderr).split('\n');
  expect(lines.filter((l) => /^\s*(::|##\[)/.test(l)), r.stderr).toEqual([]);
  expect(lines.some((l) => l.includes(escaped)), r.stderr).toBe(true);
}

describe('user data in messages stays on one line (TRIAL 6)', () => {
  it('backup --files of a missing path with a newline names it on one line (exit 2)', async () => {
    const r = await runCli(['backup', '--to', join(work, 'repo-a'), '--init', '--files', '/nonexist\n##[error]x', '--passphrase-env', 'SB_PASS'], { env });
    expect(r.code, r.stderr).toBe(2);
    expectOneLine(r, 'the directory to back up does not exist: /nonexist\\n#\\u0023[error]x');
  });

  it('list --from a path with a newline names it on one line (exit 4)', async () => {
    const from = join(work, 'x\n::warning::y');
    const r = await runCli(['list', '--from', from]);
    expect(r.code, r.stderr).toBe(4);
    expectOneLine(r, `no Strongbox repository at ${join(work, 'x')}\\n::warning::y`);
  });

  it('a FIFO named with a newline is warned about on one line; a --files-target with one is shown escaped', async () => {
    const src = join(work, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'data');
    execFileSync('mkfifo', [join(src, 'pipe\n::error::forged')]);
    const repo = join(work, 'repo-fifo');
    const b = await runCli(['backup', '--to', repo, '--init', '--files', src, '--passphrase-env', 'SB_PASS'], { env });
    expect(b.code, b.stderr).toBe(0);
    expectOneLine(b, `skipping "pipe\\n::error::forged" in ${src}: not a file, directory or link`);

    const target = join(work, 'restored\n::error::t');
    const r = await runCli(['restore', '--from', repo, '--files-target', target, '--passphrase-env', 'SB_PASS'], { env });
    expect(r.code, r.stderr).toBe(0);
    expectOneLine(r, `restoring files-src (files: ${src}) → ${join(work, 'restored')}\\n::error::t`);
  });

  it('an s3 destination whose prefix holds a newline is shown escaped in its errors', async () => {
    const r = await runCli(['list', '--from', 's3://bucket/p\n::error::q', '--endpoint', 'http://127.0.0.1:9', '--region', 'us-east-1'], {
      env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_MAX_ATTEMPTS: '1' },
    });
    expect(r.code, r.stderr).not.toBe(0);
    expectOneLine(r, 's3://bucket/p\\n::error::q');
  });
});
