import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runBackupAction } from '../../src/actions/backup.js';
import { runRestoreAction } from '../../src/actions/restore.js';
import { runRollbackAction } from '../../src/actions/rollback.js';
import { runVerifyAction } from '../../src/actions/verify.js';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { captureLog, outputs, runnerEnv } from '../helpers/actions.js';

/** The restore, verify and rollback actions say how long they took: output duration-seconds and the job summary. */
let work: string;
let tree: string;
const key = generateIdentity();
const saved = { ...process.env };

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-action-durations-'));
  tree = join(work, 'app');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a.txt'), 'hello\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...saved };
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

function step(yml: string, given: Record<string, string>) {
  // @actions/core resolves the summary file once per process: one file, emptied for each step.
  const summary = join(work, 'summary.md');
  writeFileSync(summary, '');
  const out = runnerEnv(work, yml, given, { GITHUB_STEP_SUMMARY: summary });
  return { out: () => outputs(out), summary: () => readFileSync(summary, 'utf8') };
}

describe('durations in the actions', () => {
  it('restore, verify (one and two locations) and rollback set duration-seconds and show it in the summary', async () => {
    captureLog();
    const repo = join(work, 'repo');
    const copy = join(work, 'copy');
    const b = step('action.yml', { to: `${repo}\n${copy}`, init: 'true', files: tree, recipient: key.recipient });
    await runBackupAction();
    expect(b.out().status).toBe('success');

    const r = step('actions/restore/action.yml', { from: repo, identity: key.identity, 'files-target': join(work, 'restored') });
    await runRestoreAction();
    expect(r.out().status, r.summary()).toBe('success');
    expect(r.out()['duration-seconds']).toMatch(/^\d+\.\d$/);
    expect(r.summary()).toMatch(/, in \d+\.\d s/);

    const v = step('actions/verify/action.yml', { from: repo });
    await runVerifyAction();
    expect(v.out()['duration-seconds']).toMatch(/^\d+\.\d$/);
    expect(v.summary()).toMatch(/Checked in \d+\.\d s\./);

    const across = step('actions/verify/action.yml', { from: `${repo}\n${copy}` });
    await runVerifyAction();
    expect(across.out().consistent).toBe('true');
    expect(across.out()['duration-seconds']).toMatch(/^\d+\.\d$/);
    expect(across.summary()).toMatch(/Checked in \d+\.\d s\./);

    const rb = step('actions/rollback/action.yml', { from: repo, backup: 'latest', identity: key.identity, 'files-target': tree, confirm: 'app' });
    await runRollbackAction();
    expect(rb.out().status, rb.summary()).toBe('success');
    expect(rb.out()['duration-seconds']).toMatch(/^\d+\.\d$/);
    expect(rb.summary()).toMatch(/the rollback took \d+\.\d s/);
  });
});
