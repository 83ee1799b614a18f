import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { namePrefix } from '../../src/sources/mysql/staging.js';

const run = promisify(execFile);

/** The throwaway-database server of the integration tests: local MariaDB, root without a password. */
export const MY_HOST = process.env.STRONGBOX_TEST_MYHOST ?? '127.0.0.1';
export const MY_PORT = Number(process.env.STRONGBOX_TEST_MYPORT ?? 3306);
export const MY_USER = process.env.STRONGBOX_TEST_MYUSER ?? 'root';

const base = ['-h', MY_HOST, '-P', String(MY_PORT), '-u', MY_USER, '--batch', '--skip-column-names', '--default-character-set=utf8mb4'];

/** Runs SQL (on stdin; stops at the first error) as the test server's admin and returns its batch output. */
export function mysqlSql(database: string | null, sql: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('mariadb', [...base, ...(database ? [database] : [])], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, MYSQL_PWD: '' } });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`mariadb exited ${code}: ${err.trim()}`))));
    child.stdin.end(sql);
  });
}

export interface MysqlTestDatabase {
  name: string;
  /** mysql://root@host:port/name (no password). */
  url: string;
  sql(query: string): Promise<string>;
  /** CHECKSUM TABLE of every base table, `name=checksum` lines sorted: equal for equal rows. */
  checksums(): Promise<string>;
  /** Names of views, triggers, routines and events, sorted: what a restore must bring back. */
  programs(): Promise<string>;
  drop(): Promise<void>;
}

export function uniqueName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, 20);
  return `${clean}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

export function testDatabase(name: string): MysqlTestDatabase {
  return {
    name,
    url: `mysql://${MY_USER}@${MY_HOST}:${MY_PORT}/${encodeURIComponent(name)}`,
    sql: (q) => mysqlSql(name, q),
    async checksums() {
      const tables = (await mysqlSql(null, `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${name}' AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`)).split('\n').filter(Boolean);
      if (!tables.length) return '';
      const out = await mysqlSql(name, `CHECKSUM TABLE ${tables.map((t) => `\`${t}\``).join(', ')} EXTENDED`);
      return out
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [full, sum] = l.split('\t');
          return `${full!.slice(name.length + 1)}=${sum}`;
        })
        .sort()
        .join('\n');
    },
    async programs() {
      const out = await mysqlSql(
        null,
        `SELECT CONCAT('view ', TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '${name}'
         UNION ALL SELECT CONCAT('trigger ', TRIGGER_NAME, ' on ', EVENT_OBJECT_TABLE) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '${name}'
         UNION ALL SELECT CONCAT(LOWER(ROUTINE_TYPE), ' ', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '${name}'
         UNION ALL SELECT CONCAT('event ', EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '${name}'`,
      );
      return out.split('\n').filter(Boolean).sort().join('\n');
    },
    drop: async () => {
      await mysqlSql(null, `DROP DATABASE IF EXISTS \`${name}\``);
    },
  };
}

/** Creates an empty database with a unique name. */
export async function createMysqlDatabase(prefix: string): Promise<MysqlTestDatabase> {
  const db = testDatabase(uniqueName(prefix));
  await mysqlSql(null, `CREATE DATABASE \`${db.name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  return db;
}

/** Databases left by a restore next to `name` (staging, trash). */
export async function workDatabases(name: string): Promise<string[]> {
  const out = await mysqlSql(null, `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${namePrefix(name)}\\_\\_strongbox\\_%'`);
  return out.split('\n').filter(Boolean);
}

/**
 * The databases (and users) one test file creates: `create` makes one and runs its setup SQL;
 * `dropAll` (in afterAll) removes every one with whatever restores left next to it.
 */
export function mysqlTestDatabases(): { create(prefix: string, sql?: string): Promise<MysqlTestDatabase>; name(prefix: string): MysqlTestDatabase; dropAll(): Promise<void> } {
  const dbs: MysqlTestDatabase[] = [];
  return {
    async create(prefix, sql) {
      const db = await createMysqlDatabase(prefix);
      dbs.push(db);
      if (sql) await db.sql(sql);
      return db;
    },
    name(prefix) {
      const db = testDatabase(uniqueName(prefix));
      dbs.push(db);
      return db;
    },
    async dropAll() {
      for (const db of dbs.splice(0)) {
        for (const w of await workDatabases(db.name).catch(() => [])) await mysqlSql(null, `DROP DATABASE IF EXISTS \`${w}\``).catch(() => {});
        await db.drop().catch(() => {});
      }
    },
  };
}

export async function mysqlAvailable(): Promise<boolean> {
  try {
    await run('mysqladmin', ['-h', MY_HOST, '-P', String(MY_PORT), '-u', MY_USER, 'ping']);
    return true;
  } catch {
    return false;
  }
}

/** A schema with what a round trip must keep: utf8mb4 text, binary blobs, a foreign key, a view on a view, a trigger, routines, an event and a (MariaDB) sequence. */
export const RICH_SCHEMA = `
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, note TEXT) ENGINE=InnoDB;
CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2), payload BLOB, created DATETIME(6),
  FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(50)) ENGINE=InnoDB;
CREATE TABLE empty_one (id INT PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO customers VALUES (1, 'Zoë 😀 Smith', 'line1\\nline2\\ttab \\\\ backslash '' quote'), (2, '名前', NULL), (3, 'paren ( ) , ; in text', '),(');
INSERT INTO orders (customer_id, total, payload, created) VALUES
  (1, 10.50, UNHEX('00FF10275C0A0D1A'), '2024-01-02 03:04:05.123456'), (2, 0.01, UNHEX(REPEAT('DEADBEEF', 1000)), NULL), (3, NULL, '', '2024-12-31 23:59:59');
CREATE VIEW big_orders AS SELECT o.id, c.name, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.total > 1;
CREATE VIEW big_order_names AS SELECT name FROM big_orders;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('order ', NEW.id));
CREATE FUNCTION order_count() RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM orders);
DELIMITER //
CREATE PROCEDURE add_order(IN c INT) BEGIN INSERT INTO orders (customer_id, total) VALUES (c, 1.00); SELECT order_count(); END //
DELIMITER ;
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM audit;
CREATE SEQUENCE invoice_no START WITH 1000;
SELECT NEXTVAL(invoice_no);
`;
