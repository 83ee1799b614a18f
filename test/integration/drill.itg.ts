import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../helpers/backup-fixtures.js';
import { runCli, untimed, type CliResult } from '../helpers/cli.js';
import { MY_HOST, MY_PORT, MY_USER, mysqlSql, mysqlTestDatabases, type MysqlTestDatabase } from '../helpers/mysql.js';
import { PG_HOST, PG_PORT, PG_USER, createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { fingerprint, makeDatabase, sqliteRead, tables } from '../helpers/sqlite.js';
import type { DrillResult } from '../../src/core/drill.js';

/**
 * Restore drills end to end, as the weekly job runs them: the CLI as a child process, real
 * PostgreSQL and MariaDB servers as scratch, an SQLite file and a file tree, a local
 * repository. The drill must restore everything, report an RTO, leave no scratch database or
 * temporary file behind, and never touch production.
 */

const PG_SERVER = `postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/`;
const MY_SERVER = `mysql://${MY_USER}@${MY_HOST}:${MY_PORT}/`;

let work: string;
let repo: string;
let keyFile: string;
let tmp: string;
let pg: TestDatabase;
let my: MysqlTestDatabase;
let sqliteFile: string;
let tree: string;
let backupId: string;
const mysqlDbs = mysqlTestDatabases();

/** The CLI with its temporary files in a folder of ours, so leftovers can be seen. */
function cli(args: string[]): Promise<CliResult> {
  return runCli(args, { env: { TMPDIR: tmp, GITHUB_SHA: '', GITHUB_REF: '', GITHUB_RUN_ID: '', GITHUB_REPOSITORY: '' } });
}

const drillArgs = (from = repo) => ['drill', '--from', from, '--identity-file', keyFile, '--postgres-scratch', PG_SERVER, '--mysql-scratch', MY_SERVER, '--json'];

async function production() {
  return {
    pg: (await pg.sql(`SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY id)) FROM orders t`)).trim(),
    my: await my.checksums(),
    sqlite: await fingerprint(sqliteFile),
  };
}

async function pgDatabases(): Promise<string[]> {
  const out = await pg.sql(`SELECT datname FROM pg_database WHERE datname LIKE 'strongbox_drill%'`);
  return out.split('\n').filter(Boolean);
}

async function myDatabases(): Promise<string[]> {
  return (await mysqlSql(null, `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'strongbox\\_drill%' OR SCHEMA_NAME LIKE '%strongbox_drill%'`)).split('\n').filter(Boolean);
}

/** What the drill left behind: scratch databases on both servers and temporary folders. */
async function leftovers(): Promise<string[]> {
  return [...(await pgDatabases()), ...(await myDatabases()), ...readdirSync(tmp).filter((n) => n.startsWith('strongbox-drill-'))];
}

function parse(r: CliResult): DrillResult {
  try {
    return JSON.parse(r.stdout) as DrillResult;
  } catch {
    throw new Error(`no JSON (exit ${r.code}): ${r.stderr}`);
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-drill-itg-'));
  repo = join(work, 'repo');
  tmp = join(work, 'tmp');
  mkdirSync(tmp);
  keyFile = join(work, 'key.txt');
  const kg = await cli(['keygen', '--output', keyFile]);
  expect(kg.code, kg.stderr).toBe(0);
  const recipient = /age1[0-9a-z]+/.exec(kg.stderr)![0];

  pg = await createTestDatabase('sb_drill');
  await pg.sql(`CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL);
    INSERT INTO orders (item) SELECT 'item ' || g FROM generate_series(1, 300) g;
    CREATE TABLE customers (id int PRIMARY KEY); INSERT INTO customers SELECT generate_series(1, 20);`);
  my = await mysqlDbs.create('sb_drill', `CREATE TABLE parts (id INT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB;
    INSERT INTO parts VALUES (1, 'bolt'), (2, 'nut'), (3, 'washer');`);
  sqliteFile = join(work, 'app.db');
  await makeDatabase(sqliteFile, { rows: 40 });
  tree = join(work, 'media');
  mkdirSync(join(tree, 'scans'), { recursive: true });
  writeFileSync(join(tree, 'a.txt'), 'alpha');
  writeFileSync(join(tree, 'scans', 'b.bin'), Buffer.alloc(5000, 7));

  const b = await cli(['backup', '--to', repo, '--init', '--postgres', pg.url, '--mysql', my.url, '--sqlite', sqliteFile, '--files', tree, '--recipient', recipient, '--json']);
  expect(b.code, b.stderr).toBe(0);
  backupId = JSON.parse(b.stdout).id as string;
}, 90_000);

afterAll(async () => {
  // Only what a failed test might have left: the drill's own scratch databases.
  for (const d of await pgDatabases().catch(() => [])) await pg.sql(`DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`).catch(() => undefined);
  for (const d of await myDatabases().catch(() => [])) await mysqlSql(null, `DROP DATABASE IF EXISTS \`${d}\``).catch(() => undefined);
  await pg?.drop().catch(() => undefined);
  await mysqlDbs.dropAll();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('strongbox drill on real servers', () => {
  it('restores every artifact into scratch targets, reports the RTO, and leaves production and nothing else behind', async () => {
    const before = await production();
    const r = await cli([...drillArgs(), '--check-sql', 'SELECT id FROM orders WHERE id <= 3', '--max-age', '1d']);
    expect(r.code, r.stderr).toBe(0);
    const result = parse(r);
    expect(result.backupId).toBe(backupId);
    expect(result.ok).toBe(true);
    const byKind = Object.fromEntries(result.artifacts.map((a) => [a.kind, a]));
    expect(Object.keys(byKind).sort()).toEqual(['files', 'mysql', 'postgres', 'sqlite']);
    for (const a of result.artifacts) {
      expect(a.status, a.problem).toBe('ok');
      expect(a.seconds).toBeGreaterThan(0);
    }
    expect(byKind.postgres!.rows).toEqual({ tables: 2, rows: 320 });
    expect(byKind.mysql!.rows).toEqual({ tables: 1, rows: 3 });
    const sqliteTables = await tables(sqliteFile);
    let sqliteRows = 0;
    for (const t of sqliteTables) sqliteRows += Number((await sqliteRead(sqliteFile, `SELECT count(*) FROM "${t.replace(/"/g, `""`)}"`)).trim());
    expect(byKind.sqlite!.rows).toEqual({ tables: sqliteTables.length, rows: sqliteRows });
    // The root, a.txt, scans/, scans/b.bin; 5 + 5000 bytes.
    expect(byKind.files!.compared).toBe('4 entries, 5005 bytes');
    expect(byKind.postgres!.target).toMatch(/\/strongbox_drill_[0-9a-f]+$/);
    expect(result.checks).toEqual([
      expect.objectContaining({ check: 'max-age 1d', ok: true }),
      expect.objectContaining({ check: 'SELECT id FROM orders WHERE id <= 3', ok: true, detail: expect.stringContaining('3 row(s)') }),
    ]);
    expect(result.rtoSeconds).toBeGreaterThanOrEqual(result.artifacts.reduce((s, a) => s + (a.seconds ?? 0), 0) - 0.01);
    expect(await leftovers()).toEqual([]);
    expect(await production()).toEqual(before);
  });

  it('prints a line per artifact and the total RTO as text', async () => {
    const r = await cli(drillArgs().filter((a) => a !== '--json'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok +postgres-sb_drill\S* → postgres:\/\/\S+\/strongbox_drill_\w+ +\d+\.\ds +\(320 rows in 2 tables compared\)/);
    expect(r.stdout).toMatch(/ok +files-media → \S+ +\d+\.\ds +\(4 entries, 5005 bytes compared\)/);
    expect(r.stdout).toMatch(/^RTO \d+\.\ds in total$/m);
  });

  it('fails with exit 10 when a --check-sql returns no rows, and still drops its scratch databases', async () => {
    const r = await cli([...drillArgs(), '--check-sql', 'SELECT id FROM orders WHERE id < 0']);
    expect(r.code, r.stderr).toBe(10);
    expect(parse(r).checks).toEqual([expect.objectContaining({ ok: false, detail: expect.stringContaining('returned no rows') })]);
    expect(r.stderr).toContain('DRILL FAILED');
    expect(await leftovers()).toEqual([]);
  });

  it('fails with exit 10 when the backup is older than --max-age', async () => {
    const age = Date.now() - Date.parse(parse(await cli(drillArgs())).startedAt);
    if (age < 1500) await new Promise((r) => setTimeout(r, 1500 - age));
    const r = await cli([...drillArgs(), '--max-age', '1s']);
    expect(r.code, r.stderr).toBe(10);
    expect(parse(r).checks[0]).toMatchObject({ check: 'max-age 1s', ok: false });
    expect(await leftovers()).toEqual([]);
  });

  it('refuses a scratch database that holds data (exit 7) and neither restores into nor drops it', async () => {
    const before = await production();
    const r = await cli(['drill', '--from', repo, '--identity-file', keyFile, '--postgres-scratch', pg.url]);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toContain('is not empty');
    expect(await production()).toEqual(before);
    const m = await cli(['drill', '--from', repo, '--identity-file', keyFile, '--mysql-scratch', my.url]);
    expect(m.code, m.stderr).toBe(7);
    expect(await production()).toEqual(before);
    expect(await leftovers()).toEqual([]);
  });

  it('refuses an SQLite scratch file that exists and a files scratch directory that is not empty (exit 7), leaving them as they were', async () => {
    const file = join(work, 'exists.db');
    writeFileSync(file, 'mine');
    const dir = join(work, 'occupied');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    for (const args of [['--sqlite-scratch', file], ['--files-scratch', dir]]) {
      const r = await cli(['drill', '--from', repo, '--identity-file', keyFile, ...args]);
      expect(r.code, r.stderr).toBe(7);
    }
    expect(readFileSync(file, 'utf8')).toBe('mine');
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('mine');
  });

  it('fails with exit 10 on a damaged backup (one flipped byte in a stored artifact) and cleans up', async () => {
    const damaged = join(work, 'damaged');
    cpSync(repo, damaged, { recursive: true });
    const dir = join(damaged, backupId);
    const name = readdirSync(dir).find((n) => n.startsWith('files-'))!;
    const bytes = readFileSync(join(dir, name));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(join(dir, name), bytes);
    const r = await cli(drillArgs(damaged));
    expect(r.code, r.stderr).toBe(10);
    const result = parse(r);
    const files = result.artifacts.find((a) => a.kind === 'files')!;
    expect(files.status).toBe('difference');
    expect(result.artifacts.filter((a) => a.status === 'ok').map((a) => a.kind).sort()).toEqual(['mysql', 'postgres', 'sqlite']);
    expect(r.stderr).toMatch(/DRILL FAILED/);
    expect(await leftovers()).toEqual([]);
  });

  it('SIGTERM mid-restore exits 143 with one line naming the drill, and still drops the scratch database', async () => {
    const big = await createTestDatabase('sb_drill_big');
    try {
      await big.sql(`CREATE TABLE events (id int PRIMARY KEY, body text); INSERT INTO events SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 400000) g;`);
      const bigRepo = join(work, 'big-repo');
      const b = await cli(['backup', '--to', bigRepo, '--init', '--postgres', big.url, '--unencrypted']);
      expect(b.code, b.stderr).toBe(0);
      const running = startCli(['drill', '--from', bigRepo, '--postgres-scratch', PG_SERVER], { TMPDIR: tmp });
      await running.waitForStderr(/restoring postgres-/);
      const scratchDb = /\/(strongbox_drill_[0-9a-f]+)/.exec((await pgDatabases()).map((d) => `/${d}`).join(' '))?.[1];
      expect(scratchDb).toBeDefined();
      process.kill(running.pid, 'SIGTERM');
      const r = await running.done;
      expect(r.code, r.stderr).toBe(143);
      expect(untimed(r.stderr)).toMatch(/^cancelled by SIGTERM: drill from \S+ stopped, only scratch targets were written$/m);
      expect(await leftovers()).toEqual([]);
    } finally {
      await big.drop();
    }
  });
});
