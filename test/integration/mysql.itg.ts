import { execFile, spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlAdapter } from '../../src/sources/mysql/index.js';
import { setMaxQueryOutput } from '../../src/sources/mysql/client.js';
import { IntegrityError, RefusedError, StrongboxError, VerificationError } from '../../src/shared/errors.js';
import { CancelledError, cancel, resetCancellation } from '../../src/shared/cancel.js';
import type { Reporter } from '../../src/shared/reporter.js';
import type { RestoreArtifact, SourceDump, SourceSpec } from '../../src/sources/adapter.js';
import { MY_HOST, MY_PORT, RICH_SCHEMA, mysqlSql, mysqlTestDatabases, workDatabases, type MysqlTestDatabase } from '../helpers/mysql.js';

const run = promisify(execFile);
const dbs = mysqlTestDatabases();
const work = mkdtempSync(join(tmpdir(), 'strongbox-mysql-itg-'));
const users: string[] = [];

afterAll(async () => {
  await dbs.dropAll();
  for (const u of users) await mysqlSql(null, `DROP USER IF EXISTS '${u}'@'%'`).catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

interface Captured extends Reporter {
  warnings: string[];
  lines: string[];
}
function capture(): Captured {
  const warnings: string[] = [];
  const lines: string[] = [];
  return {
    warnings,
    lines,
    debug: (m) => lines.push(m),
    info: (m) => lines.push(m),
    warning: (m) => {
      warnings.push(m);
      lines.push(m);
    },
    error: (m) => lines.push(m),
    setSecret: () => {},
  };
}

let seq = 0;
/** Dumps `url` into a file; returns the dump (completed) and the file. */
async function dumpToFile(url: string, reporter: Reporter = capture(), options: SourceSpec['options'] = {}): Promise<{ dump: SourceDump; file: string }> {
  const file = join(work, `dump-${++seq}.sql`);
  const dump = await mysqlAdapter.dump({ kind: 'mysql', location: url, options }, { reporter, leaveOut: [] });
  await pipeline(dump.stream, createWriteStream(file));
  await dump.completed;
  return { dump, file };
}

function artifactOf(dump: SourceDump): RestoreArtifact {
  return { name: 'mysql-db', kind: 'mysql', source: dump.details, ...(dump.rowCounts ? { rowCounts: dump.rowCounts } : {}), ...(dump.rowCountMode ? { rowCountMode: dump.rowCountMode } : {}) };
}

function restoreFile(file: string, target: string, artifact: RestoreArtifact, force = false, reporter: Reporter = capture()): Promise<void> {
  return mysqlAdapter.restore(createReadStream(file), target, artifact, { reporter, force });
}

async function state(db: MysqlTestDatabase): Promise<string> {
  return `${await db.checksums()}\n--\n${await db.programs()}`;
}

const OTHER = `CREATE TABLE keep_me (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO keep_me VALUES (1, 'old'), (2, 'data');
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(10)); INSERT INTO customers VALUES (9, 'other');
CREATE TRIGGER keep_trg BEFORE INSERT ON keep_me FOR EACH ROW SET NEW.v = UPPER(NEW.v);
CREATE VIEW keep_view AS SELECT id FROM keep_me;
CREATE PROCEDURE keep_proc() SELECT 1;`;

describe('MySQL/MariaDB adapter against the real server', () => {
  let source: MysqlTestDatabase;
  let dumped: { dump: SourceDump; file: string };

  beforeAll(async () => {
    source = await dbs.create('my_src', RICH_SCHEMA);
    dumped = await dumpToFile(source.url);
  });

  it('records engine, versions and exact row counts as the dump saw them, and never a password', async () => {
    const d = dumped.dump;
    expect(d.details).toMatchObject({ engine: 'mariadb', host: MY_HOST, port: MY_PORT, database: source.name, format: 'sql' });
    expect(String(d.details.serverVersion)).toMatch(/^10\.11\.\d+-MariaDB/);
    expect(String(d.details.clientVersion)).toMatch(/^mariadb-dump 10\.11\.\d+$/);
    expect(d.rowCountMode).toBe('exact');
    expect(d.rowCounts).toEqual({ audit: 0, customers: 3, empty_one: 0, orders: 3 });
    expect(mysqlAdapter.sourceIdentity(d.details)).toBe(`${MY_HOST}:${MY_PORT}/${source.name}`);
    const text = readFileSync(dumped.file, 'utf8');
    expect(text).not.toMatch(/^USE |^CREATE DATABASE/m);
    expect(text.trimEnd().endsWith('-- Dump completed')).toBe(true);
  });

  it('round trip into a database that does not exist yet: every table checksum-equal, views, triggers, routines and events back and working', async () => {
    const target = dbs.name('my_rt');
    expect(await mysqlAdapter.isTargetEmpty(target.url, { reporter: capture(), force: false })).toBe(true);
    expect(await mysqlAdapter.safetySource(target.url)).toBeUndefined();
    await restoreFile(dumped.file, target.url, artifactOf(dumped.dump));
    expect(await target.checksums()).toBe(await source.checksums());
    expect(await target.programs()).toBe(await source.programs());
    expect(await target.programs()).toContain('trigger orders_audit on orders');
    // utf8mb4 and binary exact, and the code works against the restored tables.
    expect(await target.sql("SELECT name FROM customers WHERE id = 1")).toBe('Zoë 😀 Smith\n');
    expect(await target.sql('SELECT HEX(payload) FROM orders WHERE id = 1')).toBe('00FF10275C0A0D1A\n');
    expect(await target.sql('SELECT COUNT(*) FROM big_order_names')).toBe('1\n');
    // The sequence came back past the value the source had handed out (MariaDB may skip up to its cache size).
    expect(Number(await target.sql('SELECT NEXTVAL(invoice_no)'))).toBeGreaterThan(1000);
    await target.sql('CALL add_order(2)');
    expect(await target.sql('SELECT order_count(), (SELECT COUNT(*) FROM audit)')).toBe('4\t1\n');
    expect(await workDatabases(target.name)).toEqual([]);
    expect(await mysqlAdapter.isTargetEmpty(target.url, { reporter: capture(), force: false })).toBe(false);
    expect(await mysqlAdapter.safetySource(target.url)).toEqual({ kind: 'mysql', location: target.url, options: { rowCounts: 'exact' } });
    expect(await mysqlAdapter.countQueryRows!(target.url, 'SELECT id FROM customers WHERE id > 1', { reporter: capture(), force: false })).toBe(2);
    expect(await mysqlAdapter.countQueryRows!(target.url, 'SELECT id FROM customers WHERE id > 100', { reporter: capture(), force: false })).toBe(0);
  });

  it('a non-empty target is refused without --force and left alone; with --force it ends up equal to the backup', async () => {
    const target = await dbs.create('my_force', OTHER);
    const before = await state(target);
    expect(await mysqlAdapter.isTargetEmpty(target.url, { reporter: capture(), force: false })).toBe(false);
    await expect(restoreFile(dumped.file, target.url, artifactOf(dumped.dump))).rejects.toBeInstanceOf(RefusedError);
    expect(await state(target)).toBe(before);
    await restoreFile(dumped.file, target.url, artifactOf(dumped.dump), true);
    expect(await target.checksums()).toBe(await source.checksums());
    expect(await target.programs()).toBe(await source.programs());
    expect(await workDatabases(target.name)).toEqual([]);
  });

  it('a target holding only a view or a routine is not empty', async () => {
    const target = await dbs.create('my_onlyproc', 'CREATE PROCEDURE p() SELECT 1;');
    expect(await mysqlAdapter.isTargetEmpty(target.url, { reporter: capture(), force: false })).toBe(false);
  });

  it('a swap that cannot take its locks (--db-lock-timeout) leaves the target as it was, and its triggers stay in place WHILE the RENAME waits', async () => {
    const target = await dbs.create('my_locked', OTHER);
    const before = await state(target);
    // Another session reads `customers` in an open transaction: RENAME TABLE must wait for it.
    const holder = spawn('mariadb', ['-h', MY_HOST, '-P', String(MY_PORT), '-u', 'root', '--unbuffered', target.name], { stdio: ['pipe', 'pipe', 'inherit'] });
    const holderGone = new Promise<void>((r) => holder.on('close', () => r()));
    const held = new Promise<void>((r) => holder.stdout.once('data', () => r()));
    holder.stdin.write('START TRANSACTION; SELECT COUNT(*) FROM customers;\n');
    await held;
    let during = '';
    try {
      const restoring = mysqlAdapter
        .restore(createReadStream(dumped.file), target.url, artifactOf(dumped.dump), { reporter: capture(), force: true, lockTimeoutMs: 4000 })
        .catch((e: unknown) => e);
      const deadline = Date.now() + 30_000;
      while (!during && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        if ((await mysqlSql(null, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'RENAME TABLE%'")) !== '0\n') during = await state(target);
      }
      const err = await restoring;
      expect(err).toBeInstanceOf(StrongboxError);
      expect((err as Error).message).toMatch(/could not swap the restored tables in.*Lock wait timeout[\s\S]*as it was/s);
    } finally {
      holder.stdin.end('ROLLBACK;\n');
      await holderGone;
    }
    // While RENAME waited, the application's writes still had their triggers: nothing of the target was touched.
    expect(during).toBe(before);
    expect(during).toContain('trigger keep_trg on keep_me');
    expect(await state(target)).toBe(before);
    expect(await workDatabases(target.name)).toEqual([]);
  });

  it('the swap client dies while RENAME waits, and the RENAME then commits on the server: the outcome is read from the server (tables swapped, old tables kept), never "unchanged"', async () => {
    const target = await dbs.create('my_diedclient', OTHER);
    const holder = spawn('mariadb', ['-h', MY_HOST, '-P', String(MY_PORT), '-u', 'root', '--unbuffered', target.name], { stdio: ['pipe', 'pipe', 'inherit'] });
    const holderGone = new Promise<void>((r) => holder.on('close', () => r()));
    const held = new Promise<void>((r) => holder.stdout.once('data', () => r()));
    holder.stdin.write('START TRANSACTION; SELECT COUNT(*) FROM customers;\n');
    await held;
    let err: unknown;
    try {
      const restoring = mysqlAdapter
        .restore(createReadStream(dumped.file), target.url, artifactOf(dumped.dump), { reporter: capture(), force: true, lockTimeoutMs: 30_000 })
        .catch((e: unknown) => e);
      const deadline = Date.now() + 30_000;
      let pid: number | undefined;
      while (pid === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        if ((await mysqlSql(null, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'RENAME TABLE%'")) === '0\n') continue;
        pid = findProcess((_args, fd0) => /strongbox-mysql-.*script\.sql/.test(fd0));
      }
      expect(pid).toBeDefined();
      process.kill(pid!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      holder.stdin.end('ROLLBACK;\n');
      err = await restoring;
    } finally {
      holder.stdin.end();
      await holderGone;
    }
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as Error).message).toMatch(/swapped the backup's tables in/);
    expect((err as Error).message).not.toMatch(/unchanged|as it was/);
    expect((err as StrongboxError).hint).toMatch(/previous tables are kept .*__sb_old_/);
    expect(await target.checksums()).toContain('customers=');
    // The backup's tables are in, and the old data is still there under its __sb_old_ name.
    expect(await target.sql('SELECT COUNT(*) FROM customers')).toBe('3\n');
    const old = (await target.sql("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '\\_\\_sb\\_old\\_%keep\\_me'")).trim();
    expect(old).toMatch(/^__sb_old_[0-9a-f]{8}_keep_me$/);
    expect(await target.sql(`SELECT v FROM \`${old}\` ORDER BY id`)).toBe('old\ndata\n');
    // The next restore explains it and keeps the old tables.
    const reporter = capture();
    await restoreFile(dumped.file, target.url, artifactOf(dumped.dump), true, reporter);
    expect(reporter.warnings.join('\n')).toMatch(/interrupted forced restore had replaced/);
    expect(await target.sql(`SELECT COUNT(*) FROM \`${old}\``)).toBe('2\n');
    expect(await workDatabases(target.name)).toEqual([]);
  });

  it('an old view named like a table of the backup is replaced by that table', async () => {
    const target = await dbs.create('my_viewclash', 'CREATE TABLE base (id INT); CREATE VIEW orders AS SELECT id FROM base;');
    await restoreFile(dumped.file, target.url, artifactOf(dumped.dump), true);
    expect(await target.checksums()).toBe(await source.checksums());
    expect(await target.programs()).toBe(await source.programs());
  });

  it('a failing statement midway leaves the target as it was, and no staging database', async () => {
    const target = await dbs.create('my_badsql', OTHER);
    const before = await state(target);
    const text = readFileSync(dumped.file, 'utf8');
    const cut = text.indexOf('-- Table structure for table `orders`');
    const bad = join(work, 'bad.sql');
    writeFileSync(bad, `${text.slice(0, cut)}INSERT INTO no_such_table VALUES (1);\n${text.slice(cut)}`);
    const err = await restoreFile(bad, target.url, { ...artifactOf(dumped.dump), rowCounts: undefined, rowCountMode: 'none' }, true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as Error).message).toMatch(/no_such_table[\s\S]*|left unchanged/);
    expect((err as Error).message).toContain('left unchanged');
    expect(await state(target)).toBe(before);
    expect(await workDatabases(target.name)).toEqual([]);
  });

  it('an input that fails midway (a damaged backup) keeps its error and exit code, and changes nothing', async () => {
    const target = await dbs.create('my_inputerr', OTHER);
    const before = await state(target);
    const text = readFileSync(dumped.file);
    const input = new Readable({
      read() {
        this.push(text.subarray(0, Math.floor(text.length / 2)));
        this.destroy(new IntegrityError('the backup failed authentication at chunk 3'));
      },
    });
    const err = await mysqlAdapter.restore(input, target.url, artifactOf(dumped.dump), { reporter: capture(), force: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as StrongboxError).exitCode).toBe(3);
    expect(await state(target)).toBe(before);
    expect(await workDatabases(target.name)).toEqual([]);
  });

  it('a cancellation while the data loads stops the restore, changes nothing and leaves no staging database', async () => {
    const target = await dbs.create('my_cancel', OTHER);
    const before = await state(target);
    const text = readFileSync(dumped.file);
    let sent = false;
    const input = new Readable({
      read() {
        if (sent) return; // then stalls, as a slow download would
        sent = true;
        this.push(text.subarray(0, 2000));
        setTimeout(() => cancel('SIGTERM'), 300);
      },
    });
    try {
      const err = await mysqlAdapter.restore(input, target.url, artifactOf(dumped.dump), { reporter: capture(), force: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CancelledError);
    } finally {
      resetCancellation();
    }
    expect(await state(target)).toBe(before);
    expect(await workDatabases(target.name)).toEqual([]);
  });

  it('a truncated dump (no completion marker) is refused and changes nothing', async () => {
    const target = await dbs.create('my_trunc', OTHER);
    const before = await state(target);
    const text = readFileSync(dumped.file, 'utf8');
    const short = join(work, 'short.sql');
    writeFileSync(short, text.slice(0, text.indexOf('-- Dumping routines')));
    await expect(restoreFile(short, target.url, { ...artifactOf(dumped.dump), rowCountMode: 'none' }, true)).rejects.toThrow(/Dump completed.*truncated/);
    expect(await state(target)).toBe(before);
    expect(await workDatabases(target.name)).toEqual([]);
  });

  it('a dump that switches database (made with --databases) is refused before it runs', async () => {
    const target = await dbs.create('my_use', OTHER);
    const before = await state(target);
    const other = dbs.name('my_use_victim');
    const file = join(work, 'use.sql');
    writeFileSync(file, `CREATE DATABASE \`${other.name}\`;\nUSE \`${other.name}\`;\nCREATE TABLE x (id INT);\n-- Dump completed\n`);
    await expect(restoreFile(file, target.url, { name: 'x', kind: 'mysql', source: {} }, true)).rejects.toThrow(/switches or creates a database/);
    expect(await state(target)).toBe(before);
    expect(await mysqlSql(null, `SHOW DATABASES LIKE '${other.name}'`)).toBe('');
  });

  it('a routine whose body has a comment line "use this to reset t" and a CREATE TABLE line at column 0 backs up and restores (no phantom table, no refusal)', async () => {
    const src = await dbs.create('my_routinebody', 'CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2);');
    // --comments: the client would strip the comment from the body otherwise.
    const sqlFile = join(work, 'routinebody.sql');
    writeFileSync(sqlFile, 'DELIMITER //\nCREATE PROCEDURE reset_t()\nBEGIN\n/*\nuse this to reset t\n*/\nCREATE TABLE `archive` (id int);\nDELETE FROM t;\nEND //\nDELIMITER ;\n');
    await run('bash', ['-c', `mariadb --comments -h ${MY_HOST} -P ${MY_PORT} -u root "$1" < "$2"`, 'x', src.name, sqlFile]);
    const { dump, file } = await dumpToFile(src.url);
    expect(readFileSync(file, 'utf8')).toMatch(/^use this to reset t$/m);
    expect(readFileSync(file, 'utf8')).toMatch(/^CREATE TABLE `archive`/m);
    expect(dump.rowCounts).toEqual({ t: 2 });
    const target = await dbs.create('my_routinebody_t');
    await restoreFile(file, target.url, artifactOf(dump));
    expect(await target.checksums()).toBe(await src.checksums());
    expect(await target.programs()).toBe('procedure reset_t');
  });

  it('a dump that switches database is refused at backup time: nothing is kept', async () => {
    const db = await dbs.create('my_dumpuse', 'CREATE TABLE t (id INT);');
    const shimDir = mkdtempSync(join(work, 'useshim-'));
    const real = (await run('bash', ['-c', 'command -v mariadb-dump'])).stdout.trim();
    // A dump tool that behaves as if an option file added --databases.
    writeFileSync(join(shimDir, 'mariadb-dump'), `#!/bin/bash\nif [ "$1" = "--version" ]; then exec ${real} --version; fi\nexec ${real} "$@" | sed '2a USE \\\`${db.name}\\\`;'\n`);
    chmodSync(join(shimDir, 'mariadb-dump'), 0o755);
    const oldPath = process.env.PATH;
    process.env.PATH = `${shimDir}:${oldPath}`;
    try {
      await expect(dumpToFile(db.url)).rejects.toThrow(/switches or creates a database.*USE.*not kept/);
    } finally {
      process.env.PATH = oldPath;
    }
  });

  it('a query whose output is larger than the client reads into memory fails clearly instead of returning cut rows', async () => {
    const db = await dbs.create('my_bigout', 'CREATE TABLE t (id INT PRIMARY KEY, pad VARCHAR(100)); INSERT INTO t SELECT seq, REPEAT(\'x\', 100) FROM seq_1_to_20000;');
    expect(await mysqlAdapter.countQueryRows!(db.url, 'SELECT * FROM t', { reporter: capture(), force: false })).toBe(20000);
    setMaxQueryOutput(1 << 20);
    try {
      await expect(mysqlAdapter.countQueryRows!(db.url, 'SELECT * FROM t', { reporter: capture(), force: false })).rejects.toThrow(/returned more than 1 MiB of output/);
    } finally {
      setMaxQueryOutput(64 << 20);
    }
  });

  it('a tampered row count fails the restore with a VerificationError and leaves the target unchanged', async () => {
    const target = await dbs.create('my_count', OTHER);
    const before = await state(target);
    const artifact = artifactOf(dumped.dump);
    const err = await restoreFile(dumped.file, target.url, { ...artifact, rowCounts: { ...artifact.rowCounts, orders: 4 } }, true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toContain('table orders: 3 rows restored, the backup recorded 4');
    expect(await state(target)).toBe(before);
    expect(await workDatabases(target.name)).toEqual([]);
  });

  it('estimate and none row-count modes', async () => {
    const est = await dumpToFile(source.url, capture(), { rowCounts: 'estimate' });
    expect(est.dump.rowCountMode).toBe('estimate');
    expect(Object.keys(est.dump.rowCounts ?? {}).sort()).toEqual(['audit', 'customers', 'empty_one', 'orders']);
    const none = await dumpToFile(source.url, capture(), { rowCounts: 'none' });
    expect(none.dump.rowCountMode).toBe('none');
    expect(none.dump.rowCounts).toBeUndefined();
  });

  it('the plaintext dump restores with the standard tools: zstd -d | mariadb DB', async () => {
    const target = await dbs.create('my_std');
    const zst = join(work, 'std.sql.zst');
    await run('zstd', ['-q', '-3', '-f', dumped.file, '-o', zst]);
    await run('bash', ['-c', `set -o pipefail; zstd -d -c "$1" | mariadb -h ${MY_HOST} -P ${MY_PORT} -u root "$2"`, 'restore', zst, target.name]);
    expect(await target.checksums()).toBe(await source.checksums());
    expect(await target.programs()).toBe(await source.programs());
  });
});

describe('MySQL dumps that must fail', () => {
  it('a database that does not exist rejects before any stream', async () => {
    const missing = dbs.name('my_missing');
    await expect(mysqlAdapter.dump({ kind: 'mysql', location: missing.url }, { reporter: capture(), leaveOut: [] })).rejects.toThrow(/does not exist/);
  });

  it('a killed mariadb-dump rejects `completed` and errors the stream', async () => {
    const big = await dbs.create('my_kill_dump', `CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(400)) ENGINE=InnoDB;
      INSERT INTO big SELECT seq, REPEAT(MD5(seq), 12) FROM seq_1_to_200000;`);
    const dump = await mysqlAdapter.dump({ kind: 'mysql', location: big.url }, { reporter: capture(), leaveOut: [] });
    let killed = false;
    let streamError: unknown;
    dump.stream.on('error', (e) => (streamError = e));
    dump.stream.on('data', () => {
      if (killed) return;
      killed = true;
      dump.stream.pause();
      const pid = findProcess((args) => args[0]!.endsWith('mariadb-dump') && args.includes(big.name));
      expect(pid).toBeDefined();
      process.kill(pid!, 'SIGKILL');
      setTimeout(() => dump.stream.resume(), 200);
    });
    await expect(dump.completed).rejects.toThrow(/killed by SIGKILL|incomplete|not kept/);
    expect(streamError).toBeInstanceOf(Error);
  });

  it('a MyISAM or Aria table gets a warning naming it, and is recorded', async () => {
    const db = await dbs.create('my_myisam', `CREATE TABLE good (id INT PRIMARY KEY) ENGINE=InnoDB; CREATE TABLE legacy (id INT) ENGINE=MyISAM;
      CREATE TABLE cache_t (id INT) ENGINE=Aria; INSERT INTO legacy VALUES (1), (2);`);
    const reporter = capture();
    const { dump } = await dumpToFile(db.url, reporter);
    const w = reporter.warnings.join('\n');
    expect(w).toMatch(/consistent snapshot/);
    expect(w).toContain('legacy (MyISAM)');
    expect(w).toContain('cache_t (Aria)');
    expect(w).not.toContain('good');
    expect(dump.details.nonTransactionalTables).toEqual(['cache_t (Aria)', 'legacy (MyISAM)']);
    expect(dump.rowCounts).toEqual({ cache_t: 0, good: 0, legacy: 2 });
  });
});

/** The pid of a process whose argv matches, read from /proc. */
function findProcess(match: (args: string[], fd0: string) => boolean): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      let fd0 = '';
      try {
        fd0 = readlinkSync(`/proc/${entry}/fd/0`);
      } catch {
        // not ours
      }
      if (args.length && match(args, fd0)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

function allCmdlines(): string[] {
  const out: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      out.push(readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' '));
    } catch {
      // gone
    }
  }
  return out;
}

describe('what the atomic swap cannot do, refused before the target is touched', () => {
  const SCHEMA = `CREATE TABLE parents (id INT PRIMARY KEY) ENGINE=InnoDB;
    CREATE TABLE kids (id INT PRIMARY KEY, parent INT, CONSTRAINT fk_kids_parent FOREIGN KEY (parent) REFERENCES parents (id)) ENGINE=InnoDB;`;

  it('named foreign keys shared with the target (Rails, Django, Laravel name theirs): exit 7, target unchanged; the same backup restores into an empty database', async () => {
    const source = await dbs.create('my_fkname_src', `${SCHEMA} INSERT INTO parents VALUES (1), (2); INSERT INTO kids VALUES (10, 1), (11, 2);`);
    const { dump, file } = await dumpToFile(source.url);
    const target = await dbs.create('my_fkname_dst', `${SCHEMA} INSERT INTO parents VALUES (7); INSERT INTO kids VALUES (70, 7);`);
    const before = await state(target);
    const err = await restoreFile(file, target.url, artifactOf(dump), true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toMatch(/foreign keys `fk_kids_parent` have the same names .*nothing was changed/);
    expect(await state(target)).toBe(before);
    expect(await workDatabases(target.name)).toEqual([]);
    const fresh = dbs.name('my_fkname_new');
    await restoreFile(file, fresh.url, artifactOf(dump));
    expect(await fresh.checksums()).toBe(await source.checksums());
  });

  it('a foreign key in another database referencing the target: exit 7, nothing changed', async () => {
    const source = await dbs.create('my_fkout_src', `CREATE TABLE parents (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO parents VALUES (1);`);
    const { dump, file } = await dumpToFile(source.url);
    const target = await dbs.create('my_fkout_dst', `CREATE TABLE parents (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO parents VALUES (5);`);
    const other = await dbs.create('my_fkout_other', `CREATE TABLE refs (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES \`${target.name}\`.parents (id)) ENGINE=InnoDB; INSERT INTO refs VALUES (1, 5);`);
    const before = await state(target);
    const err = await restoreFile(file, target.url, artifactOf(dump), true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toContain(`foreign keys in other databases reference tables of`);
    expect((err as Error).message).toContain(`${other.name}.refs`);
    expect(await state(target)).toBe(before);
  });
});

describe('a restore killed midway', () => {
  it('SIGKILL of the restoring process while it streams a large dump leaves the target unchanged; the next restore drops the stale staging database', async () => {
    const big = await dbs.create('my_kill_src', `CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(400)) ENGINE=InnoDB;
      INSERT INTO big SELECT seq, REPEAT(MD5(seq), 10) FROM seq_1_to_300000;`);
    const { dump, file } = await dumpToFile(big.url);
    const target = await dbs.create('my_kill_tgt', OTHER);
    const before = await state(target);
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../helpers/mysql-restore-child.ts'), file, target.url, 'force'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const closed = new Promise<void>((r) => child.on('close', () => r()));
    // Wait until rows are arriving in the staging database, then kill.
    const deadline = Date.now() + 60_000;
    let staged = false;
    while (!staged && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const w = (await workDatabases(target.name)).find((n) => n.includes('__strongbox_new_'));
      if (w) staged = (await mysqlSql(null, `SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${w}' AND TABLE_NAME = 'big'`)) === '1\n';
    }
    expect(staged, `restore never reached the staging database: ${out} ${err}`).toBe(true);
    child.kill('SIGKILL');
    await closed;
    expect(out).not.toContain('done');
    // The orphaned client may still be running what it had read: give it time to finish.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await state(target)).toBe(before);
    expect((await workDatabases(target.name)).length).toBe(1);
    // The next restore cleans up after the killed one and succeeds.
    const reporter = capture();
    await restoreFile(file, target.url, artifactOf(dump), true, reporter);
    expect(reporter.lines.join('\n')).toMatch(/dropping .*__strongbox_new_.* did not finish/);
    expect(await target.checksums()).toBe(await big.checksums());
    expect(await workDatabases(target.name)).toEqual([]);
  });
});

/**
 * Restores `file` with --force into `target` in a child process while another session holds a
 * table of the target (`customers`, in OTHER) in a transaction, SIGKILLs the child once its
 * RENAME TABLE waits for that lock, lets the lock go, and waits until the orphaned swap has
 * run to its end and its work databases are gone.
 */
async function killDuringRename(file: string, target: MysqlTestDatabase, settleMs = 0): Promise<void> {
  const holder = spawn('mariadb', ['-h', MY_HOST, '-P', String(MY_PORT), '-u', 'root', '--unbuffered', target.name], { stdio: ['pipe', 'pipe', 'inherit'] });
  const holderGone = new Promise<void>((r) => holder.on('close', () => r()));
  const held = new Promise<void>((r) => holder.stdout.once('data', () => r()));
  holder.stdin.write('START TRANSACTION; SELECT COUNT(*) FROM customers;\n');
  await held;
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../helpers/mysql-restore-child.ts'), file, target.url, 'force', '60000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  try {
    const deadline = Date.now() + 60_000;
    let waiting = false;
    while (!waiting && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      waiting = (await mysqlSql(null, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'RENAME TABLE%'")) !== '0\n';
    }
    expect(waiting).toBe(true);
    child.kill('SIGKILL');
    await closed;
    if (settleMs) await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    holder.stdin.end('ROLLBACK;\n');
    await holderGone;
  }
  const deadline = Date.now() + 30_000;
  while ((await workDatabases(target.name)).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  expect(await workDatabases(target.name)).toEqual([]);
}

describe('a restore killed during the swap', () => {
  it('once the swap is handed to the server it runs to its end: SIGKILL of Strongbox while RENAME TABLE waits for a lock still ends with the target equal to the backup', async () => {
    const src = await dbs.create('my_swapkill_src', RICH_SCHEMA);
    const { file } = await dumpToFile(src.url);
    const target = await dbs.create('my_swapkill_tgt', OTHER);
    // The orphaned client goes on: the RENAME gets its lock, the code is re-created, the work databases dropped.
    await killDuringRename(file, target);
    expect(await target.checksums()).toBe(await src.checksums());
    expect(await target.programs()).toBe(await src.programs());
  });
});

describe('the staging lock', () => {
  it('is held at every moment the staging database exists (load, count, swap), and a second restore into the same target is refused meanwhile instead of dropping it', async () => {
    const big = await dbs.create('my_lock_src', `CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(100)) ENGINE=InnoDB;
      INSERT INTO big SELECT seq, MD5(seq) FROM seq_1_to_200000;`);
    const { dump, file } = await dumpToFile(big.url);
    const target = await dbs.create('my_lock_tgt', OTHER);
    const prefix = target.name.slice(0, 40);
    let done = false;
    const restoring = restoreFile(file, target.url, artifactOf(dump), true).finally(() => (done = true));
    const unlocked: string[] = [];
    let samples = 0;
    let refused: unknown;
    while (!done) {
      const rows = await mysqlSql(
        null,
        `SELECT SCHEMA_NAME, IS_USED_LOCK(CONCAT('strongbox:restore:', RIGHT(SCHEMA_NAME, 8))) IS NULL AND IS_USED_LOCK(CONCAT('strongbox:swap:', RIGHT(SCHEMA_NAME, 8))) IS NULL FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${prefix}%\\_\\_strongbox\\_new\\_%'`,
      );
      for (const line of rows.split('\n').filter(Boolean)) {
        samples++;
        if (line.endsWith('\t1')) unlocked.push(line);
        if (refused === undefined && samples === 3) refused = await restoreFile(file, target.url, artifactOf(dump), true).catch((e: unknown) => e);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await restoring;
    expect(samples).toBeGreaterThan(3);
    // A database may vanish between the two reads of one sample (DROP at the end); only a
    // staging database that exists with both locks free could be taken for stale.
    const stillThere = [];
    for (const l of unlocked) if ((await mysqlSql(null, `SHOW DATABASES LIKE '${l.split('\t')[0]}'`)) !== '') stillThere.push(l);
    expect(unlocked.length === 0 || stillThere.length === 0, unlocked.join(', ')).toBe(true);
    expect(refused).toBeInstanceOf(RefusedError);
    expect((refused as Error).message).toMatch(/another restore into .* is running/);
    expect(await target.checksums()).toBe(await big.checksums());
    expect(await workDatabases(target.name)).toEqual([]);
  });
});

describe('a swap script larger than a pipe', () => {
  it('SIGKILL of Strongbox while RENAME TABLE waits for a lock, with 150 routines of ~3 KB each (a ~450 KB script): the target still ends with ALL of them', async () => {
    const body = Array.from({ length: 60 }, (_, i) => `  SET @x${i} = CONCAT('padding line ${i} ', REPEAT('x', 20));`).join('\n');
    const procs = Array.from({ length: 150 }, (_, i) => `CREATE PROCEDURE p${i}()\nBEGIN\n${body}\nEND //`).join('\n');
    const src = await dbs.create('my_bigswap_src', `CREATE TABLE customers (id INT PRIMARY KEY); INSERT INTO customers VALUES (1);\nDELIMITER //\n${procs}\nDELIMITER ;\n`);
    expect(await src.sql("SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()")).toBe('150\n');
    const { file } = await dumpToFile(src.url);
    const target = await dbs.create('my_bigswap_tgt', OTHER);
    await killDuringRename(file, target, 300);
    expect(await target.sql("SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()")).toBe('150\n');
    expect(await target.checksums()).toBe(await src.checksums());
    expect(await target.programs()).toBe(await src.programs());
  });
});

describe('secrets', () => {
  it('the password is in no argv (read from /proc during the dump) and no error; the option file is the first argument, 0600, and gone afterwards; MYSQL_PWD is not passed on', async () => {
    const db = await dbs.create('my_secret', `CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(400)) ENGINE=InnoDB;
      INSERT INTO big SELECT seq, REPEAT(MD5(seq), 10) FROM seq_1_to_100000;`);
    const user = `sbx_${process.pid}_${Date.now() % 100000}`;
    users.push(user);
    const password = `Pw-${process.pid}"#\\ '${Date.now()}`;
    await mysqlSql(null, `CREATE USER '${user}'@'%' IDENTIFIED BY '${password.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'; GRANT ALL ON \`${db.name}\`.* TO '${user}'@'%'`);
    const url = `mysql://${user}:${encodeURIComponent(password)}@${MY_HOST}:${MY_PORT}/${db.name}`;

    // A shim in front of the real tool records how it was started.
    const shimDir = mkdtempSync(join(work, 'shim-'));
    const log = join(shimDir, 'log');
    const real = (await run('bash', ['-c', 'command -v mariadb-dump'])).stdout.trim();
    writeFileSync(
      join(shimDir, 'mariadb-dump'),
      `#!/bin/bash\nf="\${1#--defaults-extra-file=}"\n{ echo "first=$1"; stat -c 'mode=%a' "$f"; stat -c 'dirmode=%a' "$(dirname "$f")"; grep -c '^password=' "$f" | sed 's/^/pwlines=/'; echo "envpwd=\${MYSQL_PWD-unset}"; } >> ${log}\nexec ${real} "$@"\n`,
    );
    chmodSync(join(shimDir, 'mariadb-dump'), 0o755);
    const oldPath = process.env.PATH;
    process.env.PATH = `${shimDir}:${oldPath}`;
    process.env.MYSQL_PWD = 'env-secret-not-used';
    const seen: string[] = [];
    const timer = setInterval(() => seen.push(...allCmdlines().filter((c) => c.includes(user) || c.includes('mariadb'))), 20);
    try {
      const reporter = capture();
      const { dump } = await dumpToFile(url, reporter);
      expect(dump.rowCounts).toEqual({ big: 100000 });
      expect(JSON.stringify(dump.details)).not.toContain(password);
      // An error message for the same URL (a database the user may not see).
      const err = await mysqlAdapter.dump({ kind: 'mysql', location: url.replace(db.name, `${db.name}_nope`) }, { reporter, leaveOut: [] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StrongboxError);
      expect(`${(err as Error).message} ${(err as StrongboxError).hint}`).not.toContain(password);
      expect(reporter.lines.join('\n')).not.toContain(password);
    } finally {
      clearInterval(timer);
      process.env.PATH = oldPath;
      delete process.env.MYSQL_PWD;
    }
    const dumpLines = seen.filter((c) => c.includes('mariadb-dump'));
    expect(dumpLines.length).toBeGreaterThan(0);
    for (const c of seen) {
      expect(c).not.toContain(password);
      expect(c).not.toContain(encodeURIComponent(password));
    }
    const shim = await readFile(log, 'utf8');
    expect(shim).toMatch(/^first=--defaults-extra-file=\//m);
    expect(shim).toMatch(/^mode=600$/m);
    expect(shim).toMatch(/^dirmode=700$/m);
    expect(shim).toMatch(/^pwlines=1$/m);
    expect(shim).toMatch(/^envpwd=unset$/m);
    const files = [...shim.matchAll(/^first=--defaults-extra-file=(.*)$/gm)].map((m) => m[1]!);
    for (const f of files) expect(existsSync(f)).toBe(false);
    await writeFile(log, '');
  });

  it('MYSQL_PWD is the fallback when the URL holds no password', async () => {
    const db = await dbs.create('my_envpw', 'CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1);');
    const user = `sbe_${process.pid}_${Date.now() % 100000}`;
    users.push(user);
    await mysqlSql(null, `CREATE USER '${user}'@'%' IDENTIFIED BY 'env-pw-123'; GRANT ALL ON \`${db.name}\`.* TO '${user}'@'%'`);
    process.env.MYSQL_PWD = 'env-pw-123';
    try {
      const { dump } = await dumpToFile(`mysql://${user}@${MY_HOST}:${MY_PORT}/${db.name}`);
      expect(dump.rowCounts).toEqual({ t: 1 });
    } finally {
      delete process.env.MYSQL_PWD;
    }
    await expect(dumpToFile(`mysql://${user}@${MY_HOST}:${MY_PORT}/${db.name}`)).rejects.toThrow(/refused the login|Access denied/);
  });
});

