import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runBackupAction } from '../../src/actions/backup.js';
import { runVerifyAction } from '../../src/actions/verify.js';
import type { DrillResult } from '../../src/core/drill.js';
import { captureLog, outputs, runnerEnv } from '../helpers/actions.js';
import { makeDatabase } from '../helpers/sqlite.js';

/** The verify action given drill inputs: it verifies, then restores the same backup into scratch targets. */
const work = mkdtempSync(join(tmpdir(), 'strongbox-actions-drill-'));
const saved = { ...process.env };
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...saved };
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

describe('verify action with drill inputs', () => {
  const repo = join(work, 'repo');
  const scratch = join(work, 'scratch');
  let id: string;

  it('drills after verifying: outputs rto-seconds and the drill JSON, writes the summary table, removes its scratch targets', async () => {
    const tree = join(work, 'tree');
    mkdirSync(join(tree, 'd'), { recursive: true });
    writeFileSync(join(tree, 'a.txt'), 'hello\n');
    writeFileSync(join(tree, 'd', 'b.txt'), 'world!\n');
    const db = join(work, 'app.db');
    await makeDatabase(db, { rows: 12 });
    captureLog();
    let out = runnerEnv(work, 'action.yml', { to: repo, init: 'true', files: tree, sqlite: db, unencrypted: 'true' });
    await runBackupAction();
    id = outputs(out)['backup-id']!;
    expect(outputs(out).status).toBe('success');

    const summary = join(work, 'summary.md');
    writeFileSync(summary, '');
    out = runnerEnv(work, 'actions/verify/action.yml', { from: repo, 'drill-files': scratch, 'drill-check-sql': 'SELECT 1' }, { GITHUB_STEP_SUMMARY: summary });
    await runVerifyAction();
    const o = outputs(out);
    expect(o).toMatchObject({ ok: 'true', status: 'success', 'exit-code': '0', 'backup-id': id });
    const result = JSON.parse(o.drill!) as DrillResult;
    expect(result.backupId).toBe(id);
    expect(result.artifacts.map((a) => [a.kind, a.status])).toEqual(expect.arrayContaining([['files', 'ok'], ['sqlite', 'ok']]));
    expect(result.artifacts.find((a) => a.kind === 'files')!.compared).toBe('4 entries, 13 bytes');
    expect(Number(o['rto-seconds'])).toBe(result.rtoSeconds);
    expect(result.rtoSeconds).toBeGreaterThan(0);
    expect(result.checks).toEqual([expect.objectContaining({ check: 'SELECT 1', ok: true })]);
    const text = readFileSync(summary, 'utf8');
    expect(text).toContain('Strongbox restore drill: OK');
    expect(text).toContain('4 entries, 13 bytes');
    // The directory the drill created is gone again, as is its temporary SQLite file.
    expect(existsSync(scratch)).toBe(false);
    const sqliteTarget = result.artifacts.find((a) => a.kind === 'sqlite')!.target!;
    expect(sqliteTarget).toContain('strongbox-drill-');
    expect(existsSync(dirname(sqliteTarget))).toBe(false);
  });

  it('a failing drill check fails the step with exit code 10 (status failure), after verify passed', async () => {
    captureLog();
    const out = runnerEnv(work, 'actions/verify/action.yml', { from: repo, 'drill-files': scratch, 'drill-check-sql': 'SELECT 1 WHERE 0' });
    await runVerifyAction();
    const o = outputs(out);
    expect(o).toMatchObject({ ok: 'true', status: 'failure', 'exit-code': '10' });
    expect(process.exitCode).toBe(1);
    expect((JSON.parse(o.drill!) as DrillResult).checks[0]).toMatchObject({ ok: false, detail: expect.stringContaining('returned no rows') });
  });

  it('escapes the summary table: a check with < and & and its psql-style error text stay text, not HTML', async () => {
    // @actions/core keeps the summary file it first opened: the same path as above, emptied.
    const summary = join(work, 'summary.md');
    writeFileSync(summary, '');
    captureLog();
    const out = runnerEnv(work, 'actions/verify/action.yml', { from: repo, 'drill-files': scratch, 'drill-check-sql': "SELECT 1 WHERE 1 < 2 AND 'a' <> 'b&c'" }, { GITHUB_STEP_SUMMARY: summary });
    await runVerifyAction();
    expect(outputs(out)).toMatchObject({ status: 'success' });
    const text = readFileSync(summary, 'utf8');
    expect(text).toContain('<code>SELECT 1 WHERE 1 &lt; 2 AND &#39;a&#39; &lt;&gt; &#39;b&amp;c&#39;</code>');
    expect(text).not.toContain('1 < 2');
  });

  it('drill-max-age or drill-check-sql with every scratch input empty (an unset secret) fails the step with exit code 2 before verifying', async () => {
    for (const inputs of [{ 'drill-postgres': '', 'drill-max-age': '8d' }, { 'drill-check-sql': 'SELECT 1' }] as Record<string, string>[]) {
      vi.restoreAllMocks();
      const log = captureLog();
      const out = runnerEnv(work, 'actions/verify/action.yml', { from: repo, ...inputs });
      await runVerifyAction();
      expect(outputs(out)).toMatchObject({ status: 'failure', 'exit-code': '2' });
      expect(outputs(out).ok).toBeUndefined();
      expect(outputs(out).drill).toBeUndefined();
      expect(log.join('')).toContain('every drill scratch input');
    }
  });

  it('without drill inputs it only verifies (no drill outputs)', async () => {
    captureLog();
    const out = runnerEnv(work, 'actions/verify/action.yml', { from: repo });
    await runVerifyAction();
    expect(outputs(out)).toMatchObject({ ok: 'true', status: 'success' });
    expect(outputs(out).drill).toBeUndefined();
  });
});
