import { createTestDatabase } from '../pg.js';
import type { ContractFixture } from '../source-contract.js';
import { parsePostgresUrl } from '../../../src/sources/postgres/url.js';

const DATA = `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2));
INSERT INTO items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 500) g;
CREATE VIEW cheap AS SELECT * FROM items WHERE price < 100;
CREATE SEQUENCE counter START 42;`;

const dbs = new Map<string, Awaited<ReturnType<typeof createTestDatabase>>>();
async function make(prefix: string, sql?: string) {
  const db = await createTestDatabase(prefix);
  dbs.set(db.url, db);
  if (sql) await db.sql(sql);
  return { location: db.url, target: db.url, cleanup: () => db.drop() };
}

/** Every table's ordered rows, the views' definitions and the sequence's position, hashed by the server. */
const FINGERPRINT = `SELECT md5(coalesce((SELECT string_agg(t::text, ';' ORDER BY t.id) FROM items t), '')) || ':' ||
  coalesce((SELECT string_agg(c.relname || '/' || c.relkind::text, ',' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'), '') || ':' ||
  coalesce((SELECT last_value::text FROM counter), '')`;

export const postgresFixture: ContractFixture = {
  kind: 'postgres',
  makeSource: () => make('contract_src', DATA),
  makeTarget: () => make('contract_dst'),
  fill: async (target) => {
    await dbs.get(target)!.sql(`CREATE TABLE other (x int); INSERT INTO other VALUES (1), (2);`);
  },
  fingerprint: async (location) => {
    const db = dbs.get(location)!;
    // A database without the fixture's tables fingerprints by what it has.
    const has = (await db.sql(`SELECT to_regclass('public.items') IS NOT NULL AND to_regclass('public.counter') IS NOT NULL`)).trim() === 't';
    if (!has) return `other:${(await db.sql(`SELECT coalesce(string_agg(relname, ',' ORDER BY relname), '') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`)).trim()}`;
    return (await db.sql(FINGERPRINT)).trim();
  },
  failingSource: async () => {
    const db = await createTestDatabase('contract_gone');
    const url = db.url;
    await db.drop(); // a database that does not exist: pg_dump cannot connect
    return { location: url, cleanup: async () => {} };
  },
  confirmName: (target) => parsePostgresUrl(target).database,
};
