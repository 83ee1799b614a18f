import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The throwaway-database server of the integration tests: local PostgreSQL, trust auth. */
export const PG_HOST = process.env.STRONGBOX_TEST_PGHOST ?? '127.0.0.1';
export const PG_PORT = Number(process.env.STRONGBOX_TEST_PGPORT ?? 5432);
export const PG_USER = process.env.STRONGBOX_TEST_PGUSER ?? 'postgres';

export interface TestDatabase {
  name: string;
  /** postgres://user@host:port/name (no password: the test server trusts loopback). */
  url: string;
  drop(): Promise<void>;
  /** Runs SQL through psql (stops at the first error) and returns its unaligned, tuples-only output. */
  sql(query: string): Promise<string>;
}

async function psql(database: string, query: string): Promise<string> {
  const { stdout } = await run(
    'psql',
    ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER, '-d', database, '-c', query],
    { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, PGCONNECT_TIMEOUT: '10' } },
  );
  return stdout;
}

/** Creates an empty database with a unique name; `drop()` removes it even with open connections. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, 30);
  const name = `${clean}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await psql('postgres', `CREATE DATABASE "${name}"`);
  return {
    name,
    url: `postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/${name}`,
    drop: async () => {
      await psql('postgres', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
    sql: (query) => psql(name, query),
  };
}

/**
 * The databases one test file creates: `create` makes one and runs its setup SQL, `dropAll`
 * (in afterAll) removes every one, even with connections still open.
 */
export function testDatabases(): { create(prefix: string, sql: string): Promise<TestDatabase>; dropAll(): Promise<void> } {
  const dbs: TestDatabase[] = [];
  return {
    async create(prefix, sql) {
      const db = await createTestDatabase(prefix);
      dbs.push(db);
      await db.sql(sql);
      return db;
    },
    async dropAll() {
      for (const db of dbs.splice(0)) await db.drop().catch(() => {});
    },
  };
}
