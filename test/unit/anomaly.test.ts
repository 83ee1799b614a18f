import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, detectAnomalies, median } from '../../src/core/anomaly.js';
import type { ArtifactRecord, Manifest } from '../../src/core/types.js';

/** A backup of `app` (postgres) taken on day `day`, with sizes, duration, rows and entries as given. */
function backup(day: number, o: { size?: number; stored?: number; seconds?: number; rows?: Record<string, number> | null; mode?: 'exact' | 'estimate'; entries?: number; name?: string; host?: string; labels?: string[] } = {}): Manifest {
  const at = new Date(Date.UTC(2026, 0, day, 2)).toISOString();
  const art = (name: string, kind: string, source: ArtifactRecord['source'], extra: Partial<ArtifactRecord>): ArtifactRecord => ({
    name,
    kind,
    key: `${name}.zst.age`,
    source,
    compression: { algorithm: 'zstd' },
    encryption: { scheme: 'age' },
    plaintext: { size: o.size ?? 1000, sha256: '0'.repeat(64) },
    stored: { size: o.stored ?? o.size ?? 1000, sha256: '0'.repeat(64) },
    ...extra,
  });
  const artifacts: ArtifactRecord[] =
    o.entries !== undefined
      ? [art(o.name ?? 'files-media', 'files', { path: '/srv/media', entries: o.entries }, {})]
      : [art(o.name ?? 'postgres-app', 'postgres', { host: o.host ?? 'db', port: 5432, database: 'app' }, o.rows === null ? {} : { rowCounts: o.rows ?? { 'public.patients': 1000, 'public.visits': 5000 }, rowCountMode: o.mode ?? 'exact' })];
  return {
    format: '1.0',
    id: `${at.slice(0, 10).replace(/-/g, '')}T020000Z-00000${day % 10}`,
    labels: o.labels ?? [],
    startedAt: at,
    finishedAt: at,
    durationSeconds: o.seconds ?? 60,
    tool: { name: 'strongbox', version: 'test' },
    origin: { host: 'runner' },
    encryption: { scheme: 'age', recipients: [] },
    artifacts,
  };
}
const history = (n: number, o: Parameters<typeof backup>[1] = {}) => Array.from({ length: n }, (_, i) => backup(i + 1, o));
const kinds = (r: ReturnType<typeof detectAnomalies>) => r.alerts.map((a) => `${a.kind}${a.subject ? ` ${a.subject}` : ''}`);

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 100])).toBe(3.5);
    expect(median([7])).toBe(7);
  });
});

describe('anomaly alerts against the median of the series', () => {
  it('a backup like the usual ones raises nothing', () => {
    expect(detectAnomalies(backup(10), history(5)).alerts).toEqual([]);
  });

  it('a database emptied to a tenth: plaintext, stored and every table drop, with figures a user can read', () => {
    const r = detectAnomalies(backup(10, { size: 100, rows: { 'public.patients': 100, 'public.visits': 500 } }), history(5));
    expect(kinds(r)).toEqual(['plaintext-size postgres-app', 'stored-size postgres-app', 'rows postgres-app public.patients', 'rows postgres-app public.visits']);
    expect(r.alerts[0]).toMatchObject({ value: 100, baseline: 1000, changePercent: -90, thresholdPercent: 20 });
    expect(r.alerts[0]!.message).toBe('postgres-app: plaintext size 100 B, −90% against the usual 1000 B (threshold 20%)');
    expect(r.alerts[2]!.message).toBe('postgres-app: table public.patients has 100 rows, −90% against the usual 1000 (threshold 20%)');
  });

  it('the baseline is the median: one odd backup in the history does not move it', () => {
    const past = [...history(4), backup(5, { size: 10 })];
    expect(detectAnomalies(backup(10), past).alerts).toEqual([]);
    expect(kinds(detectAnomalies(backup(10, { size: 700 }), past))).toContain('plaintext-size postgres-app');
  });

  it('sizes alert both ways, only beyond the threshold', () => {
    expect(kinds(detectAnomalies(backup(10, { size: 1201 }), history(3)))).toEqual(['plaintext-size postgres-app', 'stored-size postgres-app']);
    expect(detectAnomalies(backup(10, { size: 1200 }), history(3)).alerts).toEqual([]);
    expect(detectAnomalies(backup(10, { size: 800 }), history(3)).alerts).toEqual([]);
    expect(detectAnomalies(backup(10, { size: 799 }), history(3)).alerts[0]).toMatchObject({ kind: 'plaintext-size', changePercent: -20.1 });
  });

  it('rows alert on drops only, and only for exact counts', () => {
    expect(detectAnomalies(backup(10, { rows: { 'public.patients': 5000, 'public.visits': 50000 } }), history(3)).alerts).toEqual([]);
    expect(detectAnomalies(backup(10, { rows: { 'public.patients': 10, 'public.visits': 10 }, mode: 'estimate' }), history(3)).alerts).toEqual([]);
    expect(detectAnomalies(backup(10, { rows: { 'public.patients': 10 } }), history(3, { mode: 'estimate' })).alerts).toEqual([]);
    expect(detectAnomalies(backup(10, { rows: null }), history(3)).alerts).toEqual([]);
  });

  it('a table gone from an exact count is a drop to 0; a table new in the history has no baseline yet', () => {
    expect(kinds(detectAnomalies(backup(10, { rows: { 'public.patients': 1000 } }), history(3)))).toEqual(['rows postgres-app public.visits']);
    const past = [...history(2), backup(3, { rows: { 'public.patients': 1000, 'public.visits': 5000, 'public.new': 9 } })];
    expect(detectAnomalies(backup(10, { rows: { 'public.patients': 1000, 'public.visits': 5000, 'public.new': 0 } }), past).alerts).toEqual([]);
  });

  it('file trees compare their entry counts (drops only)', () => {
    const past = history(3, { entries: 1661 });
    expect(detectAnomalies(backup(10, { entries: 1656 }), past).alerts).toEqual([]);
    expect(detectAnomalies(backup(10, { entries: 5000 }), past).alerts).toEqual([]);
    const r = detectAnomalies(backup(10, { entries: 166 }), past);
    expect(r.alerts).toEqual([expect.objectContaining({ kind: 'entries', subject: 'files-media', value: 166, baseline: 1661 })]);
  });

  it('duration alerts on growth beyond 50 % and at least 10 s, never on a faster run', () => {
    expect(kinds(detectAnomalies(backup(10, { seconds: 91 }), history(3)))).toEqual(['duration']);
    expect(detectAnomalies(backup(10, { seconds: 90 }), history(3)).alerts).toEqual([]);
    expect(detectAnomalies(backup(10, { seconds: 5 }), history(3)).alerts).toEqual([]);
    // 2 s → 6 s is +200 %, but a busy runner, not news.
    expect(detectAnomalies(backup(10, { seconds: 6 }), history(3, { seconds: 2 })).alerts).toEqual([]);
    expect(detectAnomalies(backup(10, { seconds: 6 }), history(3, { seconds: 2 }), { ...DEFAULT_THRESHOLDS, minDurationGrowthSeconds: 0 }).alerts[0]).toMatchObject({ kind: 'duration', value: 6, baseline: 2, changePercent: 200 });
  });

  it('0 switches each comparison off', () => {
    const emptied = backup(10, { size: 100, seconds: 600, rows: { 'public.patients': 1, 'public.visits': 1 } });
    expect(kinds(detectAnomalies(emptied, history(3), { ...DEFAULT_THRESHOLDS, sizeChangePercent: 0 }))).toEqual(['duration', 'rows postgres-app public.patients', 'rows postgres-app public.visits']);
    expect(kinds(detectAnomalies(emptied, history(3), { ...DEFAULT_THRESHOLDS, durationChangePercent: 0, rowsDropPercent: 0 }))).toEqual(['plaintext-size postgres-app', 'stored-size postgres-app']);
    expect(detectAnomalies(emptied, history(3), { sizeChangePercent: 0, durationChangePercent: 0, rowsDropPercent: 0 }).alerts).toEqual([]);
  });

  it('fewer than 3 earlier backups of the series: no alert, and says why', () => {
    const r = detectAnomalies(backup(10, { size: 1 }), history(2));
    expect(r.alerts).toEqual([]);
    expect(r.skipped).toMatch(/has 2 earlier complete backup\(s\) without a drop alert, 3 are needed/);
  });

  it('series are kept apart: another database, another set of artifacts or a later backup is no baseline', () => {
    const small = backup(10, { size: 100 });
    // The same database name on another server is another series.
    expect(detectAnomalies(small, history(5, { host: 'other', size: 1000 })).skipped).toBeDefined();
    // A files backup is not a baseline for a postgres one.
    expect(detectAnomalies(small, history(5, { entries: 10 })).skipped).toBeDefined();
    // Backups taken after this one (a wrong clock, a listing) and itself are left out.
    expect(detectAnomalies(backup(1, { size: 100 }), [backup(1), backup(2), backup(3), backup(4)]).skipped).toBeDefined();
    // Small history of its own beats a big unrelated one.
    expect(detectAnomalies(small, [...history(3, { size: 100, name: 'postgres-app' }), ...history(3, { host: 'other' }).map((m, i) => ({ ...m, id: `x${i}` }))]).alerts).toEqual([]);
  });

  it('with group-by labels, a labelled series is compared only with its label', () => {
    const nightly = history(3, { labels: ['nightly'] });
    const predeploy = backup(10, { size: 100, labels: ['pre-deploy'] });
    expect(detectAnomalies(predeploy, nightly, DEFAULT_THRESHOLDS, 'labels').skipped).toBeDefined();
    expect(detectAnomalies(predeploy, nightly, DEFAULT_THRESHOLDS, 'sources').alerts.length).toBeGreaterThan(0);
  });

  it('backups carrying a drop alert stay out of the baseline: an emptied database keeps alerting, night after night', () => {
    const past = history(4);
    // Ten nights of the emptied database, each compared with what came before it, as the backup does.
    for (let day = 5; day < 15; day++) {
      const r = detectAnomalies(backup(day, { size: 100, rows: { 'public.patients': 100, 'public.visits': 500 } }), past);
      expect(kinds(r), `night ${day}`).toEqual(['plaintext-size postgres-app', 'stored-size postgres-app', 'rows postgres-app public.patients', 'rows postgres-app public.visits']);
      expect(r.alerts[0]).toMatchObject({ baseline: 1000 });
      past.push({ ...backup(day, { size: 100 }), alerts: r.alerts });
    }
    // A growth alert is news, not a lost baseline: that backup still counts.
    const grown = history(3, { size: 1500 }).map((m) => ({ ...m, alerts: [{ kind: 'plaintext-size' as const, subject: 'postgres-app', value: 1500, baseline: 1000, changePercent: 50, thresholdPercent: 20, message: 'grew' }] }));
    expect(detectAnomalies(backup(10, { size: 1500 }), grown)).toMatchObject({ alerts: [], historyCount: 3 });
    expect(detectAnomalies(backup(10, { size: 1500 }), past.slice(4)).skipped).toMatch(/0 earlier complete backup\(s\) without a drop alert/);
  });

  it('the baseline is the last 7 backups: an old, bigger era no longer counts', () => {
    const past = [...history(5, { size: 5000 }).map((m, i) => ({ ...m, id: `old${i}`, startedAt: new Date(Date.UTC(2025, 0, i + 1)).toISOString() })), ...history(7)];
    expect(detectAnomalies(backup(20), past).alerts).toEqual([]);
  });
});
