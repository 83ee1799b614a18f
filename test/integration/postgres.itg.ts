import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RefusedError, StrongboxError } from '../../src/shared/errors.js';
import { ConsoleReporter } from '../../src/shared/reporter.js';
import { dumpPostgres } from '../../src/sources/postgres/dump.js';
import { restorePostgres } from '../../src/sources/postgres/restore.js';
import { isPostgresDatabaseEmpty } from '../../src/sources/postgres/target.js';
import { PG_HOST, PG_PORT, PG_USER, createTestDatabase, type TestDatabase } from '../helpers/pg.js';

const run = promisify(execFile);

/** Collects every line a reporter prints, so tests can check that no secret was logged. */
function capturingReporter(): { reporter: ConsoleReporter; lines: string[] } {
  const lines: string[] = [];
  return { reporter: new ConsoleReporter({ verbose: true, write: (l) => lines.push(l) }), lines };
}

/** Everything a user could compare: schema and data as plain SQL (stable between runs). */
async function fingerprint(db: TestDatabase): Promise<string> {
  const { stdout } = await run('pg_dump', ['--format=plain', '--no-owner', '-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER, db.name], { maxBuffer: 256 << 20 });
  // pg_dump ≥ 15.14 brackets plain dumps with a random \restrict key; it differs on every run.
  return stdout.replace(/^\\(un)?restrict .*$/gm, '');
}

async function dumpBytes(db: TestDatabase): Promise<Buffer> {
  const { reporter } = capturingReporter();
  const dump = await dumpPostgres(db.url, reporter);
  const [bytes] = await Promise.all([buffer(dump.stream), dump.completed]);
  return bytes;
}

const SAMPLE_SCHEMA = `
  CREATE TABLE items (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    blob bytea,
    price numeric(12,2),
    tags text[],
    created timestamptz NOT NULL DEFAULT '2024-01-02 03:04:05+00'
  );
  CREATE INDEX items_name_idx ON items (lower(name));
  CREATE SEQUENCE invoice_no START 1000;
  CREATE VIEW expensive AS SELECT id, name FROM items WHERE price > 100;
  INSERT INTO items (name, blob, price, tags)
    SELECT 'item ' || i || ' — ünïcødé ✓ 日本語', decode(md5(i::text) || md5((i * 7)::text), 'hex'), i * 1.25, ARRAY['a' || i, 'b']
    FROM generate_series(1, 2000) AS i;
  INSERT INTO items (name, blob) VALUES (E'tab\\there\\nnewline and a quote ''', '\\x00ff00'::bytea);
  SELECT setval('invoice_no', 1234);
`;

/** A database as the release before a migration left it: the state a rollback must bring back. */
const MIGRATION_BASE = `
  CREATE EXTENSION citext;
  CREATE TYPE mood AS ENUM ('ok', 'meh');
  CREATE TABLE users (
    id serial PRIMARY KEY,
    email citext UNIQUE NOT NULL,
    legacy_no serial,
    mood mood NOT NULL DEFAULT 'ok',
    created timestamptz NOT NULL DEFAULT '2024-01-01 00:00:00+00'
  );
  COMMENT ON TABLE users IS 'people';
  CREATE TABLE orders (id bigserial PRIMARY KEY, user_id int NOT NULL REFERENCES users (id), total numeric(10,2), note text);
  CREATE INDEX orders_user_idx ON orders (user_id);
  CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;
  CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.note := coalesce(NEW.note, 'n/a'); RETURN NEW; END$$;
  CREATE TRIGGER orders_touch BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION touch();
  CREATE SCHEMA reporting;
  CREATE TABLE reporting.daily (day date PRIMARY KEY, n int NOT NULL);
  INSERT INTO users (email, mood) SELECT 'User' || i || '@example.com', CASE WHEN i % 3 = 0 THEN 'meh' ELSE 'ok' END::mood FROM generate_series(1, 500) i;
  INSERT INTO orders (user_id, total) SELECT 1 + i % 500, i * 0.75 FROM generate_series(1, 3000) i;
  INSERT INTO reporting.daily SELECT DATE '2024-01-01' + i, i FROM generate_series(0, 99) i;
  SELECT lo_from_bytea(0, 'an attachment');
  CREATE FOREIGN DATA WRAPPER files_fdw;
  CREATE SERVER archive FOREIGN DATA WRAPPER files_fdw;
`;

/** What the release's migration did to it: every kind of drift a forced restore must undo. */
const MIGRATION = [
  `ALTER TYPE mood ADD VALUE 'great'`, // must commit before the value can be used
  `ALTER TABLE users DROP COLUMN legacy_no;
  ALTER TABLE users ADD COLUMN phone text;
  UPDATE users SET mood = 'great', phone = '555' WHERE id < 50;
  COMMENT ON TABLE users IS 'people, with phones';
  DROP VIEW big_orders;
  ALTER TABLE orders DROP COLUMN note;
  ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';
  CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.status := 'touched'; RETURN NEW; END$$;
  CREATE VIEW big_orders AS SELECT id, total, status FROM orders WHERE total > 50;
  DELETE FROM orders WHERE id % 7 = 0;
  INSERT INTO orders (user_id, total) VALUES (1, 9999);
  DROP TABLE reporting.daily;
  CREATE TABLE audit_log (id bigserial PRIMARY KEY, what text);
  INSERT INTO audit_log (what) VALUES ('migrated');
  CREATE SCHEMA billing;
  CREATE TYPE billing.kind AS ENUM ('card');
  CREATE TABLE billing.invoices (id int PRIMARY KEY, kind billing.kind);
  CREATE EXTENSION pg_trgm;
  CREATE INDEX users_email_trgm ON users USING gin ((email::text) gin_trgm_ops);
  SELECT lo_from_bytea(0, 'a newer attachment');
  CREATE PUBLICATION audit_pub FOR TABLE audit_log;
  CREATE SERVER mirror FOREIGN DATA WRAPPER files_fdw;
  CREATE FOREIGN DATA WRAPPER newer_fdw;`,
];

/** pg_dump --schema-only, without the random \restrict key of pg_dump ≥ 15.14. */
async function schemaOnly(db: TestDatabase): Promise<string> {
  const { stdout } = await run('pg_dump', ['--schema-only', '-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER, db.name], { maxBuffer: 64 << 20 });
  return stdout.replace(/^\\(un)?restrict .*$/gm, '');
}

/** One md5 over a table's rows, in a stable order. */
async function rowsMd5(db: TestDatabase, table: string): Promise<string> {
  return db.sql(`SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM ${table} t`);
}

async function extensions(db: TestDatabase): Promise<string> {
  return db.sql('SELECT string_agg(extname, \',\' ORDER BY extname) FROM pg_extension');
}

describe('PostgreSQL dump and restore (real server)', () => {
  const dbs: TestDatabase[] = [];
  let tools: string;

  async function db(prefix: string): Promise<TestDatabase> {
    const d = await createTestDatabase(prefix);
    dbs.push(d);
    return d;
  }

  async function script(name: string, body: string): Promise<string> {
    const p = join(tools, name);
    await writeFile(p, `#!/bin/bash\n${body}\n`);
    await chmod(p, 0o755);
    return p;
  }

  beforeAll(async () => {
    tools = await mkdtemp(join(tmpdir(), 'sb-pgtools-'));
  });
  afterEach(async () => {
    await Promise.all(dbs.splice(0).map((d) => d.drop()));
  });
  afterAll(async () => {
    await rm(tools, { recursive: true, force: true });
  });

  it('round-trips tables, bytea, unicode, a sequence, an index and a view', async () => {
    const src = await db('sb_src');
    const dst = await db('sb_dst');
    await src.sql(SAMPLE_SCHEMA);
    const { reporter } = capturingReporter();

    const dump = await dumpPostgres(src.url, reporter);
    expect(dump.details).toMatchObject({ engine: 'postgresql', database: src.name, host: `${PG_HOST}:${PG_PORT}`, dumpFormat: 'custom' });
    expect(dump.details.serverVersion).toMatch(/^\d+\.\d+/);
    expect(dump.details.clientVersion).toMatch(/^\d+\.\d+/);
    await Promise.all([restorePostgres(dump.stream, dst.url, { force: false, reporter }), dump.completed]);

    const rows = 'COPY (SELECT * FROM items ORDER BY id) TO STDOUT';
    const srcRows = await src.sql(rows);
    expect(srcRows.split('\n').length).toBeGreaterThan(2000);
    expect(await dst.sql(rows)).toBe(srcRows);
    expect(await fingerprint(dst)).toBe(await fingerprint(src));
    expect(await dst.sql("SELECT last_value FROM invoice_no")).toBe('1234\n');
    expect(await dst.sql("SELECT nextval('items_id_seq')")).toBe('2002\n');
    expect(await dst.sql("SELECT indexdef FROM pg_indexes WHERE indexname = 'items_name_idx'")).toMatch(/lower\(name\)/);
    expect(await dst.sql('SELECT count(*) FROM expensive')).toBe(await src.sql('SELECT count(*) FROM expensive'));
  });

  it('fails the dump when pg_dump is killed mid-stream, even though its output simply stops', async () => {
    const src = await db('sb_kill');
    await src.sql(SAMPLE_SCHEMA);
    // Lets ~200 kB through, then pg_dump's process dies by SIGKILL, as an OOM kill would.
    const pgDump = await script('pg_dump-killed', '[ "$1" = --version ] && exec pg_dump --version\npg_dump "$@" | head -c 200000\nkill -KILL $$');
    const { reporter } = capturingReporter();
    const dump = await dumpPostgres(src.url, reporter, { pgDump });
    let got = 0;
    const streamErr = await (async () => {
      for await (const c of dump.stream) got += (c as Buffer).length;
    })().catch((e: unknown) => e);
    expect(got).toBeGreaterThan(0);
    expect(streamErr).toBeInstanceOf(StrongboxError);
    await expect(dump.completed).rejects.toThrow(/pg_dump of database "sb_kill_.*" on .* was killed by SIGKILL/);
  });

  it('stops pg_dump when the consumer gives up on the stream', async () => {
    const src = await db('sb_abandon');
    await src.sql(SAMPLE_SCHEMA);
    const pidFile = join(tools, 'pg_dump.pid');
    const pgDump = await script('pg_dump-pid', `[ "$1" = --version ] && exec pg_dump --version\necho $$ > "${pidFile}"\nexec pg_dump "$@"`);
    const dump = await dumpPostgres(src.url, capturingReporter().reporter, { pgDump });
    for await (const _ of dump.stream) break; // read one chunk, then walk away (destroys the stream)
    await expect(dump.completed).rejects.toThrow(StrongboxError);
    const pid = Number(await readFile(pidFile, 'utf8'));
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toBe(false);
  });

  it('names the database when it does not exist', async () => {
    const { reporter } = capturingReporter();
    const url = `postgres://${PG_USER}:Secret-Pw-123@${PG_HOST}:${PG_PORT}/sb_no_such_db_${process.pid}`;
    const err = await dumpPostgres(url, reporter).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as Error).message).toMatch(new RegExp(`database "sb_no_such_db_${process.pid}" on ${PG_HOST}:${PG_PORT} does not exist`));
    expect((err as Error).message).not.toContain('Secret-Pw-123');
  });

  it('rejects `completed` with pg_dump\'s error when the dump fails after it started', async () => {
    const src = await db('sb_denied');
    const role = `sb_noread_${process.pid}`;
    await src.sql(`CREATE TABLE secrets (v text); INSERT INTO secrets VALUES ('x'); DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN; REVOKE ALL ON secrets FROM PUBLIC`);
    try {
      const { reporter } = capturingReporter();
      const dump = await dumpPostgres(`postgres://${role}@${PG_HOST}:${PG_PORT}/${src.name}`, reporter);
      await expect(buffer(dump.stream)).rejects.toThrow();
      await expect(dump.completed).rejects.toThrow(/failed with exit code 1:[\s\S]*permission denied for table secrets/);
    } finally {
      await src.drop();
      await run('psql', ['-X', '-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER, '-d', 'postgres', '-c', `DROP ROLE IF EXISTS ${role}`]);
    }
  });

  it('leaves the target exactly unchanged when SQL fails part-way through the restore', async () => {
    const src = await db('sb_badfk');
    // Rows that break a foreign key, smuggled past it: pg_dump writes the data, then the
    // constraint, so the restore fails at the very end, after every table was loaded.
    await src.sql(`
      CREATE TABLE parent (id int PRIMARY KEY);
      CREATE TABLE child (id int, parent_id int REFERENCES parent(id));
      INSERT INTO parent SELECT generate_series(1, 100);
      ALTER TABLE child DISABLE TRIGGER ALL;
      INSERT INTO child SELECT i, i FROM generate_series(1, 101) i;
      ALTER TABLE child ENABLE TRIGGER ALL;`);
    const dst = await db('sb_badfk_dst');
    await dst.sql(`CREATE TABLE parent (id int PRIMARY KEY, note text); INSERT INTO parent VALUES (1, 'old'); CREATE TABLE keep_me (v text); INSERT INTO keep_me VALUES ('precious')`);
    const before = await fingerprint(dst);
    const { reporter } = capturingReporter();

    const err = await restorePostgres(Readable.from([await dumpBytes(src)]), dst.url, { force: true, reporter }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as Error).message).toMatch(/the restore into database "sb_badfk_dst_.*" on .* failed .*left unchanged/);
    expect((err as Error).message).toMatch(/foreign key/);
    expect(await fingerprint(dst)).toBe(before);
  });

  for (const when of ['part-way', 'after the last byte'] as const) {
    it(`rolls back when the input stream fails ${when}, and rejects with the input's error`, async () => {
      const src = await db('sb_in');
      await src.sql(SAMPLE_SCHEMA);
      const bytes = await dumpBytes(src);
      // The target already holds an earlier restore of the same database, since changed.
      const dst = await db('sb_in_dst');
      await restorePostgres(Readable.from([bytes]), dst.url, { force: false, reporter: capturingReporter().reporter });
      // Migrated since: what the forced restore drops first must all come back on rollback.
      await dst.sql(`UPDATE items SET name = 'changed since' WHERE id < 10; DELETE FROM items WHERE id > 1000; CREATE TABLE newer (v int);
        ALTER TABLE items DROP COLUMN tags; CREATE SCHEMA extra; CREATE TABLE extra.t AS SELECT 1 AS v; CREATE EXTENSION pg_trgm`);
      const before = await fingerprint(dst);

      const input = new PassThrough();
      const upstream = new StrongboxError('checksum mismatch in postgres-x.dump (simulated)');
      const { reporter } = capturingReporter();
      const restoring = restorePostgres(input, dst.url, { force: true, reporter });
      restoring.catch(() => {}); // asserted below, after the input has failed
      const cut = when === 'part-way' ? Math.floor(bytes.length / 2) : bytes.length;
      for (let i = 0; i < cut; i += 16384) input.write(bytes.subarray(i, Math.min(cut, i + 16384)));
      // Give pg_restore every chance to get ahead before the failure arrives.
      await new Promise((r) => setTimeout(r, 1500));
      input.destroy(upstream);
      await expect(restoring).rejects.toBe(upstream);
      expect(await fingerprint(dst)).toBe(before);
    });
  }

  it('rolls back and rejects with the reason when the restore is aborted', async () => {
    const src = await db('sb_abort');
    await src.sql(SAMPLE_SCHEMA);
    const bytes = await dumpBytes(src);
    const dst = await db('sb_abort_dst');
    const input = new PassThrough();
    const abort = new AbortController();
    const restoring = restorePostgres(input, dst.url, { force: false, reporter: capturingReporter().reporter, signal: abort.signal });
    restoring.catch(() => {});
    input.write(bytes.subarray(0, bytes.length - 100));
    await new Promise((r) => setTimeout(r, 1000));
    const reason = new StrongboxError('cancelled by the user');
    abort.abort(reason);
    await expect(restoring).rejects.toBe(reason);
    expect(await isPostgresDatabaseEmpty(dst.url)).toBe(true);
  });

  it('refuses a non-empty target without force; with force replaces the whole database', async () => {
    const src = await db('sb_force');
    await src.sql(SAMPLE_SCHEMA);
    const bytes = await dumpBytes(src);
    const { reporter } = capturingReporter();
    // The target holds an earlier restore of the same database, changed since, plus a table of its own.
    const dst = await db('sb_force_dst');
    await restorePostgres(Readable.from([bytes]), dst.url, { force: false, reporter });
    await dst.sql(`UPDATE items SET name = 'stale' WHERE id < 100; DELETE FROM items WHERE id > 1500; CREATE TABLE unrelated (v text); INSERT INTO unrelated VALUES ('gone')`);
    expect(await isPostgresDatabaseEmpty(dst.url)).toBe(false);
    const before = await fingerprint(dst);

    const err = await restorePostgres(Readable.from([bytes]), dst.url, { force: false, reporter }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toContain(`database "${dst.name}"`);
    expect((err as RefusedError).hint).toMatch(/--force/);
    expect(await fingerprint(dst)).toBe(before);

    await restorePostgres(Readable.from([bytes]), dst.url, { force: true, reporter });
    expect(await fingerprint(dst)).toBe(await fingerprint(src));
    expect(await dst.sql("SELECT to_regclass('unrelated') IS NULL")).toBe('t\n');
  });

  it('with force, makes a migrated database exactly equal to the backup again (dropped, added and changed objects)', async () => {
    const src = await db('sb_mig');
    await src.sql(MIGRATION_BASE);
    const bytes = await dumpBytes(src);
    const dst = await db('sb_mig_dst');
    const { reporter, lines } = capturingReporter();
    await restorePostgres(Readable.from([bytes]), dst.url, { force: false, reporter });
    for (const step of MIGRATION) await dst.sql(step);
    // The migration really changed what the comparisons look at.
    expect(await schemaOnly(dst)).not.toBe(await schemaOnly(src));
    expect(await rowsMd5(dst, 'orders')).not.toBe(await rowsMd5(src, 'orders'));
    expect(await extensions(dst)).toContain('pg_trgm');

    await restorePostgres(Readable.from([bytes]), dst.url, { force: true, reporter });
    expect(await schemaOnly(dst)).toBe(await schemaOnly(src));
    for (const table of ['users', 'orders', 'reporting.daily']) expect(await rowsMd5(dst, table), table).toBe(await rowsMd5(src, table));
    expect(await fingerprint(dst)).toBe(await fingerprint(src));
    expect(await dst.sql("SELECT to_regclass('audit_log') IS NULL, to_regnamespace('billing') IS NULL")).toBe('t|t\n');
    expect(await extensions(dst)).toBe(await extensions(src));
    const los = 'SELECT oid FROM pg_largeobject_metadata ORDER BY 1';
    expect(await dst.sql(los)).toBe(await src.sql(los));
    expect(await dst.sql('SELECT enum_range(NULL::mood)::text')).toBe('{ok,meh}\n');
    // Sequences go on where the backup's did, including one whose column the migration had dropped.
    const next = "SELECT nextval('users_legacy_no_seq'), nextval('orders_id_seq')";
    expect(await dst.sql(next)).toBe(await src.sql(next));
    // These client tools fence off backslash commands (\restrict), and nothing else was worth a warning.
    expect(lines.filter((l) => l.startsWith('warning:'))).toEqual([]);
  });

  it('with force, a database owner that is not a superuser can replace its database, other roles\' objects in public included', async () => {
    const role = `sb_owner_${process.pid}`;
    const src = await db('sb_own_src');
    const dst = await db('sb_own_dst');
    await src.sql(`DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN`);
    try {
      // hstore is a trusted extension: a database owner may install it (and so drop it).
      for (const d of [src, dst]) await d.sql(`ALTER DATABASE "${d.name}" OWNER TO ${role}; SET ROLE ${role}; CREATE EXTENSION hstore`);
      const asOwner = (d: TestDatabase) => `postgres://${role}@${PG_HOST}:${PG_PORT}/${d.name}`;
      const { reporter } = capturingReporter();
      await src.sql(`SET ROLE ${role}; CREATE TABLE kv (id int PRIMARY KEY, h hstore); INSERT INTO kv VALUES (1, 'a=>1'); CREATE SCHEMA app; CREATE TABLE app.t (v int)`);
      const dump = await dumpPostgres(asOwner(src), reporter);
      const [bytes] = await Promise.all([buffer(dump.stream), dump.completed]);
      // The target: the owner's objects, and one of the superuser's in public (which the owner owns).
      await dst.sql(`CREATE TABLE public.admin_made (v int); SET ROLE ${role}; CREATE TABLE kv (id int, h hstore, extra text); CREATE SCHEMA newer; CREATE TABLE newer.x (v int)`);

      await restorePostgres(Readable.from([bytes]), asOwner(dst), { force: true, reporter });
      expect(await schemaOnly(dst)).toBe(await schemaOnly(src));
      expect(await dst.sql("SELECT h -> 'a' FROM kv")).toBe('1\n');
      expect(await dst.sql("SELECT to_regclass('admin_made') IS NULL, to_regnamespace('newer') IS NULL")).toBe('t|t\n');
    } finally {
      for (const d of dbs.splice(0)) await d.drop();
      await run('psql', ['-X', '-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER, '-d', 'postgres', '-c', `DROP ROLE IF EXISTS ${role}`]);
    }
  });

  it('with force, fails cleanly and changes nothing when the role may not drop what is in the database', async () => {
    const role = `sb_weak_${process.pid}`;
    const src = await db('sb_weak_src');
    const dst = await db('sb_weak_dst');
    // The role may create in the database, but another role owns a schema in it.
    await dst.sql(`DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN; GRANT CREATE ON DATABASE "${dst.name}" TO ${role}; GRANT CREATE ON SCHEMA public TO ${role}; CREATE SCHEMA admins; CREATE TABLE admins.t (v int)`);
    try {
      await src.sql('CREATE TABLE t (v int)');
      const before = await fingerprint(dst);
      const { reporter } = capturingReporter();
      const err = await restorePostgres(Readable.from([await dumpBytes(src)]), `postgres://${role}@${PG_HOST}:${PG_PORT}/${dst.name}`, { force: true, reporter }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StrongboxError);
      expect((err as Error).message).toMatch(new RegExp(`could not empty database "${dst.name}" on .*left unchanged[\\s\\S]*must be owner of schema admins`));
      expect((err as StrongboxError).hint).toMatch(/owns its schemas/);
      expect(await fingerprint(dst)).toBe(before);
    } finally {
      for (const d of dbs.splice(0)) await d.drop();
      await run('psql', ['-X', '-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER, '-d', 'postgres', '-c', `DROP ROLE IF EXISTS ${role}`]);
    }
  });

  it('with force, changes nothing when pg_restore fails on an archive that ends too early', async () => {
    const src = await db('sb_short');
    await src.sql(MIGRATION_BASE);
    const bytes = await dumpBytes(src);
    const dst = await db('sb_short_dst');
    await restorePostgres(Readable.from([bytes]), dst.url, { force: false, reporter: capturingReporter().reporter });
    for (const step of MIGRATION) await dst.sql(step);
    const before = await fingerprint(dst);
    // The input ends without an error, so only pg_restore can tell it was cut short.
    const cut = Readable.from([bytes.subarray(0, Math.floor(bytes.length * 0.7))]);
    const err = await restorePostgres(cut, dst.url, { force: true, reporter: capturingReporter().reporter }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as Error).message).toMatch(/pg_restore failed with exit code 1 while reading the backup being restored into database "sb_short_dst_.*left unchanged/);
    expect(await fingerprint(dst)).toBe(before);
  });

  it('says an empty database is empty', async () => {
    const d = await db('sb_empty');
    expect(await isPostgresDatabaseEmpty(d.url)).toBe(true);
    await d.sql('CREATE SEQUENCE s');
    expect(await isPostgresDatabaseEmpty(d.url)).toBe(false);
  });

  it('never puts the password in argv, messages or logs; only the tools that connect get it, as PGPASSWORD', async () => {
    const src = await db('sb_pw');
    await src.sql('CREATE TABLE t (v int); INSERT INTO t VALUES (42)');
    const dst = await db('sb_pw_dst');
    const password = 'Pw-xyzzy/plugh@42';
    const encoded = encodeURIComponent(password);
    const withPw = (d: TestDatabase) => `postgres://${PG_USER}:${encoded}@${PG_HOST}:${PG_PORT}/${d.name}`;
    const log = join(tools, 'argv.log');
    const record = (real: string) => `{ printf '%s\\n' "${real}" "$@"; echo "ENV ${real} PGPASSWORD=$PGPASSWORD"; } >> "${log}"\nexec ${real} "$@"`;
    const pgDump = await script('pg_dump-rec', record('pg_dump'));
    const pgRestore = await script('pg_restore-rec', record('pg_restore'));
    const psql = await script('psql-rec', record('psql'));
    const { reporter, lines } = capturingReporter();

    const dump = await dumpPostgres(withPw(src), reporter, { pgDump, psql });
    const [bytes] = await Promise.all([buffer(dump.stream), dump.completed]);
    await restorePostgres(Readable.from([bytes]), withPw(dst), { force: false, reporter, pgRestore, psql });
    await restorePostgres(Readable.from([bytes]), withPw(dst), { force: true, reporter, pgRestore, psql });
    expect(await dst.sql('SELECT v FROM t')).toBe('42\n');
    const failed = await dumpPostgres(withPw(src).replace(/\/[^/]+$/, '/sb_missing_db'), reporter, { pgDump, psql }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(StrongboxError);
    // A restore that fails in SQL (a type already holds the table's name) reports psql's words, masked.
    const clash = await db('sb_pw_clash');
    await clash.sql('CREATE TYPE t AS (v int)');
    const sqlFailed = await restorePostgres(Readable.from([bytes]), withPw(clash), { force: false, reporter, pgRestore, psql }).catch((e: unknown) => e);
    expect(sqlFailed).toBeInstanceOf(StrongboxError);
    expect((sqlFailed as Error).message).toMatch(/the restore into database "sb_pw_clash_.*" on .* failed[\s\S]*ERROR: .*"t" already exists/);

    const recorded = (await readFile(log, 'utf8')).split('\n');
    const argvLines = recorded.filter((l) => !l.startsWith('ENV '));
    expect(argvLines.some((l) => l.includes('--single-transaction'))).toBe(true);
    expect(argvLines.some((l) => l.includes('--format=custom'))).toBe(true);
    expect(argvLines.some((l) => l === `--dbname=postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/${dst.name}`)).toBe(true);
    for (const secret of [password, encoded, 'xyzzy']) {
      expect(argvLines.join('\n')).not.toContain(secret);
      expect(lines.join('\n')).not.toContain(secret);
      for (const err of [failed, sqlFailed]) expect(String((err as Error).message)).not.toContain(secret);
    }
    const env = (tool: string) => recorded.filter((l) => l.startsWith(`ENV ${tool} `));
    expect(env('pg_dump').length).toBeGreaterThanOrEqual(2);
    expect(env('psql').length).toBeGreaterThanOrEqual(6);
    for (const l of [...env('pg_dump'), ...env('psql')]) expect(l).toMatch(new RegExp(`PGPASSWORD=${password}$`));
    // pg_restore only turns the archive into SQL; it never connects, so it never gets the password.
    expect(env('pg_restore').length).toBe(3);
    for (const l of env('pg_restore')) expect(l).toBe('ENV pg_restore PGPASSWORD=');
  });
});
