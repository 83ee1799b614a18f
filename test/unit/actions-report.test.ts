import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runnerEnv as runnerEnvIn, outputs, captureLog } from '../helpers/actions.js';
import { runBackupAction } from '../../src/actions/backup.js';
import { runRestoreAction } from '../../src/actions/restore.js';
import { runRollbackAction } from '../../src/actions/rollback.js';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { releaseOf } from '../../src/core/release.js';
import { resetCancellation } from '../../src/shared/cancel.js';

/**
 * The backup action as a runner starts it (every declared input set as INPUT_<NAME>, outputs
 * in the GITHUB_OUTPUT file, the job summary in the GITHUB_STEP_SUMMARY file): retention per
 * series and what it reports on failure.
 */
let work: string;
let tree: string;
let other: string;
const saved = { ...process.env };

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-actions-report-'));
  tree = join(work, 'uploads');
  other = join(work, 'config');
  mkdirSync(tree);
  mkdirSync(other);
  writeFileSync(join(tree, 'a.txt'), 'hello\n');
  writeFileSync(join(other, 'c.txt'), 'config\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...saved };
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

interface Runner {
  outputs: () => Record<string, string>;
  summary: () => string;
}

function runnerEnv(actionYml: string, given: Record<string, string>): Runner {
  // @actions/core remembers the summary file's path after its first write: one file, emptied per run.
  const summary = join(work, 'step-summary.md');
  writeFileSync(summary, '');
  const out = runnerEnvIn(work, actionYml, given, { GITHUB_STEP_SUMMARY: summary });
  return {
    outputs: () => outputs(out),
    summary: () => readFileSync(summary, 'utf8'),
  };
}

const quiet = captureLog;
const backups = (repo: string) => readdirSync(repo).filter((n) => /^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(n)).sort();

describe('backup action: retention per series (group-by)', () => {
  it('keep-last 1 after backups of two different sources keeps the newest of each', async () => {
    const repo = join(work, 'repo-series');
    quiet();
    let r = runnerEnv('action.yml', { to: repo, init: 'true', files: tree, unencrypted: 'true' });
    await runBackupAction();
    const first = r.outputs()['backup-id']!;
    r = runnerEnv('action.yml', { to: repo, files: other, unencrypted: 'true', 'keep-last': '1' });
    await runBackupAction();
    expect(r.outputs().status).toBe('success');
    expect(r.outputs().pruned).toBe('[]');
    expect(backups(repo)).toEqual([first, r.outputs()['backup-id']!].sort());
  });

  it('group-by: none treats every backup as one series', async () => {
    const repo = join(work, 'repo-none');
    quiet();
    let r = runnerEnv('action.yml', { to: repo, init: 'true', files: tree, unencrypted: 'true' });
    await runBackupAction();
    const first = r.outputs()['backup-id']!;
    r = runnerEnv('action.yml', { to: repo, files: other, unencrypted: 'true', 'keep-last': '1', 'group-by': 'none' });
    await runBackupAction();
    expect(JSON.parse(r.outputs().pruned!)).toEqual([first]);
    expect(backups(repo)).toEqual([r.outputs()['backup-id']!]);
  });

  it('a bad group-by fails with exit code 2 before anything is written', async () => {
    const repo = join(work, 'repo-badgroup');
    const log = quiet();
    const r = runnerEnv('action.yml', { to: repo, init: 'true', files: tree, unencrypted: 'true', 'keep-last': '1', 'group-by': 'host' });
    await runBackupAction();
    expect(process.exitCode).toBe(1);
    expect(r.outputs()['exit-code']).toBe('2');
    expect(log.join('')).toMatch(/::error::group-by "host" is not one of sources, labels, sources,labels, none/);
    expect(() => readdirSync(repo)).toThrow();
  });
});

describe('git-sha has one meaning: the release to redeploy with the data', () => {
  const RUN = 'a'.repeat(40); // GITHUB_SHA of the run that takes the snapshot (runnerEnv)
  const DEPLOYED = 'b'.repeat(40);

  it('releaseOf: the deployed sha/ref when recorded, else the run\'s; the run is backup-run-sha/ref', () => {
    expect(releaseOf({ host: 'h', sha: RUN, ref: 'refs/tags/v2', deployedSha: DEPLOYED, deployedRef: 'refs/tags/v1' })).toEqual({
      gitSha: DEPLOYED,
      gitRef: 'refs/tags/v1',
      gitShaSource: 'deployed-sha',
      backupRunSha: RUN,
      backupRunRef: 'refs/tags/v2',
    });
    // A deployed sha without a ref never borrows the run's ref.
    expect(releaseOf({ host: 'h', sha: RUN, ref: 'refs/heads/main', deployedSha: DEPLOYED }).gitRef).toBeUndefined();
    expect(releaseOf({ host: 'h', sha: RUN, ref: 'refs/heads/main' })).toMatchObject({ gitSha: RUN, gitRef: 'refs/heads/main', gitShaSource: 'backup-run' });
    expect(releaseOf({ host: 'h' })).toMatchObject({ gitSha: undefined, gitShaSource: 'none' });
  });

  it('the restore and rollback actions output the same git-sha and backup-run-sha for the same pre-deploy snapshot', async () => {
    const repo = join(work, 'repo-sha');
    const site = join(work, 'site');
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), 'v1\n');
    const { identity, recipient } = generateIdentity();
    const log = quiet();
    let r = runnerEnv('action.yml', { to: repo, init: 'true', files: site, recipient, label: 'pre-release', 'deployed-sha': DEPLOYED, 'deployed-ref': 'refs/tags/v1' });
    process.env.GITHUB_REF = 'refs/tags/v2';
    await runBackupAction();
    const snapshot = r.outputs()['backup-id']!;
    expect(r.outputs().status).toBe('success');

    r = runnerEnv('actions/restore/action.yml', { from: repo, backup: snapshot, identity, 'files-target': join(work, 'site-copy') });
    await runRestoreAction();
    const restored = r.outputs();
    expect(restored).toMatchObject({ 'git-sha': DEPLOYED, 'git-ref': 'refs/tags/v1', 'backup-run-sha': RUN, 'backup-run-ref': 'refs/tags/v2', 'exit-code': '0' });
    expect(r.summary()).toContain(`release to redeploy with it: git <code>${DEPLOYED.slice(0, 12)}</code>`);

    writeFileSync(join(site, 'index.html'), 'v2\n');
    r = runnerEnv('actions/rollback/action.yml', { from: repo, backup: snapshot, identity, 'files-target': site, confirm: 'site' });
    await runRollbackAction();
    const rolled = r.outputs();
    expect(rolled['exit-code'], log.join('')).toBe('0');
    expect(readFileSync(join(site, 'index.html'), 'utf8')).toBe('v1\n');
    for (const k of ['git-sha', 'git-ref', 'backup-run-sha', 'backup-run-ref']) expect(rolled[k], k).toBe(restored[k]);
    // The log line says what the summary says: redeploy the deployed sha, not the run's.
    const text = log.join('');
    expect(text).toContain(`release to redeploy: git ${DEPLOYED.slice(0, 12)} refs/tags/v1 (the recorded deployed sha)`);
    expect(text).not.toContain(`git ${RUN.slice(0, 12)})`);
    expect(r.summary()).toContain(`<code>${DEPLOYED.slice(0, 12)}</code> refs/tags/v1`);
    expect(r.summary()).toContain(`taken by the run at <code>${RUN.slice(0, 12)}</code> (backup-run-sha)`);
  });
});

describe('backup action: a failure is reported fully (job summary and outputs)', () => {
  it('a failed database dump: what failed, the hint, and that the destination still holds only the earlier backup', async () => {
    const repo = join(work, 'repo-fail');
    quiet();
    let r = runnerEnv('action.yml', { to: repo, init: 'true', files: tree, unencrypted: 'true' });
    await runBackupAction();
    const earlier = r.outputs()['backup-id']!;
    const startedAt = JSON.parse(readFileSync(join(repo, earlier, 'manifest.json'), 'utf8')).startedAt as string;
    process.exitCode = undefined;

    const log = quiet();
    r = runnerEnv('action.yml', { to: repo, postgres: 'postgres://app:pg-pw-not-in-summary@127.0.0.1:1/app', unencrypted: 'true' });
    await runBackupAction();
    expect(process.exitCode).toBe(1);
    const o = r.outputs();
    expect(o.status).toBe('failure');
    expect(o['exit-code']).toMatch(/^[1-9]\d*$/);
    expect(o['backup-id']).toBeUndefined();
    const summary = r.summary();
    expect(summary).toContain('Strongbox backup: FAILED');
    expect(summary).toMatch(/What failed<\/strong> \(the backup, exit code \d+\): \S/);
    expect(summary).toContain(`<code>${repo}</code>`);
    expect(summary).toContain(`nothing of this run was committed; newest complete backup there: ${earlier} ${startedAt}`);
    expect(summary).not.toContain('pg-pw-not-in-summary');
    expect(backups(repo)).toEqual([earlier]);
    expect(log.join('')).toMatch(/::error::/);
  });

  it('a failure after the backup committed (prune refused) says the backup is safe, with the hint', async () => {
    const repo = join(work, 'repo-late');
    quiet();
    const r = runnerEnv('action.yml', { to: repo, init: 'true', files: tree, unencrypted: 'true', 'keep-label': 'nightyl' });
    await runBackupAction();
    const o = r.outputs();
    expect(o.status).toBe('failure');
    expect(o['exit-code']).toBe('2');
    const id = o['backup-id']!;
    expect(backups(repo)).toEqual([id]);
    const summary = r.summary();
    expect(summary).toContain('applying retention, exit code 2');
    expect(summary).toContain('--keep-label nightyl matches no backup');
    expect(summary).toMatch(/Hint:<\/strong> no backup in this repository has a label/);
    expect(summary).toContain(`The backup itself, <code>${id}</code>, was committed before the failure.`);
    expect(summary).toContain(`this run's backup ${id} is committed there`);
  });

  it('an unexpected error is reported too, and an unreadable destination does not mask it', async () => {
    vi.resetModules();
    vi.doMock('../../src/core/backup.js', async (orig) => ({ ...(await orig<object>()), backup: async () => { throw new TypeError('boom: not a StrongboxError'); } }));
    vi.doMock('../../src/core/repository.js', async (orig) => ({ ...(await orig<object>()), listBackups: async () => { throw new Error('store unreachable'); } }));
    try {
      const { runBackupAction: run } = await import('../../src/actions/backup.js');
      const log = quiet();
      const r = runnerEnv('action.yml', { to: join(work, 'repo-unexpected'), files: tree, unencrypted: 'true' });
      await run();
      expect(r.outputs()).toMatchObject({ status: 'failure', 'exit-code': '1' });
      expect(log.join('')).toMatch(/::error::boom: not a StrongboxError/);
      const summary = r.summary();
      expect(summary).toContain('boom: not a StrongboxError');
      expect(summary).toContain('could not be read now (store unreachable)');
    } finally {
      vi.doUnmock('../../src/core/backup.js');
      vi.doUnmock('../../src/core/repository.js');
      vi.resetModules();
    }
  });

  it('inputs refused before any destination is opened: the summary says nothing was written', async () => {
    quiet();
    const r = runnerEnv('action.yml', { to: join(work, 'repo-nokey2'), files: tree });
    await runBackupAction();
    expect(r.outputs()).toMatchObject({ status: 'failure', 'exit-code': '2' });
    expect(r.summary()).toContain('no encryption key');
    expect(r.summary()).toContain('No destination was opened');
  });
});

describe('backup action: a cancelled job is reported fully', () => {
  afterEach(() => resetCancellation());

  /** Captures the log; the runner's SIGINT arrives when a line matching `at` is written. */
  function cancelWhen(at: RegExp): string[] {
    const lines: string[] = [];
    let sent = false;
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      lines.push(String(s));
      if (!sent && at.test(String(s))) {
        sent = true;
        process.emit('SIGINT');
      }
      return true;
    });
    return lines;
  }

  it('cancelled during verify and retention, after the commit: the line and the job summary say the backup is safe', async () => {
    const repo = join(work, 'repo-cancel-late');
    quiet();
    let r = runnerEnv('action.yml', { to: repo, init: 'true', files: tree, unencrypted: 'true' });
    await runBackupAction();
    const earlier = r.outputs()['backup-id']!;
    process.exitCode = undefined;
    vi.restoreAllMocks();

    const log = cancelWhen(/Verifying \d{8}T/);
    r = runnerEnv('action.yml', { to: repo, files: tree, unencrypted: 'true', 'keep-last': '1' });
    await runBackupAction();
    const o = r.outputs();
    const id = o['backup-id']!;
    const startedAt = JSON.parse(readFileSync(join(repo, id, 'manifest.json'), 'utf8')).startedAt as string;
    expect(process.exitCode).toBe(130);
    expect(o.status).toBe('failure');
    expect(o['exit-code']).toBe('130');
    const line = `cancelled by SIGINT: verify, copy and retention after backup ${id} stopped, backup ${id} had been committed at ${startedAt} to ${repo}; nothing was`;
    expect(log.join('').split('\n').filter((l) => l.startsWith('::error::'))).toEqual([expect.stringContaining(`::error::${line}`)]);
    const summary = r.summary();
    expect(summary).toContain('Strongbox backup: FAILED');
    expect(summary).toContain(`(verifying the new backup, exit code 130): ${line}`);
    expect(summary).toContain(`The backup itself, <code>${id}</code>, was committed before the failure.`);
    expect(summary).toContain(`this run's backup ${id} is committed there`);
    // Nothing was pruned: the earlier backup is still there.
    expect(backups(repo)).toEqual([earlier, id].sort());
  });

  it('cancelled before the commit: the job summary says nothing of this run was committed', async () => {
    const repo = join(work, 'repo-cancel-early');
    quiet();
    let r = runnerEnv('action.yml', { to: repo, init: 'true', files: tree, unencrypted: 'true' });
    await runBackupAction();
    const earlier = r.outputs()['backup-id']!;
    process.exitCode = undefined;
    vi.restoreAllMocks();

    cancelWhen(/./); // at the first line the action writes
    r = runnerEnv('action.yml', { to: repo, files: tree, unencrypted: 'true' });
    await runBackupAction();
    expect(r.outputs()['exit-code']).toBe('130');
    const summary = r.summary();
    expect(summary).toContain('Strongbox backup: FAILED');
    // Cancelled before the backup began: the line names the step (not "the Strongbox step").
    expect(summary).toContain('exit code 130): cancelled by SIGINT: the Strongbox backup step stopped, nothing was committed');
    expect(summary).toContain(`nothing of this run was committed; newest complete backup there: ${earlier}`);
    expect(backups(repo)).toEqual([earlier]);
  });
});

describe('every action sets status and exit-code on failure (shared runner)', () => {
  it('restore from a location that holds no repository: status failure, exit-code 4', async () => {
    const log = quiet();
    const r = runnerEnv('actions/restore/action.yml', { from: join(work, 'no-repo-here'), 'files-target': join(work, 'never') });
    await runRestoreAction();
    expect(process.exitCode).toBe(1);
    expect(r.outputs()).toMatchObject({ status: 'failure', 'exit-code': '4' });
    expect(log.join('')).toMatch(/::error::no Strongbox repository at/);
  });

  it('rollback refused by confirm: status failure, exit-code 7', async () => {
    quiet();
    const { identity } = generateIdentity();
    const log = quiet();
    const r = runnerEnv('actions/rollback/action.yml', { from: join(work, 'no-repo-here'), backup: 'latest', identity, 'files-target': join(work, 'site-x'), confirm: 'production' });
    await runRollbackAction();
    expect(r.outputs()).toMatchObject({ status: 'failure', 'exit-code': '7' });
    expect(log.join('')).toMatch(/::error::--confirm "production" does not repeat the target name "site-x"/);
  });
});
