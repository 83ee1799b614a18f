import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RefusedError, StrongboxError } from '../../src/core/errors.js';
import { ConsoleReporter } from '../../src/core/reporter.js';
import { dumpPostgres, isPostgresDatabaseEmpty, restorePostgres } from '../../src/sources/postgres.js';
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
    expect((err as Error).message).toMatch(/pg_restore into database "sb_badfk_dst_.*" .* failed .*left unchanged/);
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
      await dst.sql(`UPDATE items SET name = 'changed since' WHERE id < 10; DELETE FROM items WHERE id > 1000; CREATE TABLE newer (v int)`);
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

  it('refuses a non-empty target without force, and replaces the dumped objects with force', async () => {
    const src = await db('sb_force');
    await src.sql(SAMPLE_SCHEMA);
    const bytes = await dumpBytes(src);
    const { reporter } = capturingReporter();
    // The target holds an earlier restore of the same database, changed since, plus a table of its own.
    const dst = await db('sb_force_dst');
    await restorePostgres(Readable.from([bytes]), dst.url, { force: false, reporter });
    await dst.sql(`UPDATE items SET name = 'stale' WHERE id < 100; DELETE FROM items WHERE id > 1500; CREATE TABLE unrelated (v text); INSERT INTO unrelated VALUES ('kept')`);
    expect(await isPostgresDatabaseEmpty(dst.url)).toBe(false);
    const before = await fingerprint(dst);

    const err = await restorePostgres(Readable.from([bytes]), dst.url, { force: false, reporter }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toContain(`database "${dst.name}"`);
    expect((err as RefusedError).hint).toMatch(/--force/);
    expect(await fingerprint(dst)).toBe(before);

    await restorePostgres(Readable.from([bytes]), dst.url, { force: true, reporter });
    const rows = 'COPY (SELECT * FROM items ORDER BY id) TO STDOUT';
    expect(await dst.sql(rows)).toBe(await src.sql(rows));
    expect(await dst.sql('SELECT v FROM unrelated')).toBe('kept\n');
  });

  it('with force, fails safely (target unchanged, a hint) when the target schema has drifted so the old objects cannot be dropped', async () => {
    const src = await db('sb_drift');
    await src.sql(SAMPLE_SCHEMA);
    const dst = await db('sb_drift_dst');
    await dst.sql(`CREATE TABLE items (stale int); INSERT INTO items VALUES (1)`);
    const before = await fingerprint(dst);
    const { reporter } = capturingReporter();
    const err = await restorePostgres(Readable.from([await dumpBytes(src)]), dst.url, { force: true, reporter }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as Error).message).toMatch(/left unchanged/);
    expect((err as StrongboxError).hint).toMatch(/restore into an empty database/);
    expect(await fingerprint(dst)).toBe(before);
  });

  it('says an empty database is empty', async () => {
    const d = await db('sb_empty');
    expect(await isPostgresDatabaseEmpty(d.url)).toBe(true);
    await d.sql('CREATE SEQUENCE s');
    expect(await isPostgresDatabaseEmpty(d.url)).toBe(false);
  });

  it('never puts the password in argv, messages or logs; the tools get it as PGPASSWORD', async () => {
    const src = await db('sb_pw');
    await src.sql('CREATE TABLE t (v int); INSERT INTO t VALUES (42)');
    const dst = await db('sb_pw_dst');
    const password = 'Pw-xyzzy/plugh@42';
    const encoded = encodeURIComponent(password);
    const withPw = (d: TestDatabase) => `postgres://${PG_USER}:${encoded}@${PG_HOST}:${PG_PORT}/${d.name}`;
    const log = join(tools, 'argv.log');
    const record = (real: string) => `{ printf '%s\\n' "${real}" "$@"; echo "PGPASSWORD=$PGPASSWORD"; } >> "${log}"\nexec ${real} "$@"`;
    const pgDump = await script('pg_dump-rec', record('pg_dump'));
    const pgRestore = await script('pg_restore-rec', record('pg_restore'));
    const psql = await script('psql-rec', record('psql'));
    const { reporter, lines } = capturingReporter();

    const dump = await dumpPostgres(withPw(src), reporter, { pgDump, psql });
    await Promise.all([restorePostgres(dump.stream, withPw(dst), { force: false, reporter, pgRestore, psql }), dump.completed]);
    expect(await dst.sql('SELECT v FROM t')).toBe('42\n');
    const failed = await dumpPostgres(withPw(src).replace(/\/[^/]+$/, '/sb_missing_db'), reporter, { pgDump, psql }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(StrongboxError);

    const recorded = await readFile(log, 'utf8');
    const argvLines = recorded.split('\n').filter((l) => !l.startsWith('PGPASSWORD='));
    const envLines = recorded.split('\n').filter((l) => l.startsWith('PGPASSWORD='));
    expect(argvLines.some((l) => l.includes('--single-transaction'))).toBe(true);
    expect(argvLines.some((l) => l.includes('--format=custom'))).toBe(true);
    for (const secret of [password, encoded, 'xyzzy']) {
      expect(argvLines.join('\n')).not.toContain(secret);
      expect(lines.join('\n')).not.toContain(secret);
      expect(String((failed as Error).message)).not.toContain(secret);
    }
    expect(envLines.length).toBeGreaterThanOrEqual(4);
    for (const l of envLines) expect(l).toBe(`PGPASSWORD=${password}`);
  });
});
