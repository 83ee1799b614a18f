import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { recipientFingerprint } from '../../src/codecs/age/index.js';

/** The global --verbose (what the README's alerts section points to) and keygen's fingerprint. */
let work: string;
let tree: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-verbose-'));
  tree = join(work, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    const code = await main(args, { PATH: process.env.PATH, ...env }, { terminal: false });
    return { code, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('--verbose', () => {
  it('is a global flag, before or after the command, printing the debug lines STRONGBOX_DEBUG=1 prints (why no alert)', async () => {
    const repo = join(work, 'repo');
    const plain = await cli(['backup', '--to', repo, '--init', '--files', tree, '--unencrypted']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).not.toContain('debug:');
    for (const args of [['--verbose', 'backup', '--to', repo, '--files', tree, '--unencrypted'], ['backup', '--to', repo, '--files', tree, '--unencrypted', '--verbose']]) {
      const r = await cli(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/debug: .*anomaly check/);
    }
    const byEnv = await cli(['backup', '--to', repo, '--files', tree, '--unencrypted'], { STRONGBOX_DEBUG: '1' });
    expect(byEnv.stderr).toMatch(/debug: .*anomaly check/);
  });
});

describe('keygen', () => {
  it('prints the fingerprint show lists the recipients by, next to the public key', async () => {
    const r = await cli(['keygen', '--output', join(work, 'key.txt')]);
    expect(r.code, r.stderr).toBe(0);
    const recipient = /Public key: (age1\S+)/.exec(r.stderr)![1]!;
    expect(r.stderr).toContain(`Fingerprint: ${recipientFingerprint(recipient)}`);
  });
});
