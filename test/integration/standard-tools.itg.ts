/**
 * The escape hatch the README promises for every database source: with the identity file and
 * the standard tools (age, zstd, the engine's own client), a backup made by the CLI restores
 * without Strongbox. Complements age-interop.itg.ts (the age format) and roundtrip.itg.ts (PostgreSQL).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { MY_HOST, MY_PORT, MY_USER, mysqlSql, mysqlTestDatabases } from '../helpers/mysql.js';

const run = promisify(execFile);
let work: string;
let key: string;
let recipient: string;
const mysqlDbs = mysqlTestDatabases();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sb-stdtools-'));
  await writeFile(join(work, 'not-empty'), '');
  key = join(work, 'key.txt');
  await run('age-keygen', ['-o', key]);
  recipient = (await run('age-keygen', ['-y', key])).stdout.trim();
});
afterAll(async () => {
  await mysqlDbs.dropAll();
  await rm(work, { recursive: true, force: true });
});

/** The one stored object of the artifact `name` in the repository's only backup. */
async function storedObject(repo: string, prefix: string): Promise<string> {
  const ids = (await readdir(repo)).filter((n) => /^\d{8}T/.test(n));
  expect(ids).toHaveLength(1);
  const objects = (await readdir(join(repo, ids[0]!))).filter((n) => n.startsWith(prefix));
  expect(objects).toHaveLength(1);
  return join(repo, ids[0]!, objects[0]!);
}

describe('restoring database backups with the standard tools', () => {
  it('MariaDB: age -d -i key.txt < mysql-DB.sql.zst.age | zstd -d | mariadb DB', async () => {
    const source = await mysqlDbs.create(
      'std_src',
      `CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40) CHARACTER SET utf8mb4, b VARBINARY(16)) ENGINE=InnoDB;
       INSERT INTO t VALUES (1, 'plain', 0x00ff10), (2, 'emoji 🦀', NULL), (3, 'quote \\' and \\\\', '');
       CREATE VIEW v AS SELECT id FROM t WHERE id > 1;`,
    );
    const repo = join(work, 'repo-mysql');
    const b = await runCli(['backup', '--to', repo, '--init', '--mysql', source.url, '--recipient', recipient]);
    expect(b.code, b.stderr).toBe(0);
    const object = await storedObject(repo, 'mysql-');
    expect(object).toMatch(/\.sql\.zst\.age$/);
    const target = await mysqlDbs.create('std_dst');
    await run('bash', ['-c', `set -o pipefail; age -d -i "$1" < "$2" | zstd -d | mariadb -h ${MY_HOST} -P ${MY_PORT} -u ${MY_USER} "$3"`, 'restore', key, object, target.name]);
    expect(await target.checksums()).toBe(await source.checksums());
    expect(await target.sql('SELECT GROUP_CONCAT(id ORDER BY id) FROM v')).toContain('2,3');
  });

  it('SQLite: age -d -i key.txt < sqlite-APP.sqlite.zst.age | zstd -d > app.db, and integrity_check says ok', async () => {
    const db = join(work, 'app.db');
    await run('sqlite3', [db, `PRAGMA journal_mode=WAL; CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, blob BLOB);
      INSERT INTO notes (body, blob) VALUES ('first', x'00ff'), ('emoji 🦀', NULL), ('quote '' here', zeroblob(3000));
      CREATE INDEX notes_body ON notes(body); CREATE VIEW long AS SELECT id FROM notes WHERE length(body) > 5;`]);
    const repo = join(work, 'repo-sqlite');
    const b = await runCli(['backup', '--to', repo, '--init', '--sqlite', db, '--recipient', recipient]);
    expect(b.code, b.stderr).toBe(0);
    const object = await storedObject(repo, 'sqlite-');
    expect(object).toMatch(/\.sqlite\.zst\.age$/);
    const restored = join(work, 'restored.db');
    await run('bash', ['-c', 'set -o pipefail; age -d -i "$1" < "$2" | zstd -d > "$3"', 'restore', key, object, restored]);
    expect((await run('sqlite3', [restored, 'PRAGMA integrity_check'])).stdout.trim()).toBe('ok');
    const dump = async (file: string) => (await run('sqlite3', [file, '.dump'])).stdout;
    expect(await dump(restored)).toBe(await dump(db));
  });
});

describe('a restore whose adapter fails before it reads the backup', () => {
  it('exits at once with the error (MySQL: a user who may not create the staging database)', async () => {
    // Large enough that the decrypted stream cannot sit in pipe buffers: unread, it blocks its writers.
    const source = await mysqlDbs.create('std_priv_src', `CREATE TABLE t (id INT PRIMARY KEY, pad VARCHAR(200)) ENGINE=InnoDB;
      INSERT INTO t SELECT seq, REPEAT(MD5(seq), 6) FROM seq_1_to_60000;`);
    const repo = join(work, 'repo-priv');
    const b = await runCli(['backup', '--to', repo, '--init', '--mysql', source.url, '--recipient', recipient]);
    expect(b.code, b.stderr).toBe(0);
    const target = await mysqlDbs.create('std_priv_dst');
    const user = `sbpriv${process.pid}`;
    await mysqlSql(null, `CREATE USER '${user}'@'%' IDENTIFIED BY 'priv-pw-123'; GRANT ALL ON \`${target.name}\`.* TO '${user}'@'%'`);
    try {
      const started = Date.now();
      const r = await runCli(['restore', '--from', repo, '--identity-file', key, '--mysql-target-env', 'SB_TARGET'], {
        env: { SB_TARGET: `mysql://${user}:priv-pw-123@${MY_HOST}:${MY_PORT}/${target.name}` },
      });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr).toMatch(/error: .*CREATE DATABASE|Access denied/s);
      expect(r.stderr).not.toContain('priv-pw-123');
      // Not a hang: the decryptor and zstd behind the unread input are torn down.
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(await target.sql('SHOW TABLES')).toBe('');
    } finally {
      await mysqlSql(null, `DROP USER IF EXISTS '${user}'@'%'`);
    }
  }, 90_000);
});
