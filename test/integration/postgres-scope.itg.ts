import { RefusedError } from '../../src/shared/errors.js';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrongboxError, VerificationError } from '../../src/shared/errors.js';
import { ConsoleReporter } from '../../src/shared/reporter.js';
import type { SourceOptions } from '../../src/sources/adapter.js';
import { dumpPostgres } from '../../src/sources/postgres/dump.js';
import { postgresAdapter } from '../../src/sources/postgres/index.js';
import { restorePostgres } from '../../src/sources/postgres/restore.js';
import { ROW_COUNT_SKIPPED, rowCountCheckSql } from '../../src/sources/postgres/row-count-sql.js';
import { scopeFromOptions } from '../../src/sources/postgres/scope.js';
import { runCli } from '../helpers/cli.js';
import { PG_HOST, PG_PORT, PG_USER, testDatabases, type TestDatabase } from '../helpers/pg.js';

const run = promisify(execFile);
const dbs = testDatabases();
const roles: string[] = [];
let tmp: string;

function reporter(): { reporter: ConsoleReporter; lines: string[] } {
  const lines: string[] = [];
  return { reporter: new ConsoleReporter({ verbose: true, write: (l) => lines.push(l) }), lines };
}

/** Dumps through the adapter (as `strongbox backup` does) and returns the bytes and what the manifest would record. */
async function dump(url: string, options: SourceOptions = {}) {
  const d = await postgresAdapter.dump({ kind: 'postgres', location: url, options }, { reporter: reporter().reporter, leaveOut: [] });
  const [bytes] = await Promise.all([buffer(d.stream), d.completed]);
  return { bytes, details: d.details, rowCounts: d.rowCounts, rowCountMode: d.rowCountMode };
}

async function restore(bytes: Buffer, target: TestDatabase, d: Awaited<ReturnType<typeof dump>>, force = true): Promise<void> {
  await postgresAdapter.restore(
    Readable.from([bytes]),
    target.url,
    { name: 'postgres-x', kind: 'postgres', source: d.details, ...(d.rowCounts ? { rowCounts: d.rowCounts, rowCountMode: d.rowCountMode } : {}) },
    { reporter: reporter().reporter, force },
  );
}

/** A table's rows as text, ordered: what a user would compare. */
const rows = (db: TestDatabase, table: string) => db.sql(`SELECT * FROM ${table} ORDER BY 1`);
/** Schema and data of a database as plain SQL, for "left exactly as it was". */
async function fingerprint(db: TestDatabase): Promise<string> {
  const { stdout } = await run('pg_dump', ['--format=plain', '--no-owner', '-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER, db.name], { maxBuffer: 64 << 20 });
  return stdout.replace(/^\\(un)?restrict .*$/gm, '');
}

async function createRole(prefix: string): Promise<string> {
  const name = `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;
  await (await dbs.create('sb_roles', 'SELECT 1')).sql(`CREATE ROLE ${name} LOGIN`);
  roles.push(name);
  return name;
}

const roleUrl = (role: string, db: TestDatabase) => `postgres://${role}@${PG_HOST}:${PG_PORT}/${db.name}`;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sb-pgscope-'));
});
afterAll(async () => {
  await dbs.dropAll();
  const admin = await dbs.create('sb_roles_drop', 'SELECT 1');
  for (const r of roles) await admin.sql(`DROP ROLE IF EXISTS ${r}`).catch(() => {});
  await dbs.dropAll();
  await rm(tmp, { recursive: true, force: true });
});

describe('per-tenant dumps under row-level security', () => {
  it("a tenant role's --row-security dump holds only that tenant's rows, and counts them", async () => {
    const a = await createRole('sb_tenant_a');
    const b = await createRole('sb_tenant_b');
    const src = await dbs.create(
      'sb_rls_src',
      `CREATE TABLE docs (id int PRIMARY KEY, tenant name NOT NULL, body text);
       INSERT INTO docs SELECT g, CASE WHEN g % 3 = 0 THEN '${a}' ELSE '${b}' END, 'doc ' || g FROM generate_series(1, 30) g;
       ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
       CREATE POLICY own ON docs USING (tenant = current_user);
       GRANT SELECT ON docs TO ${a}, ${b};`,
    );
    const d = await dump(roleUrl(a, src), { rowSecurity: true });
    expect(d.details.rowSecurity).toBe(true);
    expect(d.rowCounts).toEqual({ 'public.docs': 10 });
    const dst = await dbs.create('sb_rls_dst', 'SELECT 1');
    await restore(d.bytes, dst, d, false);
    expect(await dst.sql(`SELECT count(*), count(*) FILTER (WHERE tenant = '${a}') FROM docs`)).toBe('10|10\n');

    // Restored with --force over the shared database it came from, it would delete the other
    // tenant's 20 rows: refused (exit 7), nothing changed.
    const before = await rows(src, 'docs');
    const err = await restore(d.bytes, src, d, true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as RefusedError).exitCode).toBe(7);
    expect((err as Error).message).toMatch(/per-tenant dump \(--row-security\).*would delete every other role's rows.*nothing was changed/);
    expect(await rows(src, 'docs')).toBe(before);
  });

  it('a table with FORCE ROW LEVEL SECURITY restores as its owning non-superuser role (managed PostgreSQL), counted exactly, FORCE kept', async () => {
    const owner = await createRole('sb_force_owner');
    const src = await dbs.create(
      'sb_force_src',
      `CREATE TABLE docs (id int PRIMARY KEY, tenant name NOT NULL);
       INSERT INTO docs SELECT g, 'tenant_' || (g % 3) FROM generate_series(1, 30) g;
       ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
       ALTER TABLE docs FORCE ROW LEVEL SECURITY;
       CREATE POLICY own ON docs USING (tenant = current_user);
       ALTER TABLE docs OWNER TO ${owner};`,
    );
    const d = await dump(src.url);
    expect(d.rowCounts).toEqual({ 'public.docs': 30 });
    const dst = await dbs.create('sb_force_dst', 'SELECT 1');
    await dst.sql(`ALTER DATABASE "${dst.name}" OWNER TO ${owner}`);
    const { reporter: rep, lines } = reporter();
    await postgresAdapter.restore(
      Readable.from([d.bytes]),
      roleUrl(owner, dst),
      { name: 'postgres-x', kind: 'postgres', source: d.details, rowCounts: d.rowCounts!, rowCountMode: 'exact' },
      { reporter: rep, force: false },
    );
    expect(lines.join('\n')).not.toContain(ROW_COUNT_SKIPPED);
    expect(await dst.sql(`SELECT count(*) FROM docs`)).toBe('30\n');
    expect(await dst.sql(`SELECT relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner) = '${owner}' FROM pg_class WHERE oid = 'public.docs'::regclass`)).toBe('t|t|t\n');
    // The count is still compared: a wrong one fails the restore, nothing committed.
    const dst2 = await dbs.create('sb_force_dst2', 'SELECT 1');
    await dst2.sql(`ALTER DATABASE "${dst2.name}" OWNER TO ${owner}`);
    const err = await postgresAdapter
      .restore(Readable.from([d.bytes]), roleUrl(owner, dst2), { name: 'postgres-x', kind: 'postgres', source: d.details, rowCounts: { 'public.docs': 31 }, rowCountMode: 'exact' }, { reporter: rep, force: false })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(/public\.docs: expected 31 rows, found 30/);
    expect(await dst2.sql(`SELECT to_regclass('public.docs') IS NULL`)).toBe('t\n');
  });

  it("the restore's count check skips, naming them in a warning, the tables its role may not read under row_security = off, and still checks the others", async () => {
    const other = await createRole('sb_rls_other');
    const reader = await createRole('sb_rls_reader');
    const db = await dbs.create(
      'sb_rls_skip',
      `CREATE TABLE theirs (id int); INSERT INTO theirs VALUES (1), (2);
       ALTER TABLE theirs ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON theirs USING (true);
       ALTER TABLE theirs OWNER TO ${other}; GRANT SELECT ON theirs TO ${reader};
       CREATE TABLE open_t (id int); INSERT INTO open_t VALUES (1); GRANT SELECT ON open_t TO ${reader};`,
    );
    const check = (counts: Record<string, number>) =>
      run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', roleUrl(reader, db), '-c', `BEGIN; SET row_security = off; ${rowCountCheckSql(counts)} COMMIT;`]).then(
        (r) => ({ ok: true, stderr: r.stderr }),
        (e: { stderr: string }) => ({ ok: false, stderr: e.stderr }),
      );
    const good = await check({ 'public.theirs': 2, 'public.open_t': 1 });
    expect(good.ok).toBe(true);
    expect(good.stderr).toContain(ROW_COUNT_SKIPPED);
    expect(good.stderr).toMatch(/public\.theirs \(query would be affected by row-level security policy/);
    expect(good.stderr).not.toContain('open_t');
    const bad = await check({ 'public.theirs': 2, 'public.open_t': 5 });
    expect(bad.ok).toBe(false);
    expect(bad.stderr).toMatch(/public\.open_t: expected 5 rows, found 1/);
  });

  it('without --row-security a tenant dump fails with a message naming the flag, and nothing is kept', async () => {
    const a = await createRole('sb_tenant_c');
    const src = await dbs.create(
      'sb_rls_nof',
      `CREATE TABLE docs (id int PRIMARY KEY, tenant name NOT NULL);
       INSERT INTO docs VALUES (1, '${a}'), (2, 'someone_else');
       ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
       CREATE POLICY own ON docs USING (tenant = current_user);
       GRANT SELECT ON docs TO ${a};`,
    );
    const err = await dump(roleUrl(a, src)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as Error).message).toMatch(/row-level security/);
    expect((err as StrongboxError).hint).toMatch(/--row-security/);
  });
});

describe('partial dumps', () => {
  it('a --table dump restored with --force replaces that table and leaves every other table and its rows alone', async () => {
    const src = await dbs.create(
      'sb_part_src',
      `CREATE TABLE orders (id int PRIMARY KEY, total int); INSERT INTO orders SELECT g, g * 10 FROM generate_series(1, 5) g;
       CREATE TABLE customers (id int PRIMARY KEY); INSERT INTO customers VALUES (1);`,
    );
    const dst = await dbs.create(
      'sb_part_dst',
      `CREATE TABLE orders (id int PRIMARY KEY, total int, drifted text); INSERT INTO orders VALUES (99, 1, 'x');
       CREATE TABLE keep (id int PRIMARY KEY, note text); INSERT INTO keep VALUES (1, 'mine'), (2, 'also mine');
       CREATE SCHEMA other; CREATE TABLE other.stuff (v text); INSERT INTO other.stuff VALUES ('untouched');`,
    );
    const keepBefore = await rows(dst, 'keep');
    const stuffBefore = await rows(dst, 'other.stuff');
    const d = await dump(src.url, { tables: ['public.orders'] });
    expect(d.details).toMatchObject({ tables: ['public.orders'], partial: true });
    expect(d.rowCounts).toEqual({ 'public.orders': 5 });
    await restore(d.bytes, dst, d);
    expect(await rows(dst, 'orders')).toBe(await rows(src, 'orders'));
    expect(await dst.sql(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'drifted'`)).toBe('0\n');
    expect(await rows(dst, 'keep')).toBe(keepBefore);
    expect(await rows(dst, 'other.stuff')).toBe(stuffBefore);
    expect(await dst.sql(`SELECT to_regclass('public.customers') IS NULL`)).toBe('t\n');
  });

  it('a --schema dump replaces that schema and leaves the other schemas alone', async () => {
    const src = await dbs.create(
      'sb_schema_src',
      `CREATE SCHEMA tenant_a; CREATE TABLE tenant_a.t (v int); INSERT INTO tenant_a.t VALUES (1), (2), (3);
       CREATE SCHEMA tenant_b; CREATE TABLE tenant_b.t (v int); INSERT INTO tenant_b.t VALUES (100);`,
    );
    const dst = await dbs.create(
      'sb_schema_dst',
      `CREATE SCHEMA tenant_a; CREATE TABLE tenant_a.t (v int); INSERT INTO tenant_a.t VALUES (7);
       CREATE SCHEMA tenant_b; CREATE TABLE tenant_b.t (v int); INSERT INTO tenant_b.t VALUES (200), (201);`,
    );
    const d = await dump(src.url, { schemas: ['tenant_a'] });
    expect(d.rowCounts).toEqual({ 'tenant_a.t': 3 });
    await restore(d.bytes, dst, d);
    expect(await rows(dst, 'tenant_a.t')).toBe('1\n2\n3\n');
    expect(await rows(dst, 'tenant_b.t')).toBe('200\n201\n');
  });

  it('fails cleanly, target unchanged, when an object outside the dump depends on a table it replaces', async () => {
    const src = await dbs.create('sb_dep_src', `CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders VALUES (1);`);
    const dst = await dbs.create(
      'sb_dep_dst',
      `CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders VALUES (5), (6);
       CREATE VIEW recent AS SELECT id FROM orders WHERE id > 1;`,
    );
    const before = await fingerprint(dst);
    const d = await dump(src.url, { tables: ['orders'] });
    const err = await restore(d.bytes, dst, d).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as Error).message).toMatch(/has dependents outside it[\s\S]*left unchanged[\s\S]*cannot drop table public.orders because other objects depend on it[\s\S]*view public.recent depends on/);
    expect((err as StrongboxError).hint).toMatch(/never drops anything else/);
    expect(await fingerprint(dst)).toBe(before);
  });

  it('an --exclude-table dump of a table outside public restores in place with --force: its schema is kept (not dropped), the excluded table and its rows stay', async () => {
    const setup = `CREATE SCHEMA app; COMMENT ON SCHEMA app IS 'the app';
       CREATE TABLE app.items (id int PRIMARY KEY); CREATE TABLE app.audit (at int);
       CREATE SCHEMA "My App"; CREATE TABLE "My App".t (x int);`;
    const src = await dbs.create('sb_excl_src', `${setup} INSERT INTO app.items VALUES (1), (2); INSERT INTO app.audit VALUES (10); INSERT INTO "My App".t VALUES (5);`);
    const d = await dump(src.url, { excludeTables: ['app.audit'] });
    expect(d.rowCounts).toEqual({ 'app.items': 2, 'My App.t': 1 });
    // In place: the same database later, with rows the backup predates.
    await src.sql(`INSERT INTO app.items VALUES (3); INSERT INTO app.audit VALUES (11); INSERT INTO "My App".t VALUES (6);`);
    await restore(d.bytes, src, d);
    expect(await rows(src, 'app.items')).toBe('1\n2\n');
    expect(await rows(src, '"My App".t')).toBe('5\n');
    expect(await rows(src, 'app.audit')).toBe('10\n11\n');
    expect(await src.sql(`SELECT obj_description('app'::regnamespace, 'pg_namespace')`)).toBe('the app\n');
    // Into an empty database the schemas are created.
    const fresh = await dbs.create('sb_excl_fresh', 'SELECT 1');
    await restore(d.bytes, fresh, d, false);
    expect(await rows(fresh, 'app.items')).toBe('1\n2\n');
    expect(await fresh.sql(`SELECT to_regclass('app.audit') IS NULL`)).toBe('t\n');
  });

  it('a --schema dump still drops and recreates its schema: a table added there since fails the restore, target unchanged', async () => {
    const src = await dbs.create('sb_schsel_src', `CREATE SCHEMA tenant; CREATE TABLE tenant.t (v int); INSERT INTO tenant.t VALUES (1);`);
    const d = await dump(src.url, { schemas: ['tenant'] });
    await src.sql(`CREATE TABLE tenant.added (v int); INSERT INTO tenant.t VALUES (2);`);
    const before = await fingerprint(src);
    const err = await restore(d.bytes, src, d).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as Error).message).toMatch(/schema tenant|depend/);
    expect(await fingerprint(src)).toBe(before);
  });

  it('--exclude-table-data restores the table empty, and its rows are not counted', async () => {
    const src = await dbs.create(
      'sb_nodata_src',
      `CREATE TABLE audit (id int, what text); INSERT INTO audit SELECT g, 'x' FROM generate_series(1, 50) g;
       CREATE TABLE items (id int); INSERT INTO items VALUES (1), (2);`,
    );
    const d = await dump(src.url, { excludeTableData: ['audit'] });
    expect(d.details).toMatchObject({ excludeTableData: ['audit'] });
    expect(d.details.partial).toBeUndefined();
    expect(d.rowCounts).toEqual({ 'public.items': 2 });
    const dst = await dbs.create('sb_nodata_dst', 'SELECT 1');
    await restore(d.bytes, dst, d, false);
    expect(await dst.sql('SELECT (SELECT count(*) FROM audit), (SELECT count(*) FROM items)')).toBe('0|2\n');
  });

  it('refuses patterns that are empty or could be read as a flag', () => {
    expect(() => scopeFromOptions({ tables: [''] })).toThrow(/--table pattern is empty/);
    expect(() => scopeFromOptions({ schemas: ['--file=/tmp/x'] })).toThrow(/--schema pattern "--file=\/tmp\/x" starts with "-"/);
  });
});

describe('row counts as seen by the dump snapshot', () => {
  it('counts what pg_dump dumps even when rows are inserted while the dump starts', async () => {
    const src = await dbs.create('sb_snap_src', `CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t SELECT FROM generate_series(1, 100);`);
    // pg_dump starts only after the snapshot was exported; rows committed meanwhile are in neither.
    const pgDump = join(tmp, 'pg_dump-late');
    await writeFile(pgDump, '#!/bin/sh\n[ "$1" = --version ] && exec pg_dump --version\nsleep 1\nexec pg_dump "$@"\n');
    await chmod(pgDump, 0o755);
    const d = await dumpPostgres(src.url, reporter().reporter, { pgDump });
    await src.sql('INSERT INTO t SELECT FROM generate_series(1, 23)');
    const [bytes] = await Promise.all([buffer(d.stream), d.completed]);
    expect(d.rowCounts).toEqual({ 'public.t': 100 });
    const dst = await dbs.create('sb_snap_dst', 'SELECT 1');
    await postgresAdapter.restore(Readable.from([bytes]), dst.url, { name: 'x', kind: 'postgres', source: d.details, rowCounts: d.rowCounts!, rowCountMode: 'exact' }, { reporter: reporter().reporter, force: false });
    expect(await dst.sql('SELECT count(*) FROM t')).toBe('100\n');
  });

  it('estimate mode records planner statistics; none records nothing', async () => {
    const src = await dbs.create('sb_est_src', `CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000); ANALYZE t;`);
    const est = await dump(src.url, { rowCounts: 'estimate' });
    expect(est.rowCountMode).toBe('estimate');
    expect(est.rowCounts).toEqual({ 'public.t': 1000 });
    const none = await dump(src.url, { rowCounts: 'none' });
    expect(none.rowCounts).toBeUndefined();
  });
});

describe('row counts through the CLI', () => {
  async function manifestPath(repo: string): Promise<string> {
    const ids = (await readdir(repo, { withFileTypes: true })).filter((e) => e.isDirectory() && /^\d/.test(e.name)).map((e) => e.name);
    expect(ids).toHaveLength(1);
    return join(repo, ids[0]!, 'manifest.json');
  }

  async function backupTo(repo: string, src: TestDatabase, extra: string[] = []) {
    const r = await runCli(['backup', '--to', repo, '--init', '--unencrypted', '--postgres', src.url, ...extra]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const path = await manifestPath(repo);
    return { path, manifest: JSON.parse(await readFile(path, 'utf8')) as { artifacts: { rowCounts?: Record<string, number>; rowCountMode?: string }[] } };
  }

  it('records exact counts in the manifest; a count that does not match fails the restore (exit 3) and leaves the target unchanged', async () => {
    const src = await dbs.create('sb_cli_src', `CREATE TABLE a (id int); INSERT INTO a SELECT generate_series(1, 42); CREATE TABLE b (id int);`);
    const repo = join(tmp, 'repo-exact');
    const { path, manifest } = await backupTo(repo, src);
    expect(manifest.artifacts[0]).toMatchObject({ rowCounts: { 'public.a': 42, 'public.b': 0 }, rowCountMode: 'exact' });

    const dst = await dbs.create('sb_cli_dst', `CREATE TABLE precious (v text); INSERT INTO precious VALUES ('keep me');`);
    const ok = await runCli(['restore', '--from', repo, '--postgres-target', dst.url, '--force']);
    expect(ok.code).toBe(0);
    expect(await dst.sql('SELECT count(*) FROM a')).toBe('42\n');

    // A manifest whose count disagrees with the data (as a dump that lost rows would).
    await src.sql('SELECT 1');
    manifest.artifacts[0]!.rowCounts!['public.a'] = 41;
    await writeFile(path, JSON.stringify(manifest, null, 2));
    await dst.sql(`DROP TABLE a; DROP TABLE b; CREATE TABLE precious (v text); INSERT INTO precious VALUES ('keep me');`);
    const before = await fingerprint(dst);
    const bad = await runCli(['restore', '--from', repo, '--postgres-target', dst.url, '--force']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/public\.a: expected 41 rows, found 42/);
    expect(await fingerprint(dst)).toBe(before);
  });

  it('records estimates without comparing them', async () => {
    const src = await dbs.create('sb_cli_est', `CREATE TABLE a (id int); INSERT INTO a SELECT generate_series(1, 7); ANALYZE a;`);
    const repo = join(tmp, 'repo-est');
    const { path, manifest } = await backupTo(repo, src, ['--row-counts', 'estimate']);
    expect(manifest.artifacts[0]).toMatchObject({ rowCounts: { 'public.a': 7 }, rowCountMode: 'estimate' });
    manifest.artifacts[0]!.rowCounts!['public.a'] = 1234;
    await writeFile(path, JSON.stringify(manifest, null, 2));
    const dst = await dbs.create('sb_cli_est_dst', 'SELECT 1');
    const r = await runCli(['restore', '--from', repo, '--postgres-target', dst.url]);
    expect(r.code).toBe(0);
    expect(await dst.sql('SELECT count(*) FROM a')).toBe('7\n');
  });

  it('backup and restore --pg-bin run the tools of that folder', async () => {
    const bin = join(tmp, 'pg-bin');
    const used = join(tmp, 'pg-bin-used');
    await run('mkdir', ['-p', bin]);
    for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
      await writeFile(join(bin, tool), `#!/bin/sh\necho ${tool} >> "${used}"\nexec /usr/lib/postgresql/15/bin/${tool} "$@"\n`);
      await chmod(join(bin, tool), 0o755);
    }
    const src = await dbs.create('sb_cli_pgbin', `CREATE TABLE a (id int); INSERT INTO a VALUES (1), (2);`);
    const repo = join(tmp, 'repo-pgbin');
    await backupTo(repo, src, ['--pg-bin', bin]);
    expect((await readFile(used, 'utf8')).split('\n')).toEqual(expect.arrayContaining(['pg_dump', 'psql']));
    await writeFile(used, '');
    const dst = await dbs.create('sb_cli_pgbin_dst', 'SELECT 1');
    const r = await runCli(['restore', '--from', repo, '--postgres-target', dst.url, '--pg-bin', bin]);
    expect(r.code).toBe(0);
    expect((await readFile(used, 'utf8')).split('\n')).toEqual(expect.arrayContaining(['pg_restore', 'psql']));
    expect(await dst.sql('SELECT count(*) FROM a')).toBe('2\n');
  });

  it('passes --table and --exclude-table-data through to the manifest', async () => {
    const src = await dbs.create('sb_cli_scope', `CREATE TABLE a (id int); INSERT INTO a VALUES (1); CREATE TABLE log (id int); INSERT INTO log VALUES (1); CREATE TABLE z (id int);`);
    const repo = join(tmp, 'repo-scope');
    const { manifest } = await backupTo(repo, src, ['--table', 'public.a', '--table', 'public.log', '--exclude-table-data', 'log']);
    expect(manifest.artifacts[0]).toMatchObject({ source: { tables: ['public.a', 'public.log'], excludeTableData: ['log'], partial: true }, rowCounts: { 'public.a': 1 } });
    const bad = await runCli(['backup', '--to', repo, '--unencrypted', '--postgres', src.url, '--table=-x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--table pattern "-x" starts with "-"/);
  });
});

describe('row-count check error', () => {
  it('names a few of many mismatched tables and still exits 3; odd table names are counted too', async () => {
    const tables = Array.from({ length: 8 }, (_, i) => `t${i}`);
    const src = await dbs.create('sb_many_src', `${tables.map((t) => `CREATE TABLE ${t} (id int); INSERT INTO ${t} VALUES (1);`).join('\n')} CREATE TABLE "we$c$ird.name" (id int); INSERT INTO "we$c$ird.name" VALUES (1), (2);`);
    const d = await dump(src.url);
    expect(d.rowCounts!['public."we$c$ird.name"']).toBe(2);
    const dst = await dbs.create('sb_many_ok', 'SELECT 1');
    await restore(d.bytes, dst, d, false);
    const wrong = Object.fromEntries(Object.entries(d.rowCounts!).map(([k, v]) => [k, v + 1]));
    const dst2 = await dbs.create('sb_many_dst', 'SELECT 1');
    const err = await restore(d.bytes, dst2, { ...d, rowCounts: wrong }, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(/public\.t0: expected 2 rows, found 1; .*and 4 more tables/);
    expect(await dst2.sql(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`)).toBe('0\n');
  });


  it('keys tell schema "a.b" table "c" from schema "a" table "b.c"; each is checked against its own count; an older backup\'s unquoted key is still found', async () => {
    const src = await dbs.create(
      'sb_dotted_src',
      `CREATE SCHEMA "a.b"; CREATE TABLE "a.b".c (id int); INSERT INTO "a.b".c VALUES (1), (2);
       CREATE SCHEMA a; CREATE TABLE a."b.c" (id int); INSERT INTO a."b.c" SELECT generate_series(1, 5);
       CREATE TABLE public."q""uote" (id int); INSERT INTO public."q""uote" VALUES (1);`,
    );
    const d = await dump(src.url);
    expect(d.rowCounts).toEqual({ '"a.b".c': 2, 'a."b.c"': 5, 'public."q""uote"': 1 });
    const ok = await dbs.create('sb_dotted_ok', 'SELECT 1');
    await restore(d.bytes, ok, d, false);
    expect(await ok.sql(`SELECT (SELECT count(*) FROM "a.b".c) || ' ' || (SELECT count(*) FROM a."b.c")`)).toBe('2 5\n');
    // One count wrong: named by its own key, and nothing is committed.
    const bad = await dbs.create('sb_dotted_bad', 'SELECT 1');
    const err = await restore(d.bytes, bad, { ...d, rowCounts: { ...d.rowCounts, 'a."b.c"': 6 } }, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(/a\."b\.c": expected 6 rows, found 5/);
    expect((err as Error).message).not.toMatch(/"a\.b"\.c/);
    expect(await bad.sql(`SELECT count(*) FROM pg_namespace WHERE nspname IN ('a', 'a.b')`)).toBe('0\n');
    // A manifest written before keys were quoted: `public.q"uote` names one table, so it is still checked.
    const legacy = await dbs.create('sb_dotted_legacy', 'SELECT 1');
    await restore(d.bytes, legacy, { ...d, rowCounts: { 'public.q"uote': 1, '"a.b".c': 2 } }, false);
    const legacyBad = await dbs.create('sb_dotted_legacy_bad', 'SELECT 1');
    const err2 = await restore(d.bytes, legacyBad, { ...d, rowCounts: { 'public.q"uote': 3 } }, false).catch((e: unknown) => e);
    expect((err2 as Error).message).toMatch(/public\.q"uote: expected 3 rows, found 1/);
  });

  it('is a VerificationError (exit 3)', async () => {
    const src = await dbs.create('sb_verr_src', `CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);`);
    const d = await dump(src.url);
    const dst = await dbs.create('sb_verr_dst', 'SELECT 1');
    const err = await restore(d.bytes, dst, { ...d, rowCounts: { 'public.t': 3 } }, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as VerificationError).exitCode).toBe(3);
    expect(await dst.sql(`SELECT to_regclass('public.t') IS NULL`)).toBe('t\n');
  });
});

describe('client matching against the real server', () => {
  it("dumps and restores with a versioned install when PATH's clients are too old, recording the version used", async () => {
    const real = '/usr/lib/postgresql/15/bin';
    const oldPath = join(tmp, 'old-bin');
    const versions = join(tmp, 'versions');
    const newBin = join(versions, '15', 'bin');
    await run('mkdir', ['-p', oldPath, newBin]);
    for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
      // PATH's: an old client that would fail if it were run for real.
      await writeFile(join(oldPath, tool), `#!/bin/sh\n[ "$1" = --version ] && { echo "${tool} (PostgreSQL) 13.2"; exit 0; }\necho "old ${tool} used" >&2; exit 1\n`);
      await writeFile(join(newBin, tool), `#!/bin/sh\nexec ${real}/${tool} "$@"\n`);
      await chmod(join(oldPath, tool), 0o755);
      await chmod(join(newBin, tool), 0o755);
    }
    const search = { pathDirs: [oldPath], versionRoots: [versions] };
    const src = await dbs.create('sb_client_src', `CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2), (3);`);
    const d = await dumpPostgres(src.url, reporter().reporter, { search });
    const [bytes] = await Promise.all([buffer(d.stream), d.completed]);
    expect(d.details.clientVersion).toMatch(/^15\./);
    expect(d.rowCounts).toEqual({ 'public.t': 3 });

    const dst = await dbs.create('sb_client_dst', 'SELECT 1');
    await restorePostgres(Readable.from([bytes]), dst.url, { force: false, reporter: reporter().reporter, dumpVersion: String(d.details.clientVersion), expectedRowCounts: d.rowCounts!, search });
    expect(await dst.sql('SELECT count(*) FROM t')).toBe('3\n');

    // A dump newer than every pg_restore found is refused before the target is touched.
    const err = await restorePostgres(Readable.from([bytes]), dst.url, { force: true, reporter: reporter().reporter, dumpVersion: '17.2', search }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/needs pg_restore 17 or newer; found only pg_restore 13\.2 .*pg_restore 15\./);
    expect(await dst.sql('SELECT count(*) FROM t')).toBe('3\n');
  });
});

describe('a partial dump holding the public schema itself', () => {
  it("--schema public restored with --force keeps public's owner and privileges, and the other schemas", async () => {
    const app = await createRole('sb_app');
    const src = await dbs.create('sb_pub_src', `CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);`);
    const dst = await dbs.create(
      'sb_pub_dst',
      `CREATE TABLE t (id int); INSERT INTO t VALUES (9);
       GRANT CREATE ON SCHEMA public TO ${app};
       CREATE SCHEMA other; CREATE TABLE other.k (v int); INSERT INTO other.k VALUES (5);`,
    );
    const acl = `SELECT nspowner::regrole, nspacl FROM pg_namespace WHERE nspname = 'public'`;
    const before = await dst.sql(acl);
    expect(before).toContain(`${app}=C/`);
    const d = await dump(src.url, { schemas: ['public'] });
    await restore(d.bytes, dst, d);
    expect(await rows(dst, 't')).toBe('1\n2\n');
    expect(await dst.sql(acl)).toBe(before);
    expect(await rows(dst, 'other.k')).toBe('5\n');
  });
});

describe('the counting session', () => {
  const sessions = (db: TestDatabase) => db.sql(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
  async function noSessionsLeft(db: TestDatabase): Promise<string> {
    for (let i = 0; i < 50 && (await sessions(db)) !== '0\n'; i++) await new Promise((r) => setTimeout(r, 100));
    return sessions(db);
  }

  it('is closed after a dump that succeeded, and after one whose reader gave up midway', async () => {
    const src = await dbs.create('sb_sess', `CREATE TABLE t (v text); INSERT INTO t SELECT repeat(md5(g::text), 20) FROM generate_series(1, 20000) g;`);
    await dump(src.url);
    expect(await noSessionsLeft(src)).toBe('0\n');

    const d = await dumpPostgres(src.url, reporter().reporter);
    await new Promise<void>((resolve) => d.stream.once('data', () => resolve()));
    d.stream.destroy(new Error('upload failed'));
    await expect(d.completed).rejects.toThrow();
    expect(await noSessionsLeft(src)).toBe('0\n');
  });
});

describe('which tables are counted', () => {
  /** The tables whose rows the archive holds, as pg_restore lists them ("TABLE DATA schema name owner"). */
  async function dataEntries(bytes: Buffer): Promise<string[]> {
    const file = join(tmp, `list-${randomBytes(4).toString('hex')}.dump`);
    await writeFile(file, bytes);
    const { stdout } = await run('pg_restore', ['--list', file]);
    return [...stdout.matchAll(/^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) /gm)].map((m) => `${m[1]}.${m[2]}`).sort();
  }

  it.each([
    ['everything', {}],
    ['--table without a schema (visible tables only)', { tables: ['foo'] }],
    ['--table with a wildcard schema part', { tables: ['s.*'] }],
    ['--table with a quoted mixed-case name', { tables: ['s."MixedCase"'] }],
    ['--schema minus --exclude-table', { schemas: ['s'], excludeTables: ['s.b?r'] }],
    ['--exclude-schema', { excludeSchemas: ['s'] }],
    ['--table overrides --schema, as in pg_dump', { tables: ['public.foo'], schemas: ['s'] }],
    ['--exclude-table-data', { excludeTableData: ['s.*'] }],
    ['partitions of a partitioned table', { tables: ['public.events*'] }],
  ] as [string, SourceOptions][])('%s: the counts cover exactly the tables pg_dump wrote data for', async (_what, options) => {
    const src = await dbs.create(
      'sb_which',
      `CREATE TABLE public.foo (a int); INSERT INTO public.foo VALUES (1);
       CREATE SCHEMA s; CREATE TABLE s.foo (a int); CREATE TABLE s.bar (a int); CREATE TABLE s."MixedCase" (a int); CREATE TABLE s.mixedcase (a int);
       INSERT INTO s.bar VALUES (1), (2);
       CREATE TABLE public.events (at date, n int) PARTITION BY RANGE (at);
       CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
       INSERT INTO public.events VALUES ('2024-05-01', 1);
       CREATE VIEW public.v AS SELECT 1 AS one; CREATE SEQUENCE public.seq;`,
    );
    const d = await dump(src.url, options);
    expect(Object.keys(d.rowCounts!).sort()).toEqual(await dataEntries(d.bytes));
  });
});
