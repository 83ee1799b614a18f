import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/shared/errors.js';
import { applyRetentionBySeries, type SeriesCandidate } from '../../src/core/retention.js';
import { parseGroupBy, seriesKeyOf, seriesNames, seriesOf } from '../../src/core/series.js';

const art = (name: string) => ({ name }) as never;
const manifest = (names: string[], labels: string[] = []) => ({ artifacts: names.map(art), labels });

function b(id: string, iso: string, series: string, labels: string[] = []): SeriesCandidate {
  return { id, time: new Date(iso), complete: true, labels, series };
}

describe('seriesOf', () => {
  it('is the sorted set of artifact names by default, whatever the manifest order', () => {
    expect(seriesOf(manifest(['postgres-app', 'files-uploads']))).toBe('files-uploads+postgres-app');
    expect(seriesOf(manifest(['files-uploads', 'postgres-app']))).toBe('files-uploads+postgres-app');
    expect(seriesOf(manifest(['postgres-app'], ['pre-release']))).toBe('postgres-app');
  });

  it('groups by labels, by both, or not at all', () => {
    const m = manifest(['postgres-app'], ['release-v2', 'pre-release']);
    expect(seriesOf(m, 'labels')).toBe('label:pre-release,release-v2');
    expect(seriesOf(manifest(['postgres-app']), 'labels')).toBe('(no labels)');
    expect(seriesOf(m, 'sources,labels')).toBe('postgres-app label:pre-release,release-v2');
    expect(seriesOf(m, 'none')).toBe('all');
  });

  it('--group-by accepts the documented values and refuses others with exit code 2', () => {
    expect(parseGroupBy(undefined)).toBe('sources');
    expect(parseGroupBy('')).toBe('sources');
    expect(parseGroupBy('labels, sources')).toBe('sources,labels');
    expect(parseGroupBy('none')).toBe('none');
    expect(() => parseGroupBy('host')).toThrow(UsageError);
    expect(() => parseGroupBy('paths', 'group-by')).toThrow(/group-by "paths" is not one of sources, labels, sources,labels, none/);
    expect(new UsageError('x').exitCode).toBe(2);
  });
});

describe('series keys carry the source identity (trial: same folder or database name, DATA LOSS)', () => {
  const files = (path: string) => ({ name: 'files-data', kind: 'files', source: { path } }) as never;
  const pg = (host: string) => ({ name: 'postgres-app', kind: 'postgres', source: { engine: 'postgresql', host, database: 'app' } }) as never;
  const m = (...artifacts: never[]) => ({ artifacts, labels: [] as string[] });

  it('two PostgreSQL databases named app on different ports are two series; prune keeps each newest', () => {
    const staging = m(pg('127.0.0.1:5433'));
    const prod = m(pg('127.0.0.1:5432'));
    expect(seriesKeyOf(staging)).not.toBe(seriesKeyOf(prod));
    expect(seriesKeyOf(prod)).toBe('postgres-app (127.0.0.1:5432/app)');
    const names = seriesNames([staging, prod, prod]);
    expect(names.get(seriesKeyOf(prod))).toBe('postgres-app (127.0.0.1:5432/app)');
    const now = new Date('2026-11-20T12:00:00Z');
    const d = applyRetentionBySeries(
      [b('prod-old', '2026-11-20T08:00:00Z', seriesKeyOf(prod)), b('staging', '2026-11-20T09:00:00Z', seriesKeyOf(staging)), b('prod-new', '2026-11-20T10:00:00Z', seriesKeyOf(prod))],
      { keepLast: 1 },
      now,
    );
    expect(d.keep.map((k) => k.id).sort()).toEqual(['prod-new', 'staging']);
    expect(d.remove.map((r) => r.id)).toEqual(['prod-old']);
  });

  it('the display name stays the artifact names unless two series would show the same one; labels and none ignore sources', () => {
    const x = m(files('/srv/x/data'));
    expect(seriesNames([x, m(files('/srv/x/data'))]).get(seriesKeyOf(x))).toBe('files-data');
    expect(seriesNames([x, m(files('/srv/y/data'))]).get(seriesKeyOf(x))).toBe('files-data (/srv/x/data)');
    expect(seriesKeyOf(m(files('/a'), pg('db:5432')))).toBe('files-data (/a)+postgres-app (db:5432/app)');
    expect(seriesKeyOf(x, 'none')).toBe('all');
    expect(seriesKeyOf(m(files('/a')), 'labels')).toBe(seriesKeyOf(m(files('/b')), 'labels'));
    // No password can reach the key: the manifest records host and database only.
    expect(seriesKeyOf(m(pg('db')))).toBe('postgres-app (db/app)');
  });
});

describe('retention per series', () => {
  const now = new Date('2026-11-20T12:00:00Z');
  // The repository: one nightly db+files backup, then three db-only pre-deploy snapshots.
  const repo = [
    b('files', '2026-11-20T08:00:00Z', 'files-src'),
    b('db1', '2026-11-20T09:00:00Z', 'postgres-app'),
    b('db2', '2026-11-20T10:00:00Z', 'postgres-app'),
    b('db3', '2026-11-20T11:00:00Z', 'postgres-app'),
  ];

  it('keeps the newest backup of every series; the rules count within each series', () => {
    const d = applyRetentionBySeries(repo, { keepLast: 2, keepDaily: 1 }, now);
    expect(d.keep.map((k) => k.id)).toEqual(['db3', 'db2', 'files']);
    expect(d.remove.map((r) => r.id)).toEqual(['db1']);
    expect(d.series).toMatchObject({ files: 'files-src', db1: 'postgres-app' });
  });

  it('a series whose only backup no rule would keep keeps it as its newest', () => {
    const d = applyRetentionBySeries(repo, { keepLast: 1 }, now);
    expect(d.keep.find((k) => k.id === 'files')?.reasons).toEqual(['last']);
    const within = applyRetentionBySeries([...repo, b('old', '2026-10-01T00:00:00Z', 'other')], { keepWithinMs: 3_600_000 }, now);
    expect(within.keep.map((k) => k.id)).toContain('old');
  });

  it('one series (none) reproduces the old behaviour', () => {
    const one = repo.map((x) => ({ ...x, series: 'all' }));
    expect(applyRetentionBySeries(one, { keepLast: 2 }, now).remove.map((r) => r.id)).toEqual(['db1', 'files']);
  });

  it('incomplete and future backups keep their handling', () => {
    const d = applyRetentionBySeries(
      [...repo, { id: 'half', time: new Date(0), complete: false, labels: [], lastModified: new Date('2026-11-10T00:00:00Z') }, b('ahead', '2026-12-01T00:00:00Z', 'files-src')],
      { keepLast: 1 },
      now,
    );
    expect(d.incompleteRemove.map((x) => x.id)).toEqual(['half']);
    expect(d.future.map((x) => x.id)).toEqual(['ahead']);
    expect(d.keep.map((k) => k.id)).toEqual(['db3', 'files']);
  });

  it('reports a --keep-label that matches no backup', () => {
    const d = applyRetentionBySeries([...repo, b('rel', '2026-11-19T00:00:00Z', 'postgres-app', ['pre-release'])], { keepLast: 1, keepLabels: ['pre-release', 'nightyl'] }, now);
    expect(d.unmatchedLabels).toEqual(['nightyl']);
    expect(d.keep.map((k) => k.id)).toContain('rel');
  });

  it('refuses a label-only policy when a label matches nothing, naming it and the labels there are', () => {
    const labelled = [...repo, b('rel', '2026-11-19T00:00:00Z', 'postgres-app', ['pre-release'])];
    let err: unknown;
    try {
      applyRetentionBySeries(labelled, { keepLabels: ['pre-relase'] }, now);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as UsageError).message).toMatch(/--keep-label pre-relase matches no backup.*nothing was deleted/);
    expect((err as UsageError).hint).toMatch(/labels in this repository: pre-release/);
    // A label that matches is fine on its own.
    expect(applyRetentionBySeries(labelled, { keepLabels: ['pre-release'] }, now).keep.map((k) => k.id)).toContain('rel');
  });

  it('refuses a backup listed twice, even in different series', () => {
    expect(() => applyRetentionBySeries([b('x', '2026-11-20T08:00:00Z', 'a'), b('x', '2026-11-20T09:00:00Z', 'b')], { keepLast: 1 }, now)).toThrow(/listed twice/);
  });
});
