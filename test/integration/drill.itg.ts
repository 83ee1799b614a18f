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
    expect(byKind.postgres!.target).toMatch(/\/strongbox_drill_\d{14}_[0-9a-f]+$/);
    expect(result.checks).toEqual([
      expect.objectContaining({ check: 'max-age 1d', ok: true }),
      expect.objectContaining({ check: 'SELECT id FROM orders WHERE id <= 3', ok: true, detail: expect.stringContaining('3 row(s)') }),
    ]);
    // The total is the sum of the artifacts' restore times (the comparison walks are in neither).
    expect(result.rtoSeconds).toBeCloseTo(result.artifacts.reduce((s, a) => s + (a.seconds ?? 0), 0), 2);
    expect(await leftovers()).toEqual([]);
    expect(await production()).toEqual(before);
  });

  it('prints a line per artifact and the total RTO as text', async () => {
    const r = await cli(drillArgs().filter((a) => a !== '--json'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok +postgres-sb_drill\S* → postgres:\/\/\S+\/strongbox_drill_\d{14}_[0-9a-f]+ +\d+\.\ds +\(320 rows in 2 tables compared\)/);
    expect(r.stdout).toMatch(/ok +files-media → \S+ +\d+\.\ds +\(4 entries, 5005 bytes compared\)/);
    expect(r.stdout).toMatch(/^RTO \d+\.\ds in total \(download, decrypt, decompress and restore of 4 artifact\(s\), one after another; comparisons and checks not counted\)$/m);
  });

  it('fails with exit 10 when a --check-sql returns no rows, and still drops its scratch databases', async () => {
    const r = await cli([...drillArgs(), '--check-sql', 'SELECT id FROM orders WHERE id < 0']);
    expect(r.code, r.stderr).toBe(10);
    expect(parse(r).checks).toEqual([expect.objectContaining({ ok: false, detail: expect.stringContaining('returned no rows') })]);
    expect(r.stderr).toContain('DRILL FAILED');
    expect(await leftovers()).toEqual([]);
  });

  it('a check the server refuses: its message (which quotes row values) stays out of the report, the log and the error line', async () => {
    // PostgreSQL answers `invalid input syntax for type integer: "item 1"`: the row value must not be printed.
    const r = await cli([...drillArgs(), '--check-sql', 'SELECT item::int FROM orders']);
    expect(r.code, r.stderr).toBe(10);
    expect(parse(r).checks).toEqual([expect.objectContaining({ ok: false, detail: expect.stringContaining("the server's message is left out") })]);
    expect(r.stdout + r.stderr).not.toContain('item 1');
    expect(r.stderr).toMatch(/DRILL FAILED for backup \S+: 1 of 1 check\(s\) failed although the backup restored as recorded/);
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

  it('refuses a scratch URL naming a database that exists (exit 2), with data or empty, and neither restores into nor drops it', async () => {
    const before = await production();
    const r = await cli([...drillArgs().filter((a) => a !== PG_SERVER && a !== '--postgres-scratch'), '--postgres-scratch', pg.url]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('which exists');
    expect(r.stderr).toContain('name only the server in --postgres-scratch');
    expect(await production()).toEqual(before);
    const m = await cli([...drillArgs().filter((a) => a !== MY_SERVER && a !== '--mysql-scratch'), '--mysql-scratch', my.url]);
    expect(m.code, m.stderr).toBe(2);
    expect(await production()).toEqual(before);
    expect(await leftovers()).toEqual([]);
  });

  it('an existing empty scratch database: refused twice in a row (exit 2), left as found (empty, still there), no copy of production in it', async () => {
    const empty = await createTestDatabase('sb_drill_empty');
    const myEmpty = await mysqlDbs.create('sb_drill_empty');
    try {
      for (let run = 1; run <= 2; run++) {
        const r = await cli(['drill', '--from', repo, '--identity-file', keyFile, '--postgres-scratch', empty.url, '--mysql-scratch', MY_SERVER]);
        expect(r.code, `run ${run}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`${empty.name}, which exists`);
        const m = await cli(['drill', '--from', repo, '--identity-file', keyFile, '--postgres-scratch', PG_SERVER, '--mysql-scratch', myEmpty.url]);
        expect(m.code, `run ${run}: ${m.stderr}`).toBe(2);
        expect((await empty.sql(`SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`)).trim()).toBe('0');
        expect((await mysqlSql(null, `SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${myEmpty.name}'`)).trim()).toBe('0');
        expect(await leftovers()).toEqual([]);
      }
    } finally {
      await empty.drop();
    }
  });

  it('a scratch URL naming a database that does not exist yet: created and dropped, so the drill runs twice in a row', async () => {
    const pgName = `sb_drill_new_${process.pid}`;
    const myName = `sb_drill_new_${process.pid}`;
    const args = ['drill', '--from', repo, '--identity-file', keyFile, '--postgres-scratch', `${PG_SERVER}${pgName}`, '--mysql-scratch', `${MY_SERVER}${myName}`, '--json'];
    for (let run = 1; run <= 2; run++) {
      const r = await cli(args);
      expect(r.code, `run ${run}: ${r.stderr}`).toBe(0);
      expect(parse(r).artifacts.find((a) => a.kind === 'postgres')!.target).toMatch(new RegExp(`/${pgName}$`));
      expect((await pg.sql(`SELECT count(*) FROM pg_database WHERE datname = '${pgName}'`)).trim()).toBe('0');
      expect((await mysqlSql(null, `SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${myName}'`)).trim()).toBe('0');
    }
  });

  it('a database artifact without its --<kind>-scratch is refused up front (exit 2), before any scratch target exists; --only drills the others on purpose', async () => {
    const r = await cli(['drill', '--from', repo, '--identity-file', keyFile, '--postgres-scratch', PG_SERVER]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/cannot be drilled completely, nothing was restored: mysql-\S+.*no --mysql-scratch given/);
    expect(r.stderr).toContain('--only NAME');
    expect(r.stderr).not.toContain('Drilling');
    expect(await leftovers()).toEqual([]);

    const names = parse(await cli(drillArgs())).artifacts;
    const keep = names.filter((a) => a.kind !== 'mysql').map((a) => a.name);
    const o = await cli(['drill', '--from', repo, '--identity-file', keyFile, '--postgres-scratch', PG_SERVER, '--json', ...keep.flatMap((n) => ['--only', n])]);
    expect(o.code, o.stderr).toBe(0);
    const result = parse(o);
    expect(result.artifacts.map((a) => [a.kind, a.status]).sort()).toEqual([['files', 'ok'], ['mysql', 'skipped'], ['postgres', 'ok'], ['sqlite', 'ok']]);
    expect(result.artifacts.find((a) => a.kind === 'mysql')!.problem).toBe('left out by --only');

    const u = await cli([...drillArgs(), '--only', 'no-such-artifact']);
    expect(u.code, u.stderr).toBe(2);
    expect(u.stderr).toContain('no-such-artifact: backup');
    expect(await leftovers()).toEqual([]);
  });

  it('--check-sql NAME:SQL runs on that artifact\'s scratch database; plain SQL on the first; an unknown NAME is refused up front (exit 2)', async () => {
    const names = Object.fromEntries(parse(await cli(drillArgs())).artifacts.map((a) => [a.kind, a.name]));
    const r = await cli([...drillArgs(), '--check-sql', `${names.mysql}:SELECT id FROM parts WHERE name = 'nut'`, '--check-sql', `${names.postgres}: SELECT id FROM customers`, '--check-sql', 'SELECT id FROM orders WHERE id::int < 6']);
    expect(r.code, r.stderr).toBe(0);
    expect(parse(r).checks.map((c) => [c.ok, c.detail])).toEqual([
      [true, `1 row(s) from ${names.mysql}`],
      [true, `20 row(s) from ${names.postgres}`],
      [true, `5 row(s) from ${names.postgres}`],
    ]);
    const bad = await cli([...drillArgs(), '--check-sql', 'warehouse:SELECT 1']);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toContain(`warehouse is no artifact of backup ${backupId}`);
    const files = await cli([...drillArgs(), '--check-sql', `${names.files}:SELECT 1`]);
    expect(files.code, files.stderr).toBe(2);
    expect(files.stderr).toContain('is not a database artifact drilled here');
    expect(await leftovers()).toEqual([]);
  });

  it('warns about strongbox_drill_ databases a killed drill left (older than a day), naming them, and drops none', async () => {
    const old = 'strongbox_drill_20200101000000_dead';
    const recent = `strongbox_drill_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_live`;
    await pg.sql(`CREATE DATABASE "${old}"`);
    await pg.sql(`CREATE DATABASE "${recent}"`);
    await mysqlSql(null, `CREATE DATABASE \`${old}\``);
    try {
      const r = await cli(drillArgs());
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`the postgres scratch server holds 1 database\\(s\\) a killed drill left, older than a day or undated: ${old};`));
      expect(r.stderr).toMatch(new RegExp(`the mysql scratch server holds 1 database\\(s\\) a killed drill left.*: ${old};`));
      expect(r.stderr).not.toContain(recent);
      expect((await pgDatabases()).sort()).toEqual([old, recent].sort());
      expect(await myDatabases()).toEqual([old]);
    } finally {
      await pg.sql(`DROP DATABASE IF EXISTS "${old}"`);
      await pg.sql(`DROP DATABASE IF EXISTS "${recent}"`);
      await mysqlSql(null, `DROP DATABASE IF EXISTS \`${old}\``);
    }
  });

  it('refuses an SQLite scratch file that exists and a files scratch directory that is not empty (exit 7), leaving them as they were', async () => {
    const file = join(work, 'exists.db');
    writeFileSync(file, 'mine');
    const dir = join(work, 'occupied');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    for (const args of [['--sqlite-scratch', file], ['--files-scratch', dir]]) {
      const r = await cli(['drill', '--from', repo, '--identity-file', keyFile, '--postgres-scratch', PG_SERVER, '--mysql-scratch', MY_SERVER, ...args]);
      expect(r.code, r.stderr).toBe(7);
    }
    expect(await leftovers()).toEqual([]);
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
      const scratchDb = /\/(strongbox_drill_\d{14}_[0-9a-f]+)/.exec((await pgDatabases()).map((d) => `/${d}`).join(' '))?.[1];
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
