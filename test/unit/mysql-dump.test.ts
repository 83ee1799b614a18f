import { statSync, existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DumpScanner } from '../../src/sources/mysql/dump-scanner.js';
import { dumpArgs, describeMysqlDumpFailure, looksLikeDumpHead } from '../../src/sources/mysql/dump.js';
import { childEnv, connectionArgs, optionFileValue, parseBatch, writeOptionFile } from '../../src/sources/mysql/client.js';
import { orderViews, type Program } from '../../src/sources/mysql/programs.js';
import { oldName, swapScript } from '../../src/sources/mysql/swap.js';
import { namePrefix, workNames } from '../../src/sources/mysql/staging.js';

const DUMP = `/*M!999999\\- enable the sandbox mode */
-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB
DROP TABLE IF EXISTS \`a\`;
CREATE TABLE \`a\` (
  \`id\` int(11) NOT NULL
) ENGINE=InnoDB;
LOCK TABLES \`a\` WRITE;
INSERT INTO \`a\` VALUES
(1,'x'),
(2,'it\\'s ( a ), (trap);'),
(3,0xDEADBEEF),
(4,'back\\\\'),
(5,NULL);
UNLOCK TABLES;
CREATE TABLE \`we\`\`ird\` (\`id\` int);
INSERT INTO \`we\`\`ird\` VALUES (1),(2);
INSERT INTO \`we\`\`ird\` VALUES (3);
CREATE TABLE \`empty\` (\`id\` int);
DELIMITER ;;
INSERT INTO \`a\` VALUES (99);;
DELIMITER ;
/*!50001 CREATE VIEW \`v\` AS SELECT 1 AS \`x\` */;
-- Dump completed
`;

function scan(text: string, size: number) {
  const s = new DumpScanner();
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += size) s.push(buf.subarray(i, i + size));
  return s.end();
}

describe('DumpScanner', () => {
  it.each([1, 2, 5, 17, 4096, 1 << 20])('counts rows per table in chunks of %i bytes', (size) => {
    const r = scan(DUMP, size);
    expect(r.rowCounts).toEqual({ a: 5, 'we`ird': 3, empty: 0 });
    expect(r.complete).toBe(true);
    expect(r.problem).toBeUndefined();
    expect(r.switchesDatabase).toBeUndefined();
  });

  it('counts the one-line INSERTs of MySQL mysqldump', () => {
    expect(scan("-- MySQL dump 10.13\nCREATE TABLE `t` (`a` int);\nINSERT INTO `t` VALUES (1,'a'),(2,'b'),(3,'c');\n-- Dump completed on 2024-01-01\n", 3).rowCounts).toEqual({ t: 3 });
  });

  it('a dump cut short is not complete, and one ending inside an INSERT is a problem', () => {
    expect(scan(DUMP.replace('-- Dump completed\n', ''), 7).complete).toBe(false);
    expect(scan(`${DUMP}CREATE TABLE \`late\` (id int);\n`, 7).complete).toBe(false);
    const cut = scan(DUMP.slice(0, DUMP.indexOf('(3,0x')), 7);
    expect(cut.complete).toBe(false);
    expect(cut.problem).toMatch(/ended inside the INSERT of table a/);
  });

  it('sees a statement that switches or creates a database', () => {
    expect(scan('USE `other`;\n', 3).switchesDatabase).toBe('USE `other`;');
    expect(scan('/*!40000 CREATE DATABASE IF NOT EXISTS `x` */;\n', 3).switchesDatabase).toMatch(/CREATE DATABASE/);
    expect(scan('INSERT INTO `t` VALUES (1);\n', 3).switchesDatabase).toBeUndefined();
  });

  it('inside a routine body (DELIMITER ;;) and inside comments, USE / CREATE DATABASE / CREATE TABLE lines are not statements', () => {
    const routine = `CREATE TABLE \`t\` (\`id\` int);
INSERT INTO \`t\` VALUES (1),(2);
DELIMITER ;;
CREATE DEFINER=\`root\`@\`localhost\` PROCEDURE \`reset_t\`()
BEGIN
/*
use this to reset t
CREATE DATABASE nope;
*/
CREATE TABLE \`archive\` (id int);
DELETE FROM t;
END ;;
DELIMITER ;
/* a top-level comment
USE \`elsewhere\`;
CREATE TABLE \`ghost\` (id int);
*/
/*!40101 SET character_set_client = utf8mb4 */;
-- Dump completed
`;
    for (const size of [1, 7, 4096]) {
      const r = scan(routine, size);
      expect(r.switchesDatabase).toBeUndefined();
      expect(r.rowCounts).toEqual({ t: 2 });
      expect(r.complete).toBe(true);
    }
    // After the comment closes, a real switch is still seen.
    expect(scan('/* x\n*/ \nUSE `other`;\n', 3).switchesDatabase).toBe('USE `other`;');
    expect(scan("CREATE TABLE `c` (`a` varchar(9) DEFAULT '/*');\nUSE `x`;\n", 2).switchesDatabase).toBe('USE `x`;');
  });

  it('a --complete-insert INSERT is reported instead of miscounted', () => {
    expect(scan('CREATE TABLE `t` (`a` int);\nINSERT INTO `t` (`a`) VALUES (1);\n-- Dump completed\n', 4).problem).toMatch(/complete-insert/);
  });
});

describe('dump flags and failures', () => {
  it('MariaDB and MySQL flags; the database after --', () => {
    const m = dumpArgs('mariadb', '-odd');
    expect(m).toEqual(expect.arrayContaining(['--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--default-character-set=utf8mb4', '--no-tablespaces', '--skip-dump-date']));
    expect(m).not.toContain('--set-gtid-purged=OFF');
    expect(m).not.toContain('--databases');
    expect(m.slice(-2)).toEqual(['--', '-odd']);
    expect(dumpArgs('mysql', 'x')).toContain('--set-gtid-purged=OFF');
  });

  it('no connection option carries a password; the dump tools get no --connect-timeout', () => {
    const t = { scheme: 'mysql' as const, user: 'u', host: 'h', port: 3307, database: 'd', password: 'pw' };
    expect(connectionArgs(t).join(' ')).toBe('--host=h --port=3307 --user=u --connect-timeout=30');
    expect(connectionArgs(t, false)).not.toContain('--connect-timeout=30');
  });

  it('describes failures by cause', () => {
    const f = { name: 'mariadb-dump', command: 'mariadb-dump', code: 2, signal: null, stderr: "mariadb-dump: Got error: 1049: \"Unknown database 'x'\" when selecting the database" };
    expect(describeMysqlDumpFailure(f, 'db', 'mariadb').message).toMatch(/does not exist/);
    expect(describeMysqlDumpFailure({ ...f, code: null, signal: 'SIGKILL', stderr: '' }, 'db', 'mariadb').message).toMatch(/killed by SIGKILL.*incomplete/);
    expect(describeMysqlDumpFailure({ ...f, stderr: '', spawnError: Object.assign(new Error('x'), { code: 'ENOENT' }) }, 'db', 'mariadb').hint).toMatch(/mariadb-client/);
    expect(describeMysqlDumpFailure({ ...f, stderr: '', spawnError: Object.assign(new Error('x'), { code: 'ENOENT' }) }, 'db', 'mysql').hint).toMatch(/mysql-client/);
  });

  it('knows a dump head', () => {
    expect(looksLikeDumpHead('/*M!999999\\- enable the sandbox mode */ \n-- MariaDB')).toBe(true);
    expect(looksLikeDumpHead('-- MySQL dump 10.13  Distrib 8.0')).toBe(true);
    expect(looksLikeDumpHead('PGDMP')).toBe(false);
  });
});

describe('the option file', () => {
  it('is 0600 in a 0700 folder, holds the password quoted, and goes away', () => {
    const f = writeOptionFile({ scheme: 'mysql', host: 'h', database: 'd', password: 'a"b\\c#d e\'f' });
    expect(statSync(f.path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(f.path)).mode & 0o777).toBe(0o700);
    expect(readFileSync(f.path, 'utf8')).toBe('[client]\npassword="a\\"b\\\\c#d e\'f"\n');
    f.remove();
    expect(existsSync(dirname(f.path))).toBe(false);
  });

  it('escapes control characters', () => {
    expect(optionFileValue('x\ny\tz')).toBe('"x\\ny\\tz"');
  });

  it('MYSQL_PWD never reaches a child', () => {
    process.env.MYSQL_PWD = 'leak';
    try {
      expect(childEnv().MYSQL_PWD).toBeUndefined();
    } finally {
      delete process.env.MYSQL_PWD;
    }
  });
});

describe('restore pieces', () => {
  it('parses batch output', () => {
    expect(parseBatch('a\\tb\tc\\\\d\\ne\nx\t\n')).toEqual([['a\tb', 'c\\d\ne'], ['x', '']]);
    expect(parseBatch('')).toEqual([]);
  });

  it('orders views so that a view comes after the views it selects from', () => {
    const v = (name: string, from: string): Program => ({ kind: 'VIEW', name, create: `CREATE VIEW \`${name}\` AS select * from \`${from}\`` });
    expect(orderViews([v('c', 'b'), v('b', 'a'), v('a', 't')]).map((x) => x.name)).toEqual(['a', 'b', 'c']);
  });

  it('work databases fit in 64 characters and are recognisable', () => {
    const n = workNames('x'.repeat(64), 'abcdef01');
    expect([...n.staging].length).toBeLessThanOrEqual(64);
    expect(n.staging).toMatch(/__strongbox_new_abcdef01$/);
    expect(n.trash).toMatch(/__strongbox_old_abcdef01$/);
  });

  it('the swap touches nothing of the target before its one RENAME TABLE, which renames the old tables within the target; triggers are re-created right after it', () => {
    const names = workNames('shop', '0badc0de');
    const script = swapScript({
      names,
      target: { scheme: 'mysql', host: 'h', database: 'shop' },
      createTarget: undefined,
      charset: {},
      oldTables: ['old1', 'shared'],
      newTables: ['shared', 'new1', 'ov'],
      oldPrograms: { routines: [], views: [{ kind: 'VIEW', name: 'ov', create: '' }], triggers: [{ kind: 'TRIGGER', name: 'otrg', create: '' }], events: [] },
      newPrograms: { routines: [{ kind: 'PROCEDURE', name: 'p', create: 'CREATE PROCEDURE `p`() BEGIN SELECT 1; END', sqlMode: '' }], views: [], triggers: [{ kind: 'TRIGGER', name: 'ntrg', create: 'CREATE TRIGGER ntrg ...' }], events: [] },
      lockTimeoutMs: 90_000,
    });
    expect(script.match(/RENAME TABLE/g)).toHaveLength(1);
    expect(script).toContain(
      'RENAME TABLE `shop`.`old1` TO `shop`.`__sb_old_0badc0de_old1`,\n  `shop`.`shared` TO `shop`.`__sb_old_0badc0de_shared`,\n  `shop`.`ov` TO `shop`.`__sb_old_0badc0de_ov`,\n  `shop__strongbox_new_0badc0de`.`shared` TO `shop`.`shared`',
    );
    const i = (s: string) => script.indexOf(s);
    const before = script.slice(0, i('RENAME TABLE'));
    // Nothing of the target (`shop`.…) changes before the RENAME; staging's triggers go there.
    expect(before).not.toMatch(/DROP (TRIGGER|VIEW|TABLE|PROCEDURE)[^;]*`shop`\./);
    expect(before).toContain('DROP TRIGGER IF EXISTS `shop__strongbox_new_0badc0de`.`ntrg`');
    expect(i('DROP TRIGGER IF EXISTS `otrg`')).toBeGreaterThan(i('RENAME TABLE'));
    expect(i('CREATE TRIGGER ntrg')).toBeGreaterThan(i('DROP TRIGGER IF EXISTS `otrg`'));
    expect(i('CREATE TRIGGER ntrg')).toBeLessThan(i('CREATE PROCEDURE'));
    expect(script).toContain('DROP VIEW IF EXISTS `__sb_old_0badc0de_ov`;');
    expect(script).not.toContain('DROP VIEW IF EXISTS `ov`');
    expect(i('DROP TABLE IF EXISTS `__sb_old_0badc0de_old1`, `__sb_old_0badc0de_shared`;')).toBeGreaterThan(i('CREATE PROCEDURE'));
    expect(script).toContain('SET SESSION lock_wait_timeout = 90;');
    expect(i("SELECT 'strongbox:done'")).toBeGreaterThan(i('DROP DATABASE IF EXISTS `shop__strongbox_new_0badc0de`'));
  });

  it('two targets sharing their first 40 characters never share work databases; each name fits in 64', () => {
    const a = workNames(`${'s'.repeat(40)}_eu`, 'abcdef01');
    const b = workNames(`${'s'.repeat(40)}_us`, 'abcdef01');
    expect(a.staging).not.toBe(b.staging);
    expect(namePrefix(`${'s'.repeat(40)}_eu`)).not.toBe(namePrefix(`${'s'.repeat(40)}_us`));
    for (const n of [a.staging, a.trash, b.staging, b.trash, workNames('é'.repeat(64), 'abcdef01').staging]) expect([...n].length).toBeLessThanOrEqual(64);
    // A short name is kept whole, so the work databases stay recognisable.
    expect(workNames('shop', 'abcdef01').staging).toBe('shop__strongbox_new_abcdef01');
  });

  it('old-table names stay within 64 characters and unique', () => {
    const taken = new Set<string>();
    const long = 'x'.repeat(64);
    const a = oldName('0badc0de', long, 0, taken);
    const b = oldName('0badc0de', `${'x'.repeat(63)}y`, 1, taken);
    expect([...a].length).toBeLessThanOrEqual(64);
    expect([...b].length).toBeLessThanOrEqual(64);
    expect(a).not.toBe(b);
    expect(oldName('0badc0de', 't', 2, taken)).toBe('__sb_old_0badc0de_t');
  });
});

describe('DumpScanner against generated dumps', () => {
  it('counts rows exactly whatever the values hold and wherever the chunks split', async () => {
    const fc = await import('fast-check');
    // What mysql_real_escape_string does to a value (the dump tools' escaping).
    const esc = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\0/g, '\\0')}'`;
    const value = fc.oneof(fc.string({ unit: fc.constantFrom('a', "'", '\\', '(', ')', ';', ',', '\n', 'é', '😀') }).map(esc), fc.integer().map(String), fc.constant('NULL'), fc.constant('0xDEADBEEF'));
    const table = fc.array(fc.array(value, { minLength: 1, maxLength: 4 }), { maxLength: 6 });
    fc.assert(
      fc.property(fc.array(table, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 64 }), fc.boolean(), (tables, size, oneLine) => {
        let text = '-- MariaDB dump 10.19\n';
        const expected: Record<string, number> = {};
        tables.forEach((rows, ti) => {
          const name = `t${ti}`;
          expected[name] = rows.length;
          text += `CREATE TABLE \`${name}\` (\n  \`a\` text\n);\n`;
          if (rows.length) text += `INSERT INTO \`${name}\` VALUES${oneLine ? ' ' : '\n'}${rows.map((r) => `(${r.join(',')})`).join(oneLine ? ',' : ',\n')};\n`;
        });
        text += '-- Dump completed\n';
        const r = scan(text, size);
        expect(r.rowCounts).toEqual(expected);
        expect(r.complete).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
