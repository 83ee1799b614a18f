import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

/**
 * Rollback end to end, as an operator runs it during a bad release: the CLI as a child
 * process, the real PostgreSQL server, a local repository. A pre-release snapshot, then a
 * "migration" (a new column, deleted rows, a new table), then `strongbox rollback`.
 */
const SHA1 = '1f4c0ffee1234567890abcdef1234567890abcd1';
const SHA2 = '2e5d0ffee1234567890abcdef1234567890abcd2';
const REF1 = 'refs/tags/v1.4.2';
const REF2 = 'refs/tags/v1.5.0';

let work: string;
let repo: string;
let keyFile: string;
let recipient: string;
let db: TestDatabase;
const scratch: TestDatabase[] = [];

/** The CLI without whatever GITHUB_* the test runner itself has: only what a test sets is recorded. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(args, { env: { GITHUB_SHA: '', GITHUB_REF: '', GITHUB_RUN_ID: '', GITHUB_REPOSITORY: '', ...env } });
}

interface State {
  rows: string;
  count: number;
  columns: string;
  tables: string;
}

/** What a person would compare: the rows (ordered, every column), the columns, the tables. */
async function stateOf(d: TestDatabase): Promise<State> {
  const [rows, count, columns, tables] = await Promise.all([
    d.sql(`SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM orders t`),
    d.sql(`SELECT count(*) FROM orders`),
    d.sql(`SELECT string_agg(column_name || ':' || data_type, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'orders'`),
    d.sql(`SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_tables WHERE schemaname = 'public'`),
  ]);
  return { rows: rows.trim(), count: Number(count.trim()), columns: columns.trim(), tables: tables.trim() };
}

interface Listed {
  id: string;
  labels: string[];
  gitSha?: string;
}

async function list(label?: string): Promise<Listed[]> {
  const r = await cli(['list', '--from', repo, '--json', ...(label ? ['--label', label] : [])]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Listed[];
}

async function snapshot(sha: string, ref: string): Promise<string> {
  const r = await cli(['backup', '--to', repo, '--init', '--postgres', db.url, '--label', 'pre-release', '--recipient', recipient, '--json'], { GITHUB_SHA: sha, GITHUB_REF: ref });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).id as string;
}

async function migrate(): Promise<void> {
  await db.sql(`
    ALTER TABLE orders ADD COLUMN discount numeric(5,2) NOT NULL DEFAULT 0;
    DELETE FROM orders WHERE id % 4 = 0;
    UPDATE orders SET discount = 9.5 WHERE id % 5 = 0;
    CREATE TABLE order_audit (id serial PRIMARY KEY, changed_at timestamptz NOT NULL DEFAULT now(), note text);
    INSERT INTO order_audit (note) VALUES ('discounts introduced');`);
}

function rollbackArgs(extra: string[], target = db): string[] {
  return ['rollback', '--from', repo, '--identity-file', keyFile, '--postgres-target', target.url, ...extra];
}

interface RollbackJson {
  backupId: string;
  gitSha?: string;
  gitRef?: string;
  safetyBackupId: string;
  checks: { check: string; ok: boolean; detail: string }[];
  undo: string;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-rollback-'));
  repo = join(work, 'repo');
  keyFile = join(work, 'key.txt');
  const kg = await cli(['keygen', '--output', keyFile]);
  expect(kg.code).toBe(0);
  recipient = /age1[0-9a-z]+/.exec(kg.stderr)![0];
  db = await createTestDatabase('sb_rollback');
  await db.sql(`
    CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL, qty int NOT NULL DEFAULT 1, placed date NOT NULL DEFAULT '2026-11-01');
    INSERT INTO orders (item, qty) SELECT 'item ' || g, g % 7 + 1 FROM generate_series(1, 400) g;
    CREATE INDEX orders_item ON orders (item);`);
}, 60_000);

afterAll(async () => {
  for (const d of [db, ...scratch]) await d?.drop().catch(() => undefined);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('rollback on real PostgreSQL', () => {
  let snap1: string;
  let atSnapshot: State;
  let migrated: State;
  let result: RollbackJson;

  it('takes the pre-release snapshot recording the git sha and ref, then migrates', async () => {
    atSnapshot = await stateOf(db);
    snap1 = await snapshot(SHA1, REF1);
    const listed = await list('pre-release');
    expect(listed).toEqual([expect.objectContaining({ id: snap1, labels: ['pre-release'], gitSha: SHA1 })]);
    await migrate();
    migrated = await stateOf(db);
    expect(migrated.count).toBe(300);
    expect(migrated.columns).toContain('discount:numeric');
    expect(migrated.tables).toBe('order_audit,orders');
  });

  it('a wrong --confirm changes nothing (exit 7): no restore, no safety backup', async () => {
    const before = await list();
    const r = await cli(rollbackArgs(['--backup', 'label:pre-release', '--confirm', 'production', '--json']));
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`--confirm "production" does not repeat the target name "${db.name}"`);
    expect(r.stderr).toContain(`--confirm ${db.name}`);
    expect(r.stdout).toBe('');
    expect(await stateOf(db)).toEqual(migrated);
    expect(await list()).toEqual(before);
  });

  it('rolls the data back to the snapshot and hands back the recorded sha and ref', async () => {
    const r = await cli(
      rollbackArgs(['--backup', 'label:pre-release', '--confirm', db.name, '--check-sql', 'SELECT 1 FROM orders LIMIT 1', '--json']),
    );
    expect(r.code, r.stderr).toBe(0);
    result = JSON.parse(r.stdout) as RollbackJson;
    expect(result.backupId).toBe(snap1);
    expect(result.gitSha).toBe(SHA1);
    expect(result.gitRef).toBe(REF1);
    expect(result.safetyBackupId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(result.checks).toEqual([expect.objectContaining({ check: 'SELECT 1 FROM orders LIMIT 1', ok: true })]);

    const now = await stateOf(db);
    expect(now.rows).toBe(atSnapshot.rows);
    expect(now.count).toBe(400);
    expect(now.columns).toBe(atSnapshot.columns);
    expect((await db.sql(`SELECT indexname FROM pg_indexes WHERE tablename = 'orders' ORDER BY 1`)).trim().split('\n')).toEqual(['orders_item', 'orders_pkey']);
  });

  it('the safety backup is listed as pre-rollback and restores the migrated state', async () => {
    expect(result, 'the rollback in the previous test did not finish').toBeDefined();
    const safety = await list('pre-rollback');
    expect(safety.map((b) => b.id)).toEqual([result.safetyBackupId]);
    const fresh = await createTestDatabase('sb_rollback_undo');
    scratch.push(fresh);
    const r = await cli(['restore', '--from', repo, '--backup', result.safetyBackupId, '--identity-file', keyFile, '--postgres-target', fresh.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(await stateOf(fresh)).toEqual(migrated);
    expect((await fresh.sql(`SELECT note FROM order_audit`)).trim()).toBe('discounts introduced');
  });

  it('the table the migration created is gone after the rollback, as it was not in the snapshot', async () => {
    // A user rolling back expects the database as it was at the snapshot, not the snapshot's
    // tables next to whatever the bad release added.
    expect((await stateOf(db)).tables).toBe(atSnapshot.tables);
  });

  it('a smoke check that returns no rows fails the rollback loudly (exit 3) and says how to undo it', async () => {
    await db.sql(`DELETE FROM orders WHERE id > 390`);
    const beforeRollback = await stateOf(db);
    const r = await cli(rollbackArgs(['--backup', snap1, '--confirm', db.name, '--check-sql', `SELECT 1 FROM orders WHERE item = 'no such item'`, '--json']));
    expect(r.code).toBe(3);
    const out = JSON.parse(r.stdout) as RollbackJson;
    expect(out.checks).toEqual([expect.objectContaining({ ok: false, detail: 'returned no rows' })]);
    expect(r.stderr).toMatch(/check FAILED: SELECT 1 FROM orders WHERE item = 'no such item'/);
    expect(r.stderr).toContain(`strongbox restore --from ${repo} --backup ${out.safetyBackupId}`);
    expect((await list('pre-rollback')).map((b) => b.id)).toContain(out.safetyBackupId);
    // The restore itself happened; only the check failed.
    expect((await stateOf(db)).rows).toBe(atSnapshot.rows);

    // The printed undo command, with the key and target filled in, returns to the state before.
    // The target as the logs show it: the URL without a password (this test server needs none).
    // A word with no shell-special character is printed as it is; anything else single-quoted.
    expect(out.undo).toContain(`--identity-file KEY --postgres-target ${db.url}`);
    const undo = out.undo.replace('KEY', keyFile).split(/\s+/).slice(1);
    const u = await cli(undo);
    expect(u.code, u.stderr).toBe(0);
    expect(await stateOf(db)).toEqual(beforeRollback);
  });

  describe('choosing among several pre-release snapshots', () => {
    let snap2: string;
    let atSnapshot2: State;

    beforeAll(async () => {
      await db.sql(`INSERT INTO orders (item, qty) VALUES ('only in the second snapshot', 42)`);
      atSnapshot2 = await stateOf(db);
      snap2 = await snapshot(SHA2, REF2);
      await db.sql(`DELETE FROM orders WHERE qty = 3`);
    }, 60_000);

    it('an ambiguous selection is refused (exit 2) with the candidates listed, and nothing changes', async () => {
      const state = await stateOf(db);
      const before = await list();
      const r = await cli(rollbackArgs(['--backup', 'label:pre-release', '--confirm', db.name]));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/label:pre-release matches 2 backups/);
      expect(r.stderr).toContain(snap1);
      expect(r.stderr).toContain(snap2);
      expect(r.stderr).toMatch(/--before/);
      expect(await stateOf(db)).toEqual(state);
      expect(await list()).toEqual(before);
    });

    it('--before <sha> picks the snapshot whose manifest records that sha', async () => {
      const second = await cli(rollbackArgs(['--backup', 'label:pre-release', '--before', SHA2.slice(0, 10), '--confirm', db.name, '--json']));
      expect(second.code, second.stderr).toBe(0);
      const j2 = JSON.parse(second.stdout) as RollbackJson;
      expect([j2.backupId, j2.gitSha, j2.gitRef]).toEqual([snap2, SHA2, REF2]);
      expect(await stateOf(db)).toEqual(atSnapshot2);

      // The older one too: not merely "the newest match".
      const first = await cli(rollbackArgs(['--backup', 'label:pre-release', '--before', SHA1, '--confirm', db.name, '--json']));
      expect(first.code, first.stderr).toBe(0);
      const j1 = JSON.parse(first.stdout) as RollbackJson;
      expect([j1.backupId, j1.gitSha, j1.gitRef]).toEqual([snap1, SHA1, REF1]);
      expect((await stateOf(db)).rows).toBe(atSnapshot.rows);
    });
  });
});

describe('rollback after a migration that adds a table referencing an existing one', () => {
  it('returns the database to the snapshot', async () => {
    const own = await createTestDatabase('sb_rollback_fk');
    scratch.push(own);
    const ownRepo = join(work, 'repo-fk');
    await own.sql(`
      CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL);
      INSERT INTO orders (item) SELECT 'item ' || g FROM generate_series(1, 50) g;`);
    const atSnap = await stateOf(own);
    const b = await cli(['backup', '--to', ownRepo, '--init', '--postgres', own.url, '--label', 'pre-release', '--recipient', recipient, '--json'], { GITHUB_SHA: SHA1 });
    expect(b.code, b.stderr).toBe(0);
    // The most common migration there is: a new table with a foreign key to an old one.
    await own.sql(`
      CREATE TABLE order_notes (id serial PRIMARY KEY, order_id int NOT NULL REFERENCES orders (id), note text);
      INSERT INTO order_notes (order_id, note) VALUES (1, 'first note');
      DELETE FROM orders WHERE id > 40;`);
    const r = await cli(['rollback', '--from', ownRepo, '--backup', 'label:pre-release', '--identity-file', keyFile, '--postgres-target', own.url, '--confirm', own.name]);
    expect(r.code, r.stderr).toBe(0);
    expect(await stateOf(own)).toEqual(atSnap);
  });
});
