import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seriesHistoryMarkdown, writeSeriesHistorySummary } from '../../src/actions/series-history.js';
import { readHistory } from '../../src/core/history.js';
import { mermaidSizeChart, seriesSummaryMarkdown } from '../../src/report/series-summary.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { RecordingReporter } from '../helpers/backup-fixtures.js';
import { alert, idAt, plantRepository, type PlantSpec } from '../helpers/history-fixtures.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

const nightly = (n: number): PlantSpec[] => Array.from({ length: n }, (_, i) => ({ at: i * 10, artifacts: ['files-media', 'postgres-app'], stored: 1024 * 1024 * (i + 1), duration: 5 + i }));

describe('the backup summary: recent backups of the series', () => {
  it('shows the last 10 of the series only, newest first, this backup marked, alerts marked, and a mermaid xychart', async () => {
    const dest = new MemoryDestination();
    await plantRepository(dest, [...nightly(12), { at: 500, artifacts: ['postgres-app'] }, { at: 600, artifacts: ['files-media', 'postgres-app'], stored: 100, alerts: [alert('stored size fell by 99%')] }]);
    const md = await seriesHistoryMarkdown(dest, idAt(600), 'sources', silentReporter);
    expect(md).toContain('<h3>Recent backups of series <code>files-media+postgres-app</code></h3>');
    const rows = md.match(/<tr><td>/g) ?? [];
    expect(rows).toHaveLength(10);
    expect(md).not.toContain(idAt(500)); // another series
    expect(md).not.toContain(idAt(20)); // older than the last 10
    expect(md.indexOf(idAt(600))).toBeLessThan(md.indexOf(idAt(110)));
    expect(md).toContain('2026-11-20 00:10:00Z (this backup)');
    expect(md).toContain('⚠️ stored size fell by 99%');
    expect(md).toContain('```mermaid\nxychart-beta\n  title "Stored size (MiB), last 10 backups"\n  x-axis ["11-20 00:00", ');
    expect(md).toMatch(/ {2}bar \[4, 5, 6, 7, 8, 9, 10, 11, 12, 0\]\n```/);
  });

  it('escapes user text in the table, keeps it out of the mermaid block', async () => {
    const dest = new MemoryDestination();
    await plantRepository(dest, [{ at: 1, stored: 10, alerts: [alert('<img src=x>')] }, { at: 2, stored: 20 }]);
    const h = await readHistory(dest, {}, silentReporter);
    const md = seriesSummaryMarkdown('a"<b>', h.rows, idAt(2));
    expect(md).toContain('&lt;img src=x&gt;');
    expect(md).toContain('a&quot;&lt;b&gt;');
    expect(mermaidSizeChart(h.rows)).toBe('```mermaid\nxychart-beta\n  title "Stored size (B), last 2 backups"\n  x-axis ["11-20 00:00", "11-20 00:00"]\n  y-axis "B" 0 --> 22\n  bar [10, 20]\n```\n');
  });

  describe('writeSeriesHistorySummary', () => {
    let dir: string;
    let saved: string | undefined;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sb-summary-'));
      saved = process.env.GITHUB_STEP_SUMMARY;
      process.env.GITHUB_STEP_SUMMARY = join(dir, 'summary.md');
      await writeFile(process.env.GITHUB_STEP_SUMMARY, '');
    });
    afterEach(async () => {
      if (saved === undefined) delete process.env.GITHUB_STEP_SUMMARY;
      else process.env.GITHUB_STEP_SUMMARY = saved;
      await rm(dir, { recursive: true, force: true });
    });

    it('appends the section to the job summary', async () => {
      const dest = new MemoryDestination();
      await plantRepository(dest, nightly(3));
      await writeSeriesHistorySummary(dest, idAt(20), 'sources', silentReporter);
      const text = await readFile(process.env.GITHUB_STEP_SUMMARY!, 'utf8');
      expect(text).toContain('Recent backups of series');
      expect(text).toContain('xychart-beta');
    });

    it('a listing that fails leaves the section out with a warning, and does not throw', async () => {
      const dest = new MemoryDestination();
      await plantRepository(dest, nightly(2));
      dest.list = async function* () {
        throw new Error('connection reset while listing');
      };
      const reporter = new RecordingReporter();
      await expect(writeSeriesHistorySummary(dest, idAt(10), 'sources', reporter)).resolves.toBeUndefined();
      expect(reporter.lines).toEqual([expect.stringMatching(/^warning: the job summary leaves out the recent backups of this series: reading the history at memory:\/\/test failed: connection reset while listing$/)]);
      expect(await readFile(process.env.GITHUB_STEP_SUMMARY!, 'utf8')).toBe('');
    });
  });
});
