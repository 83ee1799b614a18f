import type { ContractFixture } from '../source-contract.js';
import { RICH_SCHEMA, createMysqlDatabase, mysqlSql, testDatabase, uniqueName, workDatabases, type MysqlTestDatabase } from '../mysql.js';

/** Each database's name from its URL (the fixture is handed back only what `--mysql` would get). */
function nameOf(url: string): string {
  return decodeURIComponent(new URL(url.replace(/^mysql:/, 'http:')).pathname.slice(1));
}

async function dropWithWork(db: MysqlTestDatabase): Promise<void> {
  for (const w of await workDatabases(db.name).catch(() => [])) await mysqlSql(null, `DROP DATABASE IF EXISTS \`${w}\``).catch(() => {});
  await db.drop();
}

/** MariaDB at 127.0.0.1:3306 (root, no password): the contract suite's MySQL source. */
export const mysqlFixture: ContractFixture = {
  kind: 'mysql',
  async makeSource() {
    const db = await createMysqlDatabase('ct_my_src');
    await db.sql(RICH_SCHEMA);
    return { location: db.url, cleanup: () => dropWithWork(db) };
  },
  async makeTarget() {
    // Not created: a restore creates the database (with the backup's character set).
    const db = testDatabase(uniqueName('ct_my_tgt'));
    return { target: db.url, cleanup: () => dropWithWork(db) };
  },
  async fill(target) {
    const name = nameOf(target);
    await mysqlSql(null, `CREATE DATABASE IF NOT EXISTS \`${name}\``);
    await mysqlSql(
      name,
      `CREATE TABLE other_data (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO other_data VALUES (1, 'not'), (2, 'the backup');
       CREATE TABLE customers (id INT PRIMARY KEY); INSERT INTO customers VALUES (42);
       CREATE VIEW other_view AS SELECT id FROM other_data;`,
    );
  },
  async fingerprint(location) {
    const db = testDatabase(nameOf(location));
    return `${await db.checksums()}\n--\n${await db.programs()}`;
  },
  async failingSource() {
    // A database that does not exist: the dump fails before any byte is written.
    const db = testDatabase(uniqueName('ct_my_missing'));
    return { location: db.url, cleanup: () => db.drop() };
  },
  confirmName(target) {
    return nameOf(target);
  },
};
