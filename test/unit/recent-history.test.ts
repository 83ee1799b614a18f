import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriesHistoryMarkdown } from '../../src/actions/series-history.js';
import { HISTORY_WINDOW } from '../../src/core/anomaly.js';
import { backup, type BackupOptions } from '../../src/core/backup.js';
import { newBackupId } from '../../src/core/backup-id.js';
import { serializeManifest } from '../../src/core/manifest.js';
import { MAX_HISTORY_READS, readRecentHistory } from '../../src/core/recent-history.js';
import type { Manifest } from '../../src/core/types.js';
import type { Reporter } from '../../src/shared/reporter.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { idAt, plantRepository, type PlantSpec } from '../helpers/history-fixtures.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

/**
 * Review finding: every backup read every manifest of the repository before committing
 * (thousands of GETs on S3 with hourly backups kept a year). The history the anomaly check and
 * the series summary need is read newest first and stops at the window, or at a cap.
 */
class CountingDestination extends MemoryDestination {
  manifestReads = 0;
  override async getBytes(key: string): Promise<Uint8Array | undefined> {
    if (key.endsWith('/manifest.json')) this.manifestReads++;
    return super.getBytes(key);
  }
}

const debugLines = (): Reporter & { lines: string[] } => {
  const lines: string[] = [];
  return { lines, debug: (m) => lines.push(m), info() {}, warning: (m) => lines.push(`warning: ${m}`), error() {}, setSecret() {} };
};

const thousand = (artifacts = ['postgres-app']): PlantSpec[] => Array.from({ length: 1000 }, (_, i) => ({ at: i * 60, artifacts }));

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-recent-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the bounded history read', () => {
  it('of 1,000 backups of one series reads the newest 7, newest first', async () => {
    const dest = new CountingDestination();
    await plantRepository(dest, thousand());
    dest.manifestReads = 0;
    const r = await readRecentHistory(dest, { wanted: () => true, limit: HISTORY_WINDOW }, silentReporter);
    expect(dest.manifestReads).toBe(HISTORY_WINDOW);
    expect(r.manifests.map((m) => m.id)).toEqual([999, 998, 997, 996, 995, 994, 993].map((i) => idAt(i * 60)));
    expect(r.capped).toBe(false);
  });

  it('stops at the cap when the series is not among the newest, and says so at debug', async () => {
    const dest = new CountingDestination();
    await plantRepository(dest, thousand());
    dest.manifestReads = 0;
    const reporter = debugLines();
    const r = await readRecentHistory(dest, { wanted: (m) => m.artifacts[0]!.name === 'files-other', limit: HISTORY_WINDOW }, reporter);
    expect(dest.manifestReads).toBe(MAX_HISTORY_READS);
    expect(r).toMatchObject({ manifests: [], reads: MAX_HISTORY_READS, capped: true });
    expect(reporter.lines).toContainEqual(expect.stringMatching(/^history at memory:\/\/test: stopped after reading 200 manifest\(s\), 0 of the 7 wanted found/));
  });

  it("the action's series summary reads the backup and the 10 before it, not the repository", async () => {
    const dest = new CountingDestination();
    await plantRepository(dest, thousand());
    dest.manifestReads = 0;
    const md = await seriesHistoryMarkdown(dest, idAt(999 * 60), 'sources', silentReporter);
    expect((md.match(/<tr><td>/g) ?? []).length).toBe(10);
    expect(md).toContain(`${idAt(999 * 60)}</code>`);
    expect(md).not.toContain(idAt(989 * 60));
    expect(dest.manifestReads).toBeLessThanOrEqual(11);
  });
});

describe('the backup reads only its window before committing', () => {
  const tree = () => {
    const dir = join(work, 'data');
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, `f${i}.txt`), `data ${i} `.repeat(30));
    return dir;
  };
  const t0 = Date.UTC(2026, 5, 1);
  const options = (dest: MemoryDestination, dir: string, at: number, reporter: Reporter = silentReporter): BackupOptions => {
    let t = at;
    return { destinations: [dest], sources: [{ kind: 'files', location: dir }], compression: { algorithm: 'gzip' }, labels: [], origin: { host: 'test' }, reporter, init: true, now: () => new Date((t += 1000)) };
  };

  it('1,000 earlier backups of its series: 7 manifests read, and the alerts still come from them', async () => {
    const dest = new CountingDestination();
    const dir = tree();
    const first = await backup(options(dest, dir, t0));
    // 999 more of the same series (the first backup's manifest, re-dated), one an hour.
    for (let i = 1; i < 1000; i++) {
      const m: Manifest = { ...first.manifest, id: newBackupId(new Date(t0 + i * 3_600_000)), startedAt: new Date(t0 + i * 3_600_000).toISOString() };
      await dest.putBytes(`${m.id}/manifest.json`, serializeManifest(m));
    }
    writeFileSync(join(dir, 'f0.txt'), 'x'); // a little smaller: no alert expected
    dest.manifestReads = 0;
    const r = await backup(options(dest, dir, t0 + 1000 * 3_600_000));
    expect(dest.manifestReads).toBe(HISTORY_WINDOW);
    expect(r.alerts).toEqual([]);
    rmSync(join(dir), { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, 'only.txt'), 'x');
    dest.manifestReads = 0;
    const emptied = await backup(options(dest, dir, t0 + 1001 * 3_600_000));
    expect(dest.manifestReads).toBe(HISTORY_WINDOW);
    expect(emptied.alerts.map((a) => a.kind)).toEqual(expect.arrayContaining(['plaintext-size', 'entries']));
  });

  it('1,000 backups of other series: the read stops at the cap, with a debug line', async () => {
    const dest = new CountingDestination();
    await plantRepository(dest, thousand());
    const reporter = debugLines();
    dest.manifestReads = 0;
    const r = await backup(options(dest, tree(), Date.UTC(2026, 11, 1), reporter));
    expect(dest.manifestReads).toBe(MAX_HISTORY_READS);
    expect(r.alerts).toEqual([]);
    expect(reporter.lines).toContainEqual(expect.stringMatching(/stopped after reading 200 manifest\(s\)/));
  });
});
