import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runBackupAction } from '../../src/actions/backup.js';
import { runCli } from '../helpers/cli.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver.js';

/**
 * The AWS SDK warns on Node < 22 that later SDK versions will need Node 22. Strongbox supports
 * Node >= 20 and pins the SDK: users must not see it (fault: noise that reads like a failure).
 * Only meaningful on Node 20/21, where the SDK emits it.
 */
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const PASS = 'correct horse battery staple 42';

let s3: S3rverHandle;
let work: string;
let tree: string;

beforeAll(async () => {
  s3 = await startS3rver();
  work = mkdtempSync(join(tmpdir(), 'strongbox-awswarn-'));
  tree = join(work, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
}, 60_000);

afterAll(async () => {
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const s3Flags = () => ['--endpoint', s3.endpoint, '--path-style', '--region', 'us-east-1'];

describe.runIf(NODE_MAJOR < 22)('no NodeVersionSupportWarning on Node 20', () => {
  it('a CLI backup and list against S3 print no such warning', async () => {
    const env = { ...s3.env, STRONGBOX_PASS: PASS, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined as unknown as string };
    const to = `s3://${s3.bucket}/cli`;
    const b = await runCli(['backup', '--to', to, '--init', '--files', tree, '--passphrase-env', 'STRONGBOX_PASS', ...s3Flags()], { env });
    expect(b.code, b.stderr).toBe(0);
    const l = await runCli(['list', '--from', to, ...s3Flags()], { env });
    expect(l.code, l.stderr).toBe(0);
    for (const r of [b, l]) {
      expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|require node >=22/);
      expect(r.stdout).not.toMatch(/NodeVersionSupportWarning/);
    }
  });

  it('the backup action against S3 emits no such warning either', async () => {
    const saved = { ...process.env };
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const writes = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      delete process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
      const inputs = parse(readFileSync('action.yml', 'utf8')).inputs as Record<string, { default?: string }>;
      const given: Record<string, string> = { to: `s3://${s3.bucket}/action`, init: 'true', files: tree, passphrase: PASS, endpoint: s3.endpoint, 'path-style': 'true', region: 'us-east-1' };
      for (const [name, spec] of Object.entries(inputs)) process.env[`INPUT_${name.toUpperCase()}`] = given[name] ?? spec.default ?? '';
      const out = join(work, 'out');
      writeFileSync(out, '');
      Object.assign(process.env, s3.env, { GITHUB_OUTPUT: out });
      await runBackupAction();
      expect(readFileSync(out, 'utf8')).toMatch(/status<<\S+\nsuccess/);
      await new Promise((r) => setImmediate(r)); // warnings are delivered on a later tick
      expect(warnings.filter((w) => /NodeVersionSupportWarning/.test(w))).toEqual([]);
      // Only that warning is off: others still reach the process.
      process.emitWarning('an unrelated warning', 'OtherWarning');
      await new Promise((r) => setImmediate(r));
      expect(warnings).toContain('OtherWarning: an unrelated warning');
    } finally {
      writes.mockRestore();
      process.off('warning', onWarning);
      process.env = saved;
      process.exitCode = undefined;
    }
  });
});
