import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import type { Manifest } from '../../src/core/types.js';
import type { Alert } from '../../src/shared/alert.js';
import type { RunEvent } from '../../src/notify/event.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startCaptureServer } from '../helpers/notify-servers.js';
import { testDatabases, type TestDatabase } from '../helpers/pg.js';

/**
 * Issue 10 §2 end to end, through the CLI as a user runs it: a history of real backups of a
 * real PostgreSQL database, then the database emptied by accident to a tenth of its rows. The
 * next backup must say so (size and row alerts in --json and in its manifest), prune must keep
 * the good backups and say why, `--force` must prune by the rules, and `--fail-on-alert` must
 * exit 9 with the backup committed.
 */
const dbs = testDatabases();
let db: TestDatabase;
let work: string;
let repo: string;
const key = generateIdentity();

const cli = (args: string[]): Promise<CliResult> => runCli(args);
const backupArgs = () => ['backup', '--to', repo, '--init', '--postgres', db.url, '--recipient', key.recipient, '--json'];
const complete = () => readdirSync(repo).filter((n) => /^\d{8}T/.test(n) && existsSync(join(repo, n, 'manifest.json'))).sort();
const manifest = (id: string) => JSON.parse(readFileSync(join(repo, id, 'manifest.json'), 'utf8')) as Manifest;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-alerts-itg-'));
  repo = join(work, 'repo');
  // Rows of incompressible-ish text, so the dump's size follows the row count.
  db = await dbs.create('alerts', `CREATE TABLE patients (id serial PRIMARY KEY, note text NOT NULL);
    INSERT INTO patients (note) SELECT md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 20000) g;`);
}, 60_000);
afterAll(async () => {
  await dbs.dropAll();
  rmSync(work, { recursive: true, force: true });
});

describe('anomaly alerts and the retention guard (PostgreSQL)', () => {
  const good: string[] = [];
  let emptied: { id: string; alerts: Alert[] };

  it('three ordinary backups raise nothing', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await cli(backupArgs());
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { id: string; alerts: Alert[] };
      expect(out.alerts).toEqual([]);
      good.push(out.id);
    }
  }, 120_000);

  it('the database emptied to a tenth: size and row alerts in --json, warned, and in the manifest', async () => {
    await db.sql('DELETE FROM patients WHERE id % 10 <> 0');
    const r = await cli(backupArgs());
    expect(r.code, r.stderr).toBe(0);
    emptied = JSON.parse(r.stdout) as { id: string; alerts: Alert[] };
    const kinds = emptied.alerts.map((a) => `${a.kind} ${a.subject}`);
    expect(kinds).toEqual(expect.arrayContaining([expect.stringMatching(/^plaintext-size postgres-/), expect.stringMatching(/^stored-size postgres-/), expect.stringMatching(/^rows postgres-\S+ public\.patients$/)]));
    const rows = emptied.alerts.find((a) => a.kind === 'rows')!;
    expect(rows).toMatchObject({ value: 2000, baseline: 20000, changePercent: -90, thresholdPercent: 20 });
    expect(r.stderr).toMatch(/warning: alert: postgres-\S+: table public\.patients has 2000 rows, −90% against the usual 20000/);
    expect(manifest(emptied.id).alerts).toEqual(emptied.alerts);
    // The earlier manifests, written before, have none: older readers and writers still agree.
    expect(manifest(good[0]!).alerts).toBeUndefined();
  }, 60_000);

  it('--fail-on-alert exits 9, and the backup is committed all the same', async () => {
    const r = await cli([...backupArgs(), '--fail-on-alert']);
    expect(r.code, r.stderr).toBe(9);
    const out = JSON.parse(r.stdout) as { id: string; alerts: Alert[] };
    expect(out.alerts.some((a) => a.kind === 'rows')).toBe(true);
    expect(complete()).toContain(out.id);
    expect((await cli(['verify', '--from', repo, '--backup', out.id])).code).toBe(0);
  }, 60_000);

  it('prune keeps the whole series and says why; --force then prunes by the rules', async () => {
    const before = complete();
    expect(before).toHaveLength(5);
    const kept = await cli(['prune', '--from', repo, '--keep-last', '1']);
    expect(kept.code, kept.stderr).toBe(0);
    expect(complete()).toEqual(before);
    expect(kept.stderr).toMatch(/warning: series postgres-\S+: nothing removed, 4 backup\(s\) kept by the retention guard — backup \S+, the newest of its data, carries drop alert\(s\): .*table public\.patients has 2000 rows/);
    expect(kept.stdout).toMatch(/guarded: series postgres-\S+, drop alert\(s\) on backup /);
    for (const id of good) expect(kept.stdout).toMatch(new RegExp(`keep   ${id} \\S+  \\(guarded\\)`));

    const json = JSON.parse((await cli(['prune', '--from', repo, '--keep-last', '1', '--dry-run', '--json'])).stdout) as { removed: unknown[]; guarded: { spared: string[]; forced: boolean }[] };
    expect(json.removed).toEqual([]);
    // As a set: backups started in the same second have ids whose order within it is random.
    expect(json.guarded).toEqual([expect.objectContaining({ forced: false })]);
    const byStart = [...before].sort((a, b) => manifest(a).startedAt.localeCompare(manifest(b).startedAt));
    expect([...json.guarded[0].spared].sort()).toEqual(byStart.slice(0, 4).sort());

    const forced = await cli(['prune', '--from', repo, '--keep-last', '1', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/--force given, so retention applies anyway/);
    expect(complete()).toEqual([byStart[4]]);
  }, 120_000);
});

describe('the guard never lets go by itself (PostgreSQL)', () => {
  // Review finding: with emptied backups in the baseline, the fifth one raised no alert and
  // `prune --keep-last 3` then removed every good backup. Nightly backups + pruning, as in cron.
  it('4 good backups, then 6 emptied ones each followed by prune --keep-last 3: every emptied one alerts, no good one is removed; --force does', async () => {
    const own = await dbs.create('guard', `CREATE TABLE patients (id serial PRIMARY KEY, note text NOT NULL);
      INSERT INTO patients (note) SELECT md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 20000) g;`);
    const to = join(work, 'nightly');
    const nightly = () => cli(['backup', '--to', to, '--init', '--postgres', own.url, '--recipient', key.recipient, '--json']);
    const ids = () => readdirSync(to).filter((n) => /^\d{8}T/.test(n) && existsSync(join(to, n, 'manifest.json'))).sort();
    const good: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await nightly();
      expect(r.code, r.stderr).toBe(0);
      good.push((JSON.parse(r.stdout) as { id: string }).id);
    }
    await own.sql('DELETE FROM patients WHERE id % 10 <> 0');
    const emptied: string[] = [];
    for (let night = 1; night <= 6; night++) {
      const r = await nightly();
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { id: string; alerts: Alert[] };
      emptied.push(out.id);
      expect(out.alerts.filter((a) => a.kind === 'rows'), `emptied night ${night}`).toEqual([expect.objectContaining({ value: 2000, baseline: 20000 })]);
      const p = await cli(['prune', '--from', to, '--keep-last', '3']);
      expect(p.code, p.stderr).toBe(0);
      expect(p.stderr, `prune after emptied night ${night}`).toMatch(/kept by the retention guard/);
      expect(ids()).toEqual([...good, ...emptied].sort()); // as sets: same-second ids order randomly
    }
    // A prune the guard stopped is an alert: it notifies under the default --notify-on failure.
    const hook = await startCaptureServer();
    try {
      const p = await cli(['prune', '--from', to, '--keep-last', '3', '--notify', `${hook.url}/hook`]);
      expect(p.code, p.stderr).toBe(0);
      const posts = hook.requests.filter((r) => r.method === 'POST');
      expect(posts).toHaveLength(1);
      const event = JSON.parse(posts[0]!.body) as RunEvent;
      expect(event).toMatchObject({ operation: 'prune', status: 'alert', exitCode: 0, details: { removed: 0, guarded: [expect.objectContaining({ location: to, backup: emptied.at(-1), spared: 7, forced: false })] } });
      expect(event.alerts?.map((a) => a.kind)).toContain('rows');
    } finally {
      await hook.close();
    }
    const forced = await cli(['prune', '--from', to, '--keep-last', '3', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(ids()).toEqual(emptied.slice(-3).sort());
  }, 300_000);
});

describe('quota alerts from the CLI', () => {
  it("--quota applies to --to; the file's alerts: { fail: true } exits 9, --no-fail-on-alert beats it", async () => {
    const dir = join(work, 'quota');
    mkdirSync(join(dir, 'tree'), { recursive: true });
    writeFileSync(join(dir, 'tree', 'a.txt'), 'hello '.repeat(100));
    writeFileSync(join(dir, 'strongbox.yml'), 'alerts:\n  fail: true\n  quota: 50%\n');
    const to = join(dir, 'repo');
    const args = ['backup', '--config', join(dir, 'strongbox.yml'), '--to', to, '--init', '--files', join(dir, 'tree'), '--recipient', key.recipient, '--quota', '1MB', '--json'];
    const quiet = await cli(args);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect((JSON.parse(quiet.stdout) as { alerts: Alert[] }).alerts).toEqual([]);
    const full = await cli([...args.slice(0, -3), '--quota', '1KB', '--json']);
    expect(full.code, full.stderr).toBe(9);
    const out = JSON.parse(full.stdout) as { id: string; alerts: Alert[] };
    expect(out.alerts).toEqual([expect.objectContaining({ kind: 'quota', subject: to, baseline: 1000, thresholdPercent: 100 })]);
    expect(manifestAt(to, out.id).alerts).toBeUndefined();
    expect((await cli([...args.slice(0, -3), '--quota', '1KB', '--no-fail-on-alert'])).code).toBe(0);
  }, 60_000);
});

function manifestAt(dir: string, id: string): Manifest {
  return JSON.parse(readFileSync(join(dir, id, 'manifest.json'), 'utf8')) as Manifest;
}
