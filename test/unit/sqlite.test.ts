import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStatements } from '../../src/sources/sqlite/cli-engine.js';
import { engineChoice } from '../../src/sources/sqlite/engine.js';
import { SQLITE_MAGIC, headerProblem, sidecars, sqliteArtifactName } from '../../src/sources/sqlite/header.js';
import { processesUsing } from '../../src/sources/sqlite/in-use.js';
import { withoutSqliteWarning } from '../../src/sources/sqlite/node-engine.js';
import { countSql, decodeHexName, fileUri, integrityProblem, quoteIdent, rowCountDifferences } from '../../src/sources/sqlite/sql.js';

describe('SQLite: what the adapter makes of names and answers', () => {
  it('quotes any table name as one identifier', () => {
    expect(quoteIdent('users')).toBe('"users"');
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(countSql('x"; DROP TABLE y; --')).toBe('SELECT count(*) FROM main."x""; DROP TABLE y; --"');
    expect(decodeHexName(Buffer.from('line\nbreak é').toString('hex'))).toBe('line\nbreak é');
  });

  it('integrity_check passes only on exactly "ok"', () => {
    expect(integrityProblem(['ok'])).toBeUndefined();
    expect(integrityProblem(['ok\n'])).toBeUndefined();
    expect(integrityProblem(['*** in database main ***', 'Page 5: btreeInitPage() returns error code 11'])).toMatch(/Page 5/);
    expect(integrityProblem([])).toMatch(/nothing/);
    expect(integrityProblem(['ok', 'ok'])).toBeDefined();
  });

  it('row count differences name each table and both numbers', () => {
    expect(rowCountDifferences({ a: 1, b: 2 }, { a: 1, b: 2 })).toEqual([]);
    expect(rowCountDifferences({ a: 1, b: 2 }, { a: 1, b: 3, c: 0 })).toEqual(['b: 2 rows in the manifest, 3 restored', 'c: not in the backup\'s manifest, 0 rows restored']);
    expect(rowCountDifferences({ gone: 5 }, {})).toEqual(['gone: 5 rows in the manifest, table missing after the restore']);
  });

  it('makes URI filenames that keep % ? # and spaces literal', () => {
    expect(fileUri('/tmp/a b/x?y#z%.db', 'immutable=1')).toBe('file:///tmp/a%20b/x%3Fy%23z%25.db?immutable=1');
  });

  it('tells an SQLite header from anything else', () => {
    expect(headerProblem(Buffer.concat([SQLITE_MAGIC, Buffer.alloc(84)]))).toBeUndefined();
    expect(headerProblem(Buffer.alloc(0))).toMatch(/empty/);
    expect(headerProblem(Buffer.from('SQLite format 2\0'))).toMatch(/SQLite header/);
    expect(headerProblem(Buffer.from('PGDMP'))).toMatch(/SQLite header/);
    expect(sidecars('/d/app.db')).toEqual({ wal: '/d/app.db-wal', shm: '/d/app.db-shm', journal: '/d/app.db-journal' });
    expect(sqliteArtifactName('/srv/data/app.db')).toBe('sqlite-app');
    expect(sqliteArtifactName('/srv/data/my store.sqlite3')).toBe('sqlite-my-store');
    expect(sqliteArtifactName('/srv/.db')).toBe('sqlite-db');
  });

  it('splits the CLI\'s ASCII-mode output into each statement\'s rows', () => {
    const out = `ok\x1e\x1d\x1e4096\x1e\x1d\x1e\x1d\x1ea\x1fb\x1ec\x1fd\x1e\x1d\x1e`;
    expect(parseStatements(out)).toEqual([[['ok']], [['4096']], [], [['a', 'b'], ['c', 'd']]]);
  });

  it('STRONGBOX_SQLITE_ENGINE chooses node, cli or auto, and nothing else', () => {
    expect(engineChoice({})).toBe('auto');
    expect(engineChoice({ STRONGBOX_SQLITE_ENGINE: 'CLI' })).toBe('cli');
    expect(engineChoice({ STRONGBOX_SQLITE_ENGINE: 'node' })).toBe('node');
    expect(() => engineChoice({ STRONGBOX_SQLITE_ENGINE: 'native' })).toThrow(/node, cli or auto/);
  });

  it('finds the processes that have a database or its -wal open, by inode', async () => {
    const root = await mkdtemp(join(tmpdir(), 'strongbox-proc-'));
    try {
      const db = join(root, 'app.db');
      await writeFile(db, 'x');
      await writeFile(`${db}-wal`, 'w');
      await writeFile(join(root, 'other'), 'o');
      const proc = join(root, 'proc');
      for (const [pid, comm, files] of [
        ['101', 'myapp', [join(root, 'other'), `${db}-wal`]],
        ['102', 'idle', [join(root, 'other')]],
        ['103', 'worker', [db]],
      ] as const) {
        await mkdir(join(proc, pid, 'fd'), { recursive: true });
        await writeFile(join(proc, pid, 'comm'), `${comm}\n`);
        for (const [i, f] of files.entries()) await symlink(f, join(proc, pid, 'fd', String(i)));
      }
      expect(await processesUsing([db, `${db}-wal`, `${db}-shm`], proc)).toEqual([
        { pid: 101, command: 'myapp' },
        { pid: 103, command: 'worker' },
      ]);
      expect(await processesUsing([join(root, 'missing')], proc)).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('hides only the SQLite ExperimentalWarning, and only while node:sqlite is imported', async () => {
    const seen: string[] = [];
    const listener = (w: Error) => seen.push(`${w.name}: ${w.message}`);
    process.on('warning', listener);
    try {
      await withoutSqliteWarning(async () => {
        process.emitWarning('SQLite is an experimental feature and might change at any time', 'ExperimentalWarning');
        process.emitWarning('SQLite is an experimental feature', { type: 'ExperimentalWarning' });
        process.emitWarning('WASI is an experimental feature', 'ExperimentalWarning');
        process.emitWarning('SQLite: something deprecated', 'DeprecationWarning');
      });
      process.emitWarning('SQLite is an experimental feature and might change at any time', 'ExperimentalWarning');
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual([
        'ExperimentalWarning: WASI is an experimental feature',
        'DeprecationWarning: SQLite: something deprecated',
        'ExperimentalWarning: SQLite is an experimental feature and might change at any time',
      ]);
    } finally {
      process.off('warning', listener);
    }
  });
});
