import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

/** The global storage flags serve every S3 location; a second one used to win silently. */
async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const code = await main(args, {});
  vi.restoreAllMocks();
  return { code, stderr };
}

afterEach(() => vi.restoreAllMocks());

const COMMANDS = ['init', 'backup', 'list', 'verify', 'restore', 'prune', 'rollback'];
const REPEATS: [string, string[]][] = [
  ['endpoint', ['--endpoint', 'http://a:1', '--endpoint', 'http://b:2']],
  ['region', ['--region', 'x-1', '--region=x-1']],
  ['preset', ['--preset', 'r2', '--preset', 'b2']],
  ['path-style', ['--path-style', '--path-style']],
];

describe('a global storage flag given twice', () => {
  for (const command of COMMANDS) {
    it.each(REPEATS)(`${command} --%s twice exits 2, pointing to per-location settings`, async (flag, args) => {
      const r = await run([command, ...args, '--from', 's3://b/p', '--to', 's3://b/p']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--${flag} given twice; to use different stores per destination put ?${flag}`);
      expect(r.stderr).not.toMatch(/http:\/\/(a|b):/);
    });
  }

  it('is accepted once, and then applies to the location (list reaches the endpoint)', async () => {
    const r = await run(['list', '--from', 's3://b/p', '--endpoint', 'http://127.0.0.1:9', '--path-style']);
    expect(r.code).not.toBe(2);
    expect(r.stderr).toMatch(/s3:\/\/b\/p.*\(127\.0\.0\.1:9\)/);
  });
});
