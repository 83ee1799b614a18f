import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runnerEnv as runnerEnvIn, outputs, captureLog } from '../helpers/actions.js';
import { runBackupAction } from '../../src/actions/backup.js';
import { runVerifyAction } from '../../src/actions/verify.js';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { actionsReporter } from '../../src/actions/reporter.js';

/**
 * The actions as a runner starts them: every declared input is set as INPUT_<NAME>, to its
 * default or "" (an unset secret is "" too), outputs go to the GITHUB_OUTPUT file.
 */
let work: string;
let tree: string;
const saved = { ...process.env };

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-actions-'));
  tree = join(work, 'uploads');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a.txt'), 'hello\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...saved };
  process.exitCode = undefined;
  vi.restoreAllMocks();
});




const runnerEnv = (yml: string, given: Record<string, string>, extra: Record<string, string> = {}) => runnerEnvIn(work, yml, given, extra);
const quiet = captureLog;

describe('backup action', () => {
  it('backs up with a recipient and sets its outputs', async () => {
    const repo = join(work, 'repo-ok');
    const log = quiet();
    const out = runnerEnv('action.yml', { to: repo, init: 'true', files: tree, recipient: generateIdentity().recipient, label: 'nightly' });
    await runBackupAction();
    const o = outputs(out);
    expect(o.status).toBe('success');
    expect(o['backup-id']).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(Number(o.size)).toBeGreaterThan(0);
    expect(process.exitCode ?? 0).toBe(0);
    expect(JSON.parse(readFileSync(join(repo, o['backup-id']!, 'manifest.json'), 'utf8')).origin).toMatchObject({ sha: 'a'.repeat(40), runId: '42' });
    expect(log.join('')).not.toContain('::error::');
  });

  it('empty key inputs (unset secrets) fail with exit code 2 and write nothing', async () => {
    const repo = join(work, 'repo-nokey');
    const log = quiet();
    const out = runnerEnv('action.yml', { to: repo, files: tree });
    await runBackupAction();
    expect(process.exitCode).toBe(1);
    expect(outputs(out)['exit-code']).toBe('2');
    expect(log.join('')).toMatch(/::error::no encryption key: the recipient and passphrase inputs are both empty/);
    expect(() => readFileSync(join(repo, 'strongbox.json'))).toThrow();
  });

  it('a destination without a repository fails with exit code 4 naming init, and nothing is created', async () => {
    const parent = join(work, 'backups-parent');
    mkdirSync(join(parent, 'other'), { recursive: true });
    const log = quiet();
    const out = runnerEnv('action.yml', { to: join(parent, 'app'), files: tree, recipient: generateIdentity().recipient });
    await runBackupAction();
    expect(process.exitCode).toBe(1);
    expect(outputs(out)['exit-code']).toBe('4');
    expect(log.join('')).toMatch(/::error::no Strongbox repository at .*backups-parent\/app/);
    expect(log.join('')).toMatch(/init: true/);
    expect(readdirSync(parent)).toEqual(['other']);
  });

  it('under an empty share (a volume not mounted) it says so and offers no init: true', async () => {
    const share = join(work, 'empty-share');
    mkdirSync(share);
    const log = quiet();
    const out = runnerEnv('action.yml', { to: join(share, 'app'), files: tree, recipient: generateIdentity().recipient });
    await runBackupAction();
    expect(outputs(out)['exit-code']).toBe('4');
    expect(log.join('')).toMatch(/empty-share is an empty folder and no mount point/);
    expect(log.join('')).not.toMatch(/init: true/);
    expect(readdirSync(share)).toEqual([]);
  });

  it('unencrypted: true works although the runner sets the key inputs to ""', async () => {
    const repo = join(work, 'repo-plain');
    quiet();
    const out = runnerEnv('action.yml', { to: repo, init: 'true', files: tree, unencrypted: 'true' });
    await runBackupAction();
    expect(outputs(out).status).toBe('success');
  });

  it('a pull request from a fork without secrets is reported as skipped, not as success', async () => {
    const event = join(work, 'event.json');
    writeFileSync(event, JSON.stringify({ pull_request: { head: { repo: { full_name: 'someone/fork', fork: true } }, base: { repo: { full_name: 'org/app' } } } }));
    const log = quiet();
    const out = runnerEnv('action.yml', { to: join(work, 'repo-fork'), files: tree }, { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: event });
    await runBackupAction();
    const o = outputs(out);
    expect(o.status).toBe('skipped');
    expect(o['skip-reason']).toMatch(/fork/);
    expect(o['backup-id']).toBeUndefined();
    expect(log.join('')).toMatch(/::warning::Backup SKIPPED/);
  });

  it('masks the passphrase and database password before anything is logged', async () => {
    const log = quiet();
    runnerEnv('action.yml', { to: join(work, 'repo-mask'), files: tree, passphrase: 'hunter2-very-secret', postgres: 'postgres://u:pg-s3cret-pw@127.0.0.1:1/db' });
    await runBackupAction();
    const text = log.join('');
    const masks = [...text.matchAll(/::add-mask::(.*)/g)].map((m) => m[1]);
    expect(masks).toEqual(expect.arrayContaining(['hunter2-very-secret', 'pg-s3cret-pw']));
    const firstMask = text.indexOf('::add-mask::');
    expect(text.slice(0, firstMask)).toBe('');
  });
});

describe('verify action', () => {
  it('fails the step with exit code 3 when the backup is older than max-age', async () => {
    const repo = join(work, 'repo-verify');
    quiet();
    let out = runnerEnv('action.yml', { to: repo, init: 'true', files: tree, unencrypted: 'true' });
    await runBackupAction();
    expect(outputs(out).status).toBe('success');
    process.exitCode = undefined;
    out = runnerEnv('actions/verify/action.yml', { from: repo, 'max-age': '1h' });
    await runVerifyAction();
    expect(outputs(out).ok).toBe('true');
    const log = quiet();
    out = runnerEnv('actions/verify/action.yml', { from: repo, 'max-age': '1h' });
    vi.useFakeTimers({ now: Date.now() + 2 * 3_600_000, toFake: ['Date'] });
    try {
      await runVerifyAction();
    } finally {
      vi.useRealTimers();
    }
    expect(outputs(out).ok).toBe('false');
    expect(outputs(out)['exit-code']).toBe('3');
    expect(log.join('')).toMatch(/older than the allowed 1\.0h|older than the allowed/);
  });
});

describe('control characters in user data (Actions log)', () => {
  it('a file named `x\\n::error::y` in a backed-up tree forges no workflow command; the warning naming it stays one command', async () => {
    const hostile = join(work, 'hostile');
    mkdirSync(hostile);
    writeFileSync(join(hostile, 'a.txt'), 'hello\n');
    execFileSync('mkfifo', [join(hostile, 'x\n::error::y')]); // a named pipe: skipped, with a warning naming it
    const log = quiet();
    const out = runnerEnv('action.yml', { to: join(work, 'repo-hostile'), init: 'true', files: hostile, unencrypted: 'true' });
    await runBackupAction();
    expect(outputs(out).status).toBe('success');
    const lines = log.join('').split('\n');
    expect(lines.filter((l) => /^\s*::error::y/.test(l))).toEqual([]);
    const warning = lines.find((l) => l.startsWith('::warning::') && l.includes('skipping'));
    expect(warning).toMatch(/skipping "x.*error::y" in /);
  });

  it('a file named `a##[error]x` (the legacy command form, mid-line) forges no annotation; the warning names it escaped', async () => {
    const hostile = join(work, 'hostile-legacy');
    mkdirSync(hostile);
    writeFileSync(join(hostile, 'a.txt'), 'hello\n');
    execFileSync('mkfifo', [join(hostile, 'a##[error]x')]); // a named pipe: skipped, with a warning naming it
    const log = quiet();
    const out = runnerEnv('action.yml', { to: join(work, 'repo-hostile-legacy'), init: 'true', files: hostile, unencrypted: 'true' });
    await runBackupAction();
    expect(outputs(out).status).toBe('success');
    const text = log.join('');
    expect(text).not.toContain('##[');
    const warning = text.split('\n').find((l) => l.startsWith('::warning::') && l.includes('skipping'));
    expect(warning).toContain('skipping "a#\\u0023[error]x" in ');
  });

  it('no line of any message, at any level, can start a workflow command; the message keeps its own line breaks', () => {
    const log = quiet();
    actionsReporter.info('Restoring into /srv/x\n::error::forged\n  ::set-output name=a::b\tend\u001b[31m');
    actionsReporter.debug('::warning::also');
    const text = log.join('');
    expect(text.split('\n').filter((l) => /^\s*::(error|set-output|warning)/.test(l))).toEqual([]);
    expect(text).toContain('Restoring into /srv/x\n\\u003a:error::forged\n  \\u003a:set-output name=a::b  end\\u001b[31m\n');
  });
});

describe('#11 db-lock-timeout input bounds', () => {
  for (const value of ['0s', '25d']) {
    it(`db-lock-timeout: ${value} fails with exit code 2 naming the allowed range, and writes nothing`, async () => {
      const repo = join(work, `repo-lock-timeout-${value}`);
      const log = quiet();
      const out = runnerEnv('action.yml', { to: repo, init: 'true', files: tree, unencrypted: 'true', 'db-lock-timeout': value });
      await runBackupAction();
      expect(outputs(out)['exit-code']).toBe('2');
      expect(log.join('')).toContain(`::error::--db-lock-timeout "${value}" is out of range: it must be from 1s to 24d20h`);
      expect(() => readdirSync(repo)).toThrow();
    });
  }
});
