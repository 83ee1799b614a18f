import { afterAll, describe, expect, it } from 'vitest';
import { mysqlAdapter } from '../../src/sources/mysql/index.js';
import { postgresAdapter } from '../../src/sources/postgres/index.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { mysqlTestDatabases } from '../helpers/mysql.js';
import { testDatabases } from '../helpers/pg.js';
import { holdTableLock, releaseTableLock } from '../helpers/pg-locks.js';

/**
 * The servers' own size statistics, as the progress line's total: read from the catalog (no
 * scan), in the order of magnitude of the data, and growing with it.
 */
const pg = testDatabases();
const my = mysqlTestDatabases();
afterAll(async () => {
  await pg.dropAll();
  await my.dropAll();
});
const ctx = { reporter: silentReporter, leaveOut: [] };

describe('size estimates of database sources', () => {
  it('PostgreSQL: the tables\' size, about the data written (indexes not counted)', async () => {
    const db = await pg.create('estimate', `CREATE TABLE t (id int PRIMARY KEY, body text);
      INSERT INTO t SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 20000) g; ANALYZE t;`);
    const est = await postgresAdapter.estimateSize!({ kind: 'postgres', location: db.url }, ctx);
    // 20,000 rows of 256 characters: about 5 MiB of text.
    expect(est!.bytes).toBeGreaterThan(4 << 20);
    expect(est!.bytes).toBeLessThan(12 << 20);
    const empty = await pg.create('estimate_empty', 'SELECT 1');
    expect((await postgresAdapter.estimateSize!({ kind: 'postgres', location: empty.url }, ctx))!.bytes).toBe(0);
  });

  it('PostgreSQL: a table locked by a migration does not stall the estimate; the planner\'s page counts answer', async () => {
    const db = await pg.create('estimate_locked', `CREATE TABLE t (id int PRIMARY KEY, body text);
      INSERT INTO t SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 20000) g;`);
    await db.sql('VACUUM ANALYZE t'); // what autovacuum does: the page counts the fallback reads
    const holder = await holdTableLock(db, 't');
    try {
      const started = Date.now();
      const est = await postgresAdapter.estimateSize!({ kind: 'postgres', location: db.url }, ctx);
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(est!.bytes).toBeGreaterThan(4 << 20);
      expect(est!.bytes).toBeLessThan(12 << 20);
    } finally {
      await releaseTableLock(db);
      holder.kill();
    }
  });

  it('MySQL/MariaDB: the sum of data_length of the database\'s tables', async () => {
    const db = await my.create('estimate', `CREATE TABLE t (id int PRIMARY KEY, body text);
      INSERT INTO t SELECT seq, REPEAT(MD5(seq), 8) FROM seq_1_to_20000; ANALYZE TABLE t;`);
    const est = await mysqlAdapter.estimateSize!({ kind: 'mysql', location: db.url }, ctx);
    expect(est!.bytes).toBeGreaterThan(2 << 20);
    expect(est!.bytes).toBeLessThan(16 << 20);
  });
});
