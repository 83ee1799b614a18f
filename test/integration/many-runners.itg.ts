import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifestWithBytes } from '../../src/core/repository.js';
import type { Manifest } from '../../src/core/types.js';
import type { Destination } from '../../src/destinations/types.js';
import { allKeys, expectedKeys, s3Destination, startCli, type RunningCli } from '../helpers/backup-fixtures.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { isRunning, waitFor } from '../helpers/cli-process.js';
import { holdTableLock, releaseTableLock, waitingSessions } from '../helpers/pg-locks.js';
import { mysqlTestDatabases, type MysqlTestDatabase } from '../helpers/mysql.js';
import { testDatabases, type TestDatabase } from '../helpers/pg.js';
import { sqlite } from '../helpers/sqlite.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver.js';

/**
 * Many runners, one repository (issue 7 §6): a matrix job per database writes into the same
 * S3 prefix at the same time. Backups take the lock shared, so eight of them run side by side;
 * prune takes it exclusively, so it waits for them (or refuses) and never sees a backup
 * half-written. Real CLI processes, real servers, one s3rver.
 */

const PREFIX = 'many';
const pg = testDatabases();
const my = mysqlTestDatabases();

let s3: S3rverHandle;
let work: string;
let keyFile: string;
let recipient: string;
let dest: Destination;
/** The eight sources, each its own series: `flags` select it for `strongbox backup`. */
let sources: { name: string; flags: string[] }[];
let pgDbs: TestDatabase[];
let myDbs: MysqlTestDatabase[];
let sqliteFile: string;
let trees: string[];
const savedEnv: Record<string, string | undefined> = {};

const url = () => `s3://${s3.bucket}/${PREFIX}`;
const s3Flags = () => ['--endpoint', s3.endpoint, '--path-style', '--region', 'us-east-1'];
const cli = (args: string[]): Promise<CliResult> => runCli([...args, ...s3Flags()], { env: s3.env });
const start = (args: string[]): RunningCli => startCli([...args, ...s3Flags()], s3.env);

// Several MB per source, so each backup lasts seconds and the runs really overlap.
const ROWS = 100_000;

beforeAll(async () => {
  s3 = await startS3rver();
  // The in-process reads (manifests, object lists) find credentials where the SDK looks.
  for (const [k, v] of Object.entries(s3.env)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  dest = s3Destination(s3, PREFIX);
  work = mkdtempSync(join(tmpdir(), 'strongbox-many-'));
  keyFile = join(work, 'key.txt');
  const kg = await runCli(['keygen', '--output', keyFile]);
  expect(kg.code, kg.stderr).toBe(0);
  recipient = /age1[0-9a-z]+/.exec(kg.stderr)![0];

  pgDbs = [];
  for (let i = 0; i < 3; i++) {
    pgDbs.push(
      await pg.create(
        `many_pg${i}`,
        `CREATE TABLE events (id int PRIMARY KEY, body text NOT NULL);
         INSERT INTO events SELECT g, md5(g::text || '${i}') || repeat(md5(random()::text), 3) FROM generate_series(1, ${ROWS}) g;`,
      ),
    );
  }
  myDbs = [];
  for (let i = 0; i < 2; i++) {
    myDbs.push(
      await my.create(
        `many_my${i}`,
        `CREATE TABLE orders (id INT PRIMARY KEY, body VARCHAR(200) NOT NULL) ENGINE=InnoDB;
         INSERT INTO orders SELECT seq, CONCAT(MD5(seq), MD5(RAND()), MD5(RAND())) FROM seq_1_to_${ROWS};`,
      ),
    );
  }
  sqliteFile = join(work, 'app.db');
  await sqlite(
    sqliteFile,
    `CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO blobs SELECT i, randomblob(2048) FROM n;`,
  );
  trees = ['media', 'uploads'].map((name) => {
    const t = join(work, name);
    mkdirSync(join(t, 'sub'), { recursive: true });
    writeFileSync(join(t, 'a.txt'), `${name}\n`);
    writeFileSync(join(t, 'sub', 'big.bin'), randomBytes(16 << 20));
    return t;
  });
  sources = [
    ...pgDbs.map((d) => ({ name: d.name, flags: ['--postgres', d.url] })),
    ...myDbs.map((d) => ({ name: d.name, flags: ['--mysql', d.url] })),
    { name: 'sqlite', flags: ['--sqlite', sqliteFile] },
    ...trees.map((t) => ({ name: t, flags: ['--files', t] })),
  ];
  const init = await cli(['init', '--to', url()]);
  expect(init.code, init.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await pg.dropAll();
  await my.dropAll();
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Listed {
  id: string;
  complete: boolean;
  artifacts: { name: string; from?: string }[];
}

interface PruneJson {
  kept: { id: string; series: string }[];
  removed: { id: string; series: string }[];
  incompleteRemoved: string[];
  incompleteKept: { id: string }[];
  series: { name: string }[];
}

async function list(all = false): Promise<Listed[]> {
  const r = await cli(['list', '--from', url(), '--json', ...(all ? ['--all'] : [])]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Listed[];
}

const ids = (xs: { id: string }[]) => xs.map((x) => x.id).sort();

/** The eight backups, one per source, started at once; resolves to each one's id, in source order. */
function startRound(label: string): { runs: RunningCli[]; ids: Promise<string[]> } {
  const runs = sources.map((s) => start(['backup', '--to', url(), ...s.flags, '--recipient', recipient, '--label', label, '--lock-wait', '5m', '--json']));
  const done = Promise.all(
    runs.map(async (r, i) => {
      const res = await r.done;
      expect(res.code, `backup of ${sources[i]!.name}: ${res.stderr}`).toBe(0);
      return (JSON.parse(res.stdout) as { id: string }).id;
    }),
  );
  return { runs, ids: done };
}

const manifests = (backupIds: string[]): Promise<Manifest[]> => Promise.all(backupIds.map(async (id) => (await readManifestWithBytes(dest, id)).manifest));

/** Every listed backup still has its manifest and every object the manifest names. */
async function expectNothingMissing(listed: Listed[]): Promise<void> {
  const keys = new Set(await allKeys(dest));
  for (const m of await manifests(listed.map((b) => b.id))) for (const k of expectedKeys(m)) expect(keys.has(k), `${k} of listed backup ${m.id}`).toBe(true);
}

/** The largest number of [startedAt, finishedAt] intervals that cover one instant. */
function maxOverlap(ms: Manifest[]): number {
  const edges = ms.flatMap((m) => [
    { t: Date.parse(m.startedAt), d: +1 },
    { t: Date.parse(m.finishedAt), d: -1 },
  ]);
  // At equal times an end comes first: touching intervals do not overlap.
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of edges) max = Math.max(max, (now += e.d));
  return max;
}

describe('eight runners backing up into one S3 repository', () => {
  let first: string[];

  it('eight backups of different sources at once all commit, side by side; prune keeps every series', async () => {
    const round = startRound('round1');
    first = await round.ids;
    expect(new Set(first).size).toBe(8);

    // Shared locks: they ran at the same time. With an exclusive lock for backups the
    // intervals would be disjoint (never more than 1 at once). Not all eight need to meet:
    // each first checks its source (a database connection takes longer than a file's stat),
    // so a small one may start and finish before the slowest takes its lock.
    const ms = await manifests(first);
    const overlap = maxOverlap(ms);
    console.log(`round 1: up to ${overlap} of 8 backups ran at once; durations ${ms.map((m) => m.durationSeconds.toFixed(1)).join(', ')} s`);
    expect(overlap).toBeGreaterThanOrEqual(4);

    const listed = await list();
    expect(ids(listed)).toEqual([...first].sort());
    // Eight different series: the set of artifact names differs for each source.
    expect(new Set(listed.map((b) => b.artifacts.map((a) => `${a.name} ${a.from}`).join('+'))).size).toBe(8);
    await expectNothingMissing(listed);

    const p = await cli(['prune', '--from', url(), '--keep-last', '1', '--json']);
    expect(p.code, p.stderr).toBe(0);
    const pruned = JSON.parse(p.stdout) as PruneJson;
    expect(pruned.series).toHaveLength(8);
    expect(ids(pruned.kept)).toEqual([...first].sort());
    expect(pruned.removed).toEqual([]);
    expect(pruned.incompleteRemoved).toEqual([]);
    expect(ids(await list())).toEqual([...first].sort());
  }, 600_000);

  it('two of them restore to what was backed up (PostgreSQL, a file tree)', async () => {
    const pgSource = pgDbs[1]!;
    const target = await pg.create('many_restore', 'SELECT 1');
    const digest = (db: TestDatabase) => db.sql('SELECT count(*) || \' \' || md5(string_agg(id || \':\' || body, \',\' ORDER BY id)) FROM events');
    const r1 = await cli(['restore', '--from', url(), '--backup', first[1]!, '--identity-file', keyFile, '--postgres-target', target.url]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(await digest(target)).toBe(await digest(pgSource));
    expect((await digest(target)).trim()).toMatch(new RegExp(`^${ROWS} `));

    const into = join(work, 'restored-uploads');
    const r2 = await cli(['restore', '--from', url(), '--backup', first[7]!, '--identity-file', keyFile, '--files-target', into]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(readFileSync(join(into, 'sub', 'big.bin')).equals(readFileSync(join(trees[1]!, 'sub', 'big.bin')))).toBe(true);
    expect(readFileSync(join(into, 'a.txt'), 'utf8')).toBe('uploads\n');
  }, 300_000);

  it('a second round with prunes started while the backups run: one refuses, one waits; no backup being written and no newest one is lost', async () => {
    // The first PostgreSQL backup is held mid-dump by a migration's table lock, so it holds
    // its shared repository lock for as long as the test wants: "a backup being written".
    const slow = pgDbs[0]!;
    const tableLock = await holdTableLock(slow, 'events');
    try {
      const round = startRound('round2');
      await waitFor(async () => (await waitingSessions(slow)) > 0, 'the first PostgreSQL backup to be held in its dump', 180_000);

      // A prune that does not wait refuses at once (exit 6), naming the backup holding the lock...
      const refused = await cli(['prune', '--from', url(), '--keep-last', '1', '--json']);
      expect(refused.code, refused.stderr).toBe(6);
      expect(refused.stderr).toMatch(/backup \(shared\)/);
      // ...one that may wait, waits — also once the seven others are done, while one is still being written.
      const waiting = start(['prune', '--from', url(), '--keep-last', '1', '--lock-wait', '5m', '--json']);
      await waiting.waitForStderr(/Waiting up to 5m for the lock .*backup \(shared\)/, 120_000);
      const others = await Promise.all(round.runs.slice(1).map((r) => r.done));
      for (const r of others) expect(r.code, r.stderr).toBe(0);
      expect(isRunning(waiting.pid), 'the prune ran while a backup was being written').toBe(true);
      expect(isRunning(round.runs[0]!.pid)).toBe(true);
      expect(ids(await list())).toEqual(expect.arrayContaining(first));

      await releaseTableLock(slow);
      const [second, pruneRes] = await Promise.all([round.ids, waiting.done]);
      expect(pruneRes.code, pruneRes.stderr).toBe(0);
      const pruned = JSON.parse(pruneRes.stdout) as PruneJson;

      // The prune ran after the last backup committed: it saw sixteen complete backups and no
      // incomplete one, and removed exactly the first round, each superseded in its series.
      expect(pruned.incompleteRemoved).toEqual([]);
      expect(pruned.incompleteKept).toEqual([]);
      expect(ids(pruned.removed)).toEqual([...first].sort());
      expect(ids(pruned.kept)).toEqual([...second].sort());
      const seriesOf = (id: string, xs: { id: string; series: string }[]) => xs.find((x) => x.id === id)!.series;
      for (let i = 0; i < 8; i++) expect(seriesOf(first[i]!, pruned.removed), sources[i]!.name).toBe(seriesOf(second[i]!, pruned.kept));

      // Every series has its newest backup, complete and whole, and nothing else is left.
      expect(ids(await list(true))).toEqual([...second].sort());
      await expectNothingMissing(await list());
      // The SQLite one, decrypted end to end.
      const verify = await cli(['verify', '--from', url(), '--backup', second[5]!, '--identity-file', keyFile]);
      expect(verify.code, verify.stderr).toBe(0);
      expect(await allKeys(dest, 'locks/'), 'no lock left behind').toEqual([]);
    } finally {
      await releaseTableLock(slow).catch(() => {});
      tableLock.kill();
    }
  }, 600_000);
});
