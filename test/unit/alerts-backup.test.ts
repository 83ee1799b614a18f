import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { backup, type BackupOptions } from '../../src/core/backup.js';
import { pruneHolders, type LocationOutcome } from '../../src/core/after-backup.js';
import { prune } from '../../src/core/prune.js';
import { listBackups, readManifestWithBytes } from '../../src/core/repository.js';
import { guardRetention } from '../../src/core/retention-guard.js';
import { applyRetentionBySeries } from '../../src/core/retention.js';
import type { Alert } from '../../src/shared/alert.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { FaultDestination } from '../helpers/fault-destination.js';
import { RecordingReporter } from '../helpers/backup-fixtures.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

/**
 * Alerts from the core's point of view: real backups of a file tree into memory, with the
 * clock injected so each backup's duration is exactly what the test says.
 */
let work: string;
const key = generateIdentity();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-alerts-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A tree of `n` small files. */
function tree(name: string, n: number): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `f${i}.txt`), `file ${i} `.repeat(50));
  return dir;
}

/** A clock that moves `stepSeconds` on every reading: the backup's duration is one step. */
let day = 0;
function clock(stepSeconds: number): () => Date {
  let t = Date.UTC(2026, 0, ++day, 2);
  return () => new Date((t += stepSeconds * 1000));
}

function options(dest: MemoryDestination | FaultDestination, dir: string, seconds = 60, extra: Partial<BackupOptions> = {}): BackupOptions {
  return { destinations: [dest], sources: [{ kind: 'files', location: dir }], encryption: { recipients: [key.recipient] }, compression: { algorithm: 'gzip' }, labels: [], origin: { host: 'test' }, reporter: silentReporter, init: true, now: clock(seconds), ...extra };
}

describe('anomaly alerts after a backup', () => {
  it('a tree shrunk to a tenth: entry and size alerts, warned, in the result and in the stored manifest', async () => {
    const mem = new MemoryDestination();
    const dir = tree('shrink', 100);
    for (let i = 0; i < 3; i++) expect((await backup(options(mem, dir))).alerts).toEqual([]);
    tree('shrink', 10);
    const reporter = new RecordingReporter();
    const r = await backup(options(mem, dir, 60, { reporter }));
    expect(r.alerts.map((a) => a.kind)).toEqual(['plaintext-size', 'stored-size', 'entries']);
    expect(r.alerts.find((a) => a.kind === 'entries')).toMatchObject({ subject: 'files-shrink', value: 11, baseline: 101 });
    expect(reporter.lines.filter((l) => l.startsWith('warning: alert: '))).toHaveLength(3);
    expect((await readManifestWithBytes(mem, r.id)).manifest.alerts).toEqual(r.alerts);
  });

  it('the injected clock makes a duration alert: 60 s usual, 120 s now', async () => {
    const mem = new MemoryDestination();
    const dir = tree('slow', 5);
    for (let i = 0; i < 3; i++) await backup(options(mem, dir, 60));
    const r = await backup(options(mem, dir, 120));
    expect(r.alerts).toEqual([expect.objectContaining({ kind: 'duration', value: 120, baseline: 60, changePercent: 100 })]);
    expect((await backup(options(mem, dir, 80))).alerts).toEqual([]);
  });

  it('a history that cannot be listed is a warning; the backup commits without alerts', async () => {
    const mem = new MemoryDestination();
    const dir = tree('unlisted', 5);
    for (let i = 0; i < 3; i++) await backup(options(mem, dir));
    // Listings work until this run's artifacts are stored: the history listing is refused.
    const before = new Set(mem.objects.keys());
    const uploading = () => [...mem.objects.keys()].some((k) => /^\d{8}T/.test(k) && !before.has(k));
    const flaky = new FaultDestination(mem, {});
    const list = flaky.list.bind(flaky);
    flaky.list = (prefix: string) => (uploading() ? (async function* () { throw new Error('listing refused'); })() : list(prefix));
    tree('unlisted', 1);
    const reporter = new RecordingReporter();
    const r = await backup(options(flaky, dir, 60, { reporter }));
    expect(r.alerts).toEqual([]);
    expect(reporter.lines).toContainEqual(expect.stringMatching(/^warning: could not read the backup history at memory:\/\/test to look for anomalies: listing refused/));
    expect((await listBackups(mem, silentReporter)).filter((e) => e.complete)).toHaveLength(4);
  });
});

describe('the retention guard', () => {
  const alert: Alert = { kind: 'rows', subject: 'postgres-app public.t', value: 1, baseline: 10, changePercent: -90, thresholdPercent: 20, message: 'postgres-app: table public.t has 1 rows' };
  const t = (d: number) => new Date(Date.UTC(2026, 0, d));
  const candidates = [1, 2, 3, 4].map((d) => ({ id: `b${d}`, time: t(d), complete: true, labels: [], series: 'app' }));
  const other = [1, 2, 3].map((d) => ({ id: `o${d}`, time: t(d), complete: true, labels: [], series: 'files' }));
  const artifactsOf = (id: string) => (id.startsWith('b') ? [{ name: 'postgres-app', identity: '127.0.0.1:5432/app' }] : [{ name: 'files-srv', identity: '/srv' }]);
  const info = (alerts: Record<string, Alert[]>, list = [...candidates, ...other]) => new Map(list.map((c) => [c.id, { time: c.time.getTime(), alerts: alerts[c.id], artifacts: artifactsOf(c.id) }]));
  const policy = { keepLast: 1 };
  const decide = () => applyRetentionBySeries([...candidates, ...other], policy, t(10));

  it('keeps the whole series when its newest backup carries a guarding alert, and only that series', () => {
    const { decision, guarded } = guardRetention(decide(), info({ b4: [alert] }), false);
    expect(decision.remove.map((r) => r.id)).toEqual(['o2', 'o1']);
    expect(decision.keep.map((k) => [k.id, k.reasons])).toEqual([['b4', ['last']], ['o3', ['last']], ['b3', ['guarded']], ['b2', ['guarded']], ['b1', ['guarded']]]);
    expect(guarded).toEqual([{ series: 'app', backup: 'b4', alerts: [alert], spared: ['b3', 'b2', 'b1'], forced: false }]);
  });

  it('force overrides it (and says so); a duration or quota alert, or an alert on an older backup, guards nothing', () => {
    const forced = guardRetention(decide(), info({ b4: [alert] }), true);
    expect(forced.decision.remove.map((r) => r.id)).toEqual(['b3', 'o2', 'b2', 'o1', 'b1']);
    expect(forced.guarded[0]).toMatchObject({ backup: 'b4', forced: true });
    const slow: Alert = { ...alert, kind: 'duration' };
    expect(guardRetention(decide(), info({ b4: [slow] }), false).guarded).toEqual([]);
    expect(guardRetention(decide(), info({ b3: [alert] }), false).decision.remove).toHaveLength(5);
  });

  it('a size growth notifies but guards nothing; the same kind as a drop guards', () => {
    const grew: Alert = { kind: 'plaintext-size', subject: 'postgres-app', value: 1400, baseline: 1000, changePercent: 40, thresholdPercent: 20, message: 'postgres-app: plaintext size +40%' };
    expect(guardRetention(decide(), info({ b4: [grew, { ...grew, kind: 'stored-size' }] }), false)).toMatchObject({ guarded: [], decision: { remove: { length: 5 } } });
    const shrank: Alert = { ...grew, value: 600, changePercent: -40, message: 'postgres-app: plaintext size −40%' };
    expect(guardRetention(decide(), info({ b4: [grew, shrank] }), false).guarded).toEqual([expect.objectContaining({ series: 'app', alerts: [shrank], spared: ['b3', 'b2', 'b1'] })]);
  });

  it('with one series for everything (--group-by none), a newer backup of another source does not hide the alert', () => {
    const newer = [{ id: 'o5', time: t(5), complete: true, labels: [], series: 'all' }];
    const all = [...candidates, ...other].map((c) => ({ ...c, series: 'all' })).concat(newer);
    const decision = applyRetentionBySeries(all, { keepLast: 2 }, t(10));
    const { decision: d, guarded } = guardRetention(decision, info({ b4: [alert] }, all), false);
    expect(d.remove).toEqual([]);
    expect(guarded).toEqual([expect.objectContaining({ series: 'all', backup: 'b4', alerts: [alert], spared: ['o3', 'b3', 'o2', 'b2', 'o1', 'b1'] })]);
  });

  it('an alert on an artifact is lifted only by a newer backup of that same artifact without one', () => {
    // A row alert names `artifact table`; a newer backup of a different source is no release.
    const lifted = guardRetention(decide(), info({ b3: [alert] }), false);
    expect(lifted.guarded).toEqual([]);
    const notLifted = guardRetention(decide(), info({ b4: [alert], o3: [] }), false);
    expect(notLifted.guarded.map((g) => g.series)).toEqual(['app']);
  });

  it('prune keeps the history behind an alerting backup, says why, and --force prunes per the policy', async () => {
    const mem = new MemoryDestination();
    const dir = tree('guard', 60);
    const good: string[] = [];
    for (let i = 0; i < 3; i++) good.push((await backup(options(mem, dir))).id);
    tree('guard', 3);
    const bad = await backup(options(mem, dir));
    expect(bad.alerts.length).toBeGreaterThan(0);
    const reporter = new RecordingReporter();
    const kept = await prune({ destination: mem, policy: { keepLast: 1 }, dryRun: false, reporter });
    expect(kept.removed).toEqual([]);
    expect(kept.kept.filter((k) => k.reasons.includes('guarded')).map((k) => k.id).sort()).toEqual(good);
    expect(kept.guarded).toEqual([expect.objectContaining({ series: 'files-guard', backup: bad.id, spared: [...good].reverse(), forced: false })]);
    expect(reporter.lines).toContainEqual(expect.stringMatching(new RegExp(`^warning: series files-guard: nothing removed, 3 backup\\(s\\) kept by the retention guard — backup ${bad.id}, the newest of its data, carries drop alert\\(s\\): files-guard: plaintext size`)));
    const forced = await prune({ destination: mem, policy: { keepLast: 1 }, dryRun: false, reporter, force: true });
    expect(forced.removed.map((r) => r.id).sort()).toEqual(good);
    expect((await listBackups(mem, silentReporter)).map((e) => e.id)).toEqual([bad.id]);
  });

  it("the backup action's pruning is guarded too, by the backup it just made, unless force-prune", async () => {
    const mem = new MemoryDestination();
    const dir = tree('after', 60);
    for (let i = 0; i < 3; i++) await backup(options(mem, dir));
    tree('after', 2);
    const r = await backup(options(mem, dir));
    const outcomes: LocationOutcome[] = [{ location: mem.display, status: 'committed' }];
    expect(await pruneHolders([{ destination: mem, policy: { keepLast: 1 } }], [mem], outcomes, 'sources', undefined, silentReporter)).toEqual([]);
    expect(await listBackups(mem, silentReporter)).toHaveLength(4);
    expect(await pruneHolders([{ destination: mem, policy: { keepLast: 1 } }], [mem], outcomes, 'sources', undefined, silentReporter, true)).toHaveLength(3);
    expect((await listBackups(mem, silentReporter)).map((e) => e.id)).toEqual([r.id]);
  });
});
