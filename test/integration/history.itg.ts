import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { History } from '../../src/core/history.js';
import type { Manifest } from '../../src/core/types.js';
import { alert } from '../helpers/history-fixtures.js';

/**
 * Real backups (two series of file trees of different sizes, made by the CLI) read back by
 * `strongbox history`, and its --html page opened in Debian's headless Chromium: the charts
 * draw for each series, the table matches the backups, alerts are marked, nothing leaves the page.
 */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let work: string;
let repo: string;
const ids: { id: string; series: string }[] = [];
let alerted: string;

/** The CLI in-process; stdout and stderr captured. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    const code = await main(args, { ...process.env, GITHUB_SHA: '', GITHUB_REF: '', GITHUB_RUN_ID: '', GITHUB_REPOSITORY: '' });
    return { code, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongbox-history-'));
  repo = join(work, 'repo');
  const data = join(work, 'data');
  const media = join(work, 'media');
  await mkdir(data);
  await mkdir(media);
  await writeFile(join(media, 'logo.png'), randomBytes(50_000));
  // The data tree grows from backup to backup (incompressible bytes, so stored sizes differ too).
  for (const [i, size] of [20_000, 60_000, 120_000].entries()) {
    await writeFile(join(data, `part-${i}.bin`), randomBytes(size));
    const id = await ok(['backup', '--to', repo, '--init', '--files', data, '--unencrypted', '--label', 'nightly', '--meta', `release=v1.${i}`]);
    ids.push({ id, series: 'files-data' });
    if (i < 2) ids.push({ id: await ok(['backup', '--to', repo, '--files', data, '--files', media, '--unencrypted']), series: 'files-data+files-media' });
  }
  // An alert on the second nightly backup: the alerts part records them; until it is merged, one is planted.
  alerted = ids.filter((x) => x.series === 'files-data')[1]!.id;
  const file = join(repo, alerted, 'manifest.json');
  const m = JSON.parse(await readFile(file, 'utf8')) as Manifest;
  if (!m.alerts?.length) {
    m.alerts = [alert('stored size <grew> by 200% against the usual', 'stored-size')];
    await writeFile(file, JSON.stringify(m, null, 2) + '\n');
  }
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('strongbox history of real backups', () => {
  it('--json: one row per backup in each series, sizes as the manifests record them, totals adding up', async () => {
    const h = JSON.parse(await ok(['history', '--from', repo, '--json'])) as History;
    expect(h.rows.map((r) => [r.id, r.series])).toEqual(ids.map((x) => [x.id, x.series]));
    const data = h.rows.filter((r) => r.series === 'files-data');
    expect(data.map((r) => r.storedBytes)).toEqual([...data.map((r) => r.storedBytes)].sort((a, b) => a - b));
    expect(data[2]!.storedBytes).toBeGreaterThan(data[0]!.storedBytes + 100_000);
    expect(data.every((r) => r.durationSeconds > 0 && r.labels.includes('nightly'))).toBe(true);
    expect(data.map((r) => r.metadata.release)).toEqual(['v1.0', 'v1.1', 'v1.2']);
    expect(h.rows.find((r) => r.id === alerted)!.alerts).toHaveLength(1);
    expect(h.series.map((s) => [s.series, s.backups])).toEqual([
      ['files-data', 3],
      ['files-data+files-media', 2],
    ]);
    expect(h.totals.storedBytes).toBe(h.rows.reduce((n, r) => n + r.storedBytes, 0));
    const show = JSON.parse(await ok(['show', '--from', repo, '--backup', alerted, '--json']));
    expect(show.storedBytes).toBe(h.rows.find((r) => r.id === alerted)!.storedBytes);
    expect(show.artifacts[0].stored.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('--series that matches nothing exits 4 and lists the series there are; --html prints where the page went, not the table', async () => {
    const miss = await cli(['history', '--from', repo, '--series', 'files-dtaa']);
    expect(miss.code).toBe(4);
    expect(miss.stdout).toBe('');
    expect(miss.stderr).toContain('is in series files-dtaa');
    expect(miss.stderr).toMatch(/hint: the series there: files-data, .*files-data\+files-media/);
    const page = join(work, 'only.html');
    const r = await cli(['history', '--from', repo, '--html', page]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`wrote ${page}: 5 backup(s) in 2 series\n`);
    expect((await stat(page)).size).toBeGreaterThan(1000);
  });

  const why = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is absent here (bash .ci/run installs Debian's chromium)`;
  describe.skipIf(!!why)(`the --html page in headless Chromium${why ? ` (skipped: ${why})` : ''}`, () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
    });

    it('draws size and duration charts for each series, lists every backup, marks the alert, and loads nothing', async () => {
      const page = join(work, 'history.html');
      await ok(['history', '--from', repo, '--html', page]);
      const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const requests: string[] = [];
      tab.on('request', (r) => requests.push(r.url()));
      const url = pathToFileURL(page).href;
      await tab.goto(url);
      // The only request is the page itself.
      expect(requests).toEqual([url]);

      for (const series of ['files-data', 'files-data+files-media']) {
        for (const chart of ['size', 'duration']) {
          const svg = tab.locator(`svg[data-series="${series}"][data-chart="${chart}"]`);
          await expect(svg.count(), `${series} ${chart}`).resolves.toBe(1);
          const count = ids.filter((x) => x.series === series).length;
          // One point per backup on each line (size: stored and plaintext), each drawn with a size.
          const points = svg.locator('circle.point');
          expect(await points.count()).toBe(count * (chart === 'size' ? 2 : 1));
          for (const box of await Promise.all((await points.all()).map((p) => p.boundingBox()))) expect(box!.width * box!.height).toBeGreaterThan(0);
          for (const line of await svg.locator('path.line').all()) {
            const box = (await line.boundingBox())!;
            expect(box.width, `${series} ${chart} line`).toBeGreaterThan(10);
          }
        }
      }
      const rows = await tab.locator('table.backups tr.backup').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
      expect(rows).toEqual(ids.map((x) => x.id).reverse());
      expect(await tab.locator('table.backups tr.alert').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')))).toEqual([alerted]);
      // The alert's text is shown as text, not markup; its points are drawn as alerts.
      expect(await tab.locator('tr.alert ul.alerts li').innerText()).toBe('stored size <grew> by 200% against the usual');
      expect(await tab.locator('svg[data-series="files-data"][data-chart="size"] circle.point.alert').count()).toBe(2);
      const shot = join(tmpdir(), `strongbox-history-${process.pid}.png`);
      await tab.screenshot({ path: shot, fullPage: true });
      expect((await stat(shot)).size).toBeGreaterThan(10_000);
      expect(requests).toEqual([url]);
      await tab.close();
    });
  });
});
