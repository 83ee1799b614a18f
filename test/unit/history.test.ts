import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { buildHistory, readHistory, shortSeriesNames, type History } from '../../src/core/history.js';
import { listBackups } from '../../src/core/repository.js';
import { formatHistory } from '../../src/report/history-text.js';
import { historyHtml } from '../../src/report/history-html.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { alert, folderWriter, idAt, plantRepository, type PlantSpec } from '../helpers/history-fixtures.js';

const DB = ['postgres-app'];
const BOTH = ['files-media', 'postgres-app'];

/** Three nightly db+files backups (the last one shrank, with an alert), two db-only snapshots, one damaged, one incomplete. */
async function repository(): Promise<MemoryDestination> {
  const dest = new MemoryDestination();
  const specs: PlantSpec[] = [
    { at: 10, artifacts: BOTH, stored: 1000, plaintext: 4000, duration: 10, labels: ['nightly'], metadata: { release: 'v1.4.1' } },
    { at: 20, artifacts: DB, stored: 300, plaintext: 900, duration: 3, labels: ['pre-release'] },
    { at: 30, artifacts: BOTH, stored: 1100, plaintext: 4200, duration: 11, labels: ['nightly'], metadata: { release: 'v1.4.2' } },
    { at: 40, artifacts: DB, stored: 310, plaintext: 910, duration: 3, labels: ['pre-release'] },
    { at: 50, artifacts: BOTH, stored: 100, plaintext: 400, duration: 2, labels: ['nightly'], alerts: [alert('stored size 100 B is 90% below the usual 1000 B')] },
  ];
  await plantRepository(dest, specs);
  // A manifest that does not parse (damaged), and a folder with no manifest (an interrupted run).
  await dest.putBytes(`${idAt(45)}/manifest.json`, Buffer.from('{not json'));
  await dest.putBytes(`${idAt(60)}/postgres-app.zst`, Buffer.alloc(10));
  return dest;
}

describe('history rows', () => {
  it('has one row per backup, oldest first, with sizes, duration, labels, metadata and alerts; incomplete folders are no rows, damaged ones are marked', async () => {
    const h = await readHistory(await repository(), {}, silentReporter);
    // A damaged backup has no manifest time: it sorts by its objects' time (written now, so last).
    expect(h.rows.map((r) => r.id)).toEqual([idAt(10), idAt(20), idAt(30), idAt(40), idAt(50), idAt(45)]);
    expect(h.rows.map((r) => r.id)).not.toContain(idAt(60));
    const first = h.rows[0]!;
    expect(first).toMatchObject({ series: 'files-media+postgres-app', labels: ['nightly'], storedBytes: 1000, plaintextBytes: 4000, durationSeconds: 10, metadata: { release: 'v1.4.1' }, alerts: [] });
    expect(first.time).toBe('2026-11-20T00:00:10.000Z');
    expect(h.rows[1]!.series).toBe('postgres-app');
    const damaged = h.rows.find((r) => r.id === idAt(45))!;
    expect(damaged.damaged).toMatch(/not valid JSON/);
    expect(damaged.series).toBeNull();
    expect(h.rows.find((r) => r.id === idAt(50))!.alerts.map((a) => a.message)).toEqual(['stored size 100 B is 90% below the usual 1000 B']);
  });

  it('totals per series and for the repository; a damaged backup counts as damaged, not in a series', async () => {
    const h = await readHistory(await repository(), {}, silentReporter);
    expect(h.series).toEqual([
      { series: 'files-media+postgres-app', seriesShort: 'files-media+postgres-app', backups: 3, storedBytes: 2200, plaintextBytes: 8600, alerts: 1, first: '2026-11-20T00:00:10.000Z', last: '2026-11-20T00:00:50.000Z' },
      { series: 'postgres-app', seriesShort: 'postgres-app', backups: 2, storedBytes: 610, plaintextBytes: 1810, alerts: 0, first: '2026-11-20T00:00:20.000Z', last: '2026-11-20T00:00:40.000Z' },
    ]);
    expect(h.totals).toEqual({ backups: 5, damaged: 1, series: 2, storedBytes: 2810, plaintextBytes: 10410, alerts: 1 });
  });

  it('--series and --label narrow the rows and the totals; a damaged backup is still shown (it may be the one that matters)', async () => {
    const dest = await repository();
    const bySeries = await readHistory(dest, { series: 'postgres-app' }, silentReporter);
    expect(bySeries.rows.filter((r) => !r.damaged).map((r) => r.id)).toEqual([idAt(20), idAt(40)]);
    expect(bySeries.rows.some((r) => r.damaged)).toBe(true);
    expect(bySeries.totals).toMatchObject({ backups: 2, series: 1, storedBytes: 610 });
    const byLabel = await readHistory(dest, { label: 'nightly' }, silentReporter);
    expect(byLabel.rows.filter((r) => !r.damaged).map((r) => r.id)).toEqual([idAt(10), idAt(30), idAt(50)]);
    expect((await readHistory(dest, { series: 'nope' }, silentReporter)).totals.backups).toBe(0);
  });

  it('--group-by labels makes series of labels', async () => {
    const h = await readHistory(await repository(), { groupBy: 'labels' }, silentReporter);
    expect(h.series.map((s) => [s.series, s.backups])).toEqual([
      ['label:nightly', 3],
      ['label:pre-release', 2],
    ]);
  });

  it('two databases with the same artifact name on different servers are two series, told apart by their source', async () => {
    const dest = new MemoryDestination();
    const [a, b] = await plantRepository(dest, [{ at: 1 }, { at: 2 }]);
    // Rewrite the second manifest's host.
    b!.artifacts[0]!.source = { ...b!.artifacts[0]!.source, host: '10.0.0.9:5432' };
    await dest.putBytes(`${b!.id}/manifest.json`, Buffer.from(JSON.stringify(b)));
    const h = buildHistory(await listBackups(dest, silentReporter), dest.display);
    expect(h.series).toHaveLength(2);
    expect(new Set(h.rows.map((r) => r.series)).size).toBe(2);
    expect(h.rows[0]!.id).toBe(a!.id);
  });
});

describe('short series names', () => {
  it('keeps short names, abbreviates a long set of artifact names to a readable unique form', () => {
    const long = 'files-media+files-uploads+mysql-billing+postgres-app+sqlite-cache';
    const long2 = 'files-media+files-uploads+mysql-billing+postgres-app+sqlite-other';
    const m = shortSeriesNames(['postgres-app', long, long2]);
    expect(m.get('postgres-app')).toBe('postgres-app');
    expect(m.get(long)!.length).toBeLessThanOrEqual(40);
    expect(m.get(long)).toMatch(/^files-media\+files-uploads.* \+\d$/);
    expect(m.get(long2)).not.toBe(m.get(long));
    expect(new Set(m.values()).size).toBe(3);
  });
});

describe('history as text', () => {
  it('shows each backup, its alerts below it, the damaged one, the series totals and the repository total', async () => {
    const text = formatHistory(await readHistory(await repository(), {}, silentReporter));
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/^TIME\s+BACKUP\s+SERIES\s+STORED\s+PLAINTEXT\s+DURATION\s+ALERTS/);
    expect(text).toContain(`2026-11-20 00:00:10Z  ${idAt(10)}  files-media+postgres-app  1000 B`);
    expect(text).toMatch(/nightly release=v1\.4\.1/);
    expect(text).toMatch(new RegExp(`${idAt(50)}.*! 1`));
    expect(text).toContain('    ! stored size 100 B is 90% below the usual 1000 B');
    expect(text).toMatch(new RegExp(`${idAt(45)}\\s+DAMAGED`));
    expect(text).toContain('files-media+postgres-app: 3 backup(s), stored 2.1 KiB, plaintext 8.4 KiB, 1 alert(s)');
    expect(text).toContain('repository: 5 backup(s) in 2 series, 1 DAMAGED, stored 2.7 KiB');
  });

  it('escapes control characters from labels and metadata (no terminal escape, no workflow command)', async () => {
    const dest = new MemoryDestination();
    await plantRepository(dest, [{ at: 1, labels: ['x\n::error::boom'], metadata: { env: '\u001b[31mred' } }]);
    const text = formatHistory(await readHistory(dest, {}, silentReporter));
    expect(text).not.toContain('\u001b');
    expect(text).not.toMatch(/^::error::/m);
    expect(text).toContain('x\\n::error::boom');
  });
});

describe('history as HTML', () => {
  const page = async (specs: PlantSpec[]) => {
    const dest = new MemoryDestination();
    await plantRepository(dest, specs);
    return historyHtml(await readHistory(dest, {}, silentReporter), new Date('2026-11-21T00:00:00Z'));
  };

  it('is one page that loads nothing: a CSP of default-src none, no src/href, no script', async () => {
    const html = await page([{ at: 1 }, { at: 2, artifacts: BOTH }]);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).not.toMatch(/<script|\ssrc=|\shref=|@import|url\(/i);
  });

  it('has a size and a duration chart per series, with a point per backup, and alerted points marked', async () => {
    const html = await page([{ at: 1 }, { at: 2 }, { at: 3, alerts: [alert('smaller')] }, { at: 4, artifacts: BOTH }]);
    const charts = [...html.matchAll(/<svg [^>]*data-series="([^"]*)" data-chart="(size|duration)"/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(charts.sort()).toEqual(['files-media+postgres-app:duration', 'files-media+postgres-app:size', 'postgres-app:duration', 'postgres-app:size']);
    const pgSize = html.slice(html.indexOf('data-series="postgres-app" data-chart="size"'));
    // Two lines (stored, plaintext) of three points each; the alerted backup's points are marked.
    expect((pgSize.slice(0, pgSize.indexOf('</svg>')).match(/<circle /g) ?? []).length).toBe(6);
    expect((pgSize.slice(0, pgSize.indexOf('</svg>')).match(/class="point alert"/g) ?? []).length).toBe(2);
    expect(html).toMatch(/<tr class="backup alert" data-id="[^"]+"/);
  });

  it('escapes labels, metadata and alert messages (user text) so none becomes markup', async () => {
    const html = await page([{ at: 1, labels: ['<script>alert(1)</script>'], metadata: { note: '"><img src=x onerror=alert(2)>' }, alerts: [alert('<b>bold</b>')] }]);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>bold');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
  });
});

describe('strongbox history (CLI)', () => {
  let dir: string;
  let out: string;
  let err: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-history-'));
    out = '';
    err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  it('--json prints rows, series and totals; --html writes the page; --series filters', async () => {
    const repo = join(dir, 'repo');
    await plantRepository(folderWriter(repo), [{ at: 1 }, { at: 2, artifacts: BOTH }, { at: 3 }]);
    expect(await main(['history', '--from', repo, '--json', '--html', join(dir, 'h.html')], {})).toBe(0);
    const h = JSON.parse(out) as History;
    expect(h.rows.map((r) => r.id)).toEqual([idAt(1), idAt(2), idAt(3)]);
    expect(h.totals).toMatchObject({ backups: 3, series: 2 });
    expect(await readFile(join(dir, 'h.html'), 'utf8')).toContain(idAt(2));
    expect(err).toContain(`wrote ${join(dir, 'h.html')}: 3 backup(s) in 2 series`);
    out = '';
    expect(await main(['history', '--from', repo, '--series', 'postgres-app'], {})).toBe(0);
    expect(out).toContain(idAt(3));
    expect(out).not.toContain(idAt(2));
  });

  it('an unknown series exits 4 naming it and listing the series there are; an unwritable --html exits 2 naming the file', async () => {
    const repo = join(dir, 'repo');
    await plantRepository(folderWriter(repo), [{ at: 1 }]);
    expect(await main(['history', '--from', repo, '--series', 'nope'], {})).toBe(4);
    expect(err).toContain('no backup at');
    expect(err).toContain('is in series nope');
    expect(err).toContain('hint: the series there: postgres-app');
    expect(out).toBe('');
    expect(await main(['history', '--from', repo, '--html', join(dir, 'missing', 'h.html')], {})).toBe(2);
    expect(err).toMatch(/cannot write --html .*missing\/h\.html: ENOENT/);
  });

  it('a location without a repository exits 4, as list does', async () => {
    expect(await main(['history', '--from', join(dir, 'empty')], {})).toBe(4);
    expect(err).toContain('no Strongbox repository at');
  });

  it('--group-by with an unknown value exits 2', async () => {
    const repo = join(dir, 'repo');
    await plantRepository(folderWriter(repo), [{ at: 1 }]);
    expect(await main(['history', '--from', repo, '--group-by', 'host'], {})).toBe(2);
    expect(err).toContain('--group-by "host" is not one of');
  });
});

describe('history edge cases', () => {
  it('an empty repository: text says no backups, the page renders with zero totals and no chart', async () => {
    const dest = new MemoryDestination();
    await plantRepository(dest, []);
    const h = await readHistory(dest, {}, silentReporter);
    expect(formatHistory(h)).toBe('history of memory://test (series by sources)\nno backups\n');
    const html = historyHtml(h, new Date('2026-11-21T00:00:00Z'));
    expect(html).not.toContain('<svg');
    expect(html).not.toMatch(/NaN|Infinity/);
    expect(html).toMatch(/<th>Repository<\/th><th class="num">0<\/th>/);
  });

  it('one backup in a series, or all of zero size and duration: the chart has its point, and no NaN or Infinity', async () => {
    const h = buildHistory([], 'x');
    expect(h.rows).toEqual([]);
    const dest = new MemoryDestination();
    await plantRepository(dest, [{ at: 1, stored: 0, plaintext: 0, duration: 0 }]);
    const html = historyHtml(await readHistory(dest, {}, silentReporter), new Date());
    expect(html).not.toMatch(/NaN|Infinity/);
    expect((html.match(/<circle /g) ?? []).length).toBe(3);
  });
});
