import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { captureLog, outputs, runnerEnv as runnerEnvIn } from '../helpers/actions.js';
import { runBackupAction } from '../../src/actions/backup.js';
import type { Alert } from '../../src/shared/alert.js';

/**
 * The backup action after an anomaly: a warning annotation per alert, a summary line each,
 * the `alerts` output, the retention guard on its own pruning (force-prune overrides), and
 * fail-on-alert failing the step with exit-code 9 while the backup stays committed.
 */
let work: string;
let tree: string;
const saved = { ...process.env };

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-actions-alerts-'));
  tree = join(work, 'uploads');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...saved };
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

function fill(n: number): void {
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree);
  for (let i = 0; i < n; i++) writeFileSync(join(tree, `f${i}.txt`), `upload ${i} `.repeat(40));
}

function run(given: Record<string, string>) {
  const summary = join(work, 'step-summary.md');
  writeFileSync(summary, '');
  const out = runnerEnvIn(work, 'action.yml', { files: tree, unencrypted: 'true', ...given }, { GITHUB_STEP_SUMMARY: summary });
  return { outputs: () => outputs(out), summary: () => readFileSync(summary, 'utf8') };
}
const backups = (repo: string) => readdirSync(repo).filter((n) => /^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(n)).sort();

describe('backup action: alerts', () => {
  it('an emptied upload folder: annotations, summary, alerts output, guarded pruning, exit-code 9 with fail-on-alert', async () => {
    const repo = join(work, 'repo');
    fill(80);
    for (let i = 0; i < 3; i++) {
      captureLog();
      const r = run({ to: repo, init: 'true' });
      await runBackupAction();
      expect(r.outputs().status).toBe('success');
      expect(r.outputs().alerts).toBe('[]');
      vi.restoreAllMocks();
    }
    fill(4);
    const log = captureLog();
    const r = run({ to: repo, 'keep-last': '1', 'fail-on-alert': 'true' });
    await runBackupAction();
    const o = r.outputs();
    expect(o.status).toBe('alert');
    expect(o['exit-code']).toBe('9');
    expect(process.exitCode).toBe(1);
    const alerts = JSON.parse(o.alerts!) as Alert[];
    expect(alerts.map((a) => a.kind)).toEqual(['plaintext-size', 'stored-size', 'entries']);
    const text = log.join('');
    expect(text.match(/::warning::alert: files-uploads: /g)).toHaveLength(3);
    expect(text).toMatch(/::warning::series files-uploads: nothing removed, 3 backup\(s\) kept by the retention guard/);
    expect(text).toMatch(/::error::backup \S+ is committed, but raised 3 alert\(s\) and fail-on-alert is set/);
    expect(o.pruned).toBe('[]');
    // "removed 0" alone would read as "nothing to remove": the outputs and the summary say why.
    // Spared newest first by time; ids taken within one second sort by their random part, so compare as sets.
    const good = backups(repo).filter((id) => id !== o['backup-id']).sort();
    const guarded = JSON.parse(o.guarded!) as { spared: string[] }[];
    expect(guarded.map((g) => ({ ...g, spared: [...g.spared].sort() }))).toEqual([{ location: repo, series: 'files-uploads', backup: o['backup-id'], spared: good, forced: false }]);
    const dests = JSON.parse(o.destinations!) as { guarded: { spared: string[] }[] }[];
    expect(dests).toEqual([expect.objectContaining({ location: repo, pruned: [], guarded: [expect.objectContaining({ forced: false })] })]);
    expect([...dests[0]!.guarded[0]!.spared].sort()).toEqual(good);
    expect(r.summary()).toMatch(/Retention guard: nothing removed in series <code>files-uploads<\/code> at <code>[^<]+<\/code>, 3 backup\(s\) kept — backup <code>\S+<\/code> carries drop alert\(s\)\. .*force-prune: true/);
    expect(r.summary()).toMatch(/none \(retention guard: kept 3\)/);
    expect(backups(repo)).toHaveLength(4);
    expect(backups(repo)).toContain(o['backup-id']);
    expect(r.summary()).toMatch(/Alert \(entries\): files-uploads: 5 entries, −94% against the usual 81/);

    vi.restoreAllMocks();
    captureLog();
    const forced = run({ to: repo, 'keep-last': '1', 'force-prune': 'true' });
    await runBackupAction();
    expect(forced.outputs().status).toBe('success');
    expect(JSON.parse(forced.outputs().pruned!)).toHaveLength(4);
    expect(JSON.parse(forced.outputs().guarded!)).toEqual([expect.objectContaining({ forced: true })]);
    expect(forced.summary()).toMatch(/Retention guard overridden \(force-prune\) for series <code>files-uploads<\/code>/);
    expect(backups(repo)).toEqual([forced.outputs()['backup-id']]);
  }, 60_000);

  it('quota and quota-alert: a quota alert in the output, never in the manifest', async () => {
    const repo = join(work, 'repo-quota');
    fill(3);
    captureLog();
    const r = run({ to: repo, init: 'true', quota: '1KB', 'quota-alert': '50%' });
    await runBackupAction();
    const alerts = JSON.parse(r.outputs().alerts!) as Alert[];
    expect(alerts).toEqual([expect.objectContaining({ kind: 'quota', subject: repo, baseline: 1000 })]);
    expect(r.outputs().status).toBe('success');
    const manifest = JSON.parse(readFileSync(join(repo, r.outputs()['backup-id']!, 'manifest.json'), 'utf8')) as { alerts?: unknown };
    expect(manifest.alerts).toBeUndefined();
  }, 30_000);
});
