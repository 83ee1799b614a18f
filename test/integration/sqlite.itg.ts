import { execFile, execFileSync, spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode, RefusedError, StrongboxError, UsageError, VerificationError } from '../../src/shared/errors.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { CancelledError, cancel, resetCancellation } from '../../src/shared/cancel.js';
import type { RestoreArtifact, SourceDump } from '../../src/sources/adapter.js';
import { ENGINE_ENV, sqliteEngine } from '../../src/sources/sqlite/engine.js';
import { sqliteAdapter } from '../../src/sources/sqlite/index.js';
import { loadNodeSqlite } from '../../src/sources/sqlite/node-engine.js';
import { restoreSqlite } from '../../src/sources/sqlite/restore.js';
import { sha256 } from '../helpers/bytes.js';
import { sqliteFixture } from '../helpers/contract-fixtures/sqlite.js';
import { fingerprint, integrity, makeDatabase, schema, sqlite, startWriter, tableDigests, WRITER_SCHEMA, writerState } from '../helpers/sqlite.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const nodeMajor = Number(process.versions.node.split('.')[0]);
const nodeHasBackup = !!(await loadNodeSqlite());
const engines = ['cli', ...(nodeHasBackup ? ['node'] : [])] as const;

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'strongbox-sqlite-itg-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function dir(name: string): Promise<string> {
  const d = await mkdtemp(join(base, `${name}-`));
  return d;
}

/** Runs a dump to its end with TMPDIR pointed at `spool`, so a test can see the spool come and go. */
async function dumpTo(location: string, file: string, spool?: string, options: Record<string, unknown> = {}): Promise<SourceDump> {
  const old = process.env.TMPDIR;
  if (spool) process.env.TMPDIR = spool;
  try {
    const d = await sqliteAdapter.dump({ kind: 'sqlite', location, options }, { reporter: silentReporter, leaveOut: [] });
    // As the core does: wait for both, and prefer the producer's own error.
    const [piped, completed] = await Promise.allSettled([pipeline(d.stream, createWriteStream(file)), d.completed]);
    if (completed.status === 'rejected') throw completed.reason;
    if (piped.status === 'rejected') throw piped.reason;
    return d;
  } finally {
    if (spool) {
      if (old === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = old;
    }
  }
}

function artifactOf(d: SourceDump): RestoreArtifact {
  return { name: 'sqlite-app', kind: 'sqlite', source: d.details, ...(d.rowCounts ? { rowCounts: d.rowCounts } : {}), ...(d.rowCountMode ? { rowCountMode: d.rowCountMode } : {}) };
}

async function restoreFile(file: string, target: string, artifact: RestoreArtifact, force = false): Promise<void> {
  await sqliteAdapter.restore(createReadStream(file), target, artifact, { reporter: silentReporter, force });
}

async function caught(p: Promise<unknown>): Promise<StrongboxError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StrongboxError);
  return err as StrongboxError;
}

async function fileSha(p: string): Promise<string> {
  return sha256(await readFile(p));
}

describe('SQLite engines', () => {
  it('node:sqlite with backup() is there on Node 24 and later (the node engine tests cannot be skipped there)', () => {
    if (nodeMajor >= 24) expect(nodeHasBackup).toBe(true);
    expect(engines).toContain('cli');
  });

  it('forcing an engine that is not there names what to install', async () => {
    const script = `import { sqliteEngine } from './src/sources/sqlite/engine.ts'; sqliteEngine().then(() => console.log('found'), (e) => { console.log(e.message); console.log(e.hint ?? ''); });`;
    const empty = await dir('nopath');
    // No sqlite3 on PATH: the CLI engine cannot be found.
    const { stdout: cli } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, env: { ...process.env, PATH: empty, [ENGINE_ENV]: 'cli' } });
    expect(cli).toMatch(/STRONGBOX_SQLITE_ENGINE=cli, but the sqlite3 command-line shell was not found/);
    expect(cli).toMatch(/apt-get install sqlite3/);
    const { stdout: auto } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, env: { ...process.env, PATH: empty, [ENGINE_ENV]: '' } });
    if (nodeHasBackup) expect(auto.trim()).toBe('found');
    else {
      expect(auto).toMatch(/node:sqlite/);
      expect(auto).toMatch(/sqlite3/);
    }
    if (!nodeHasBackup) {
      const { stdout: node } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, env: { ...process.env, [ENGINE_ENV]: 'node' } });
      expect(node).toMatch(/STRONGBOX_SQLITE_ENGINE=node, but this Node.js .* has no node:sqlite with backup\(\)/);
    }
  });
});

describe.each(engines)('SQLite adapter, %s engine', (engine) => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env[ENGINE_ENV];
    process.env[ENGINE_ENV] = engine;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env[ENGINE_ENV];
    else process.env[ENGINE_ENV] = saved;
  });

  it('uses the engine it was told to and records it in the details', async () => {
    expect((await sqliteEngine()).name).toBe(engine);
  });

  it('round trip: rows of every table, schema, indexes, triggers and views equal; counts recorded; spool removed', async () => {
    const d = await dir('roundtrip');
    const src = join(d, 'app.db');
    await makeDatabase(src, { wal: true, rows: 2000 });
    const spool = await dir('spool');
    const dump = await dumpTo(src, join(d, 'out.sqlite'), spool);
    expect(await readdir(spool)).toEqual([]);
    expect(dump.details).toMatchObject({ engine: 'sqlite', path: src, method: engine === 'node' ? 'node:sqlite backup' : 'sqlite3 .backup', journalMode: 'wal', pageSize: 4096 });
    expect(String(dump.details.sqliteVersion)).toMatch(/^3\.\d+/);
    expect(dump.rowCountMode).toBe('exact');
    expect(dump.rowCounts).toEqual({ audit: 2000, 'odd "name"': 4, users: 2000 });

    const target = join(d, 'restored.db');
    expect(await sqliteAdapter.isTargetEmpty(target, { reporter: silentReporter, force: false })).toBe(true);
    expect(await sqliteAdapter.safetySource(target)).toBeUndefined();
    await restoreFile(join(d, 'out.sqlite'), target, artifactOf(dump));
    expect(await integrity(target)).toBe('ok');
    expect(await tableDigests(target)).toEqual(await tableDigests(src));
    expect(await schema(target)).toEqual(await schema(src));
    expect((await schema(target)).join('\n')).toMatch(/trigger.*users_audit[\s\S]*view.*top_users/);
    // The trigger still works in the restored file.
    await sqlite(target, "INSERT INTO users(name) VALUES ('new')");
    expect((await sqlite(target, 'SELECT count(*) FROM audit')).trim()).toBe('2001');
    // Nothing else beside it: no staging file, no -wal/-shm left by the checks.
    expect((await readdir(d)).filter((n) => n.startsWith('restored.db'))).toEqual(['restored.db']);
  });

  it('--row-counts none records no counts; estimate counts exactly', async () => {
    const d = await dir('counts');
    const src = join(d, 'app.db');
    await makeDatabase(src, { rows: 10 });
    const none = await dumpTo(src, join(d, 'a.sqlite'), undefined, { rowCounts: 'none' });
    expect(none.rowCounts).toBeUndefined();
    expect(none.rowCountMode).toBe('none');
    const est = await dumpTo(src, join(d, 'b.sqlite'), undefined, { rowCounts: 'estimate' });
    expect(est.rowCountMode).toBe('exact');
    expect(est.rowCounts).toMatchObject({ users: 10, audit: 10 });
  });

  for (const wal of [true, false]) {
    it(`a database written by another process during the backup (${wal ? 'WAL' : 'rollback journal'}) is copied consistently, with every row committed before it started`, async () => {
      const d = await dir(wal ? 'busy-wal' : 'busy-journal');
      const src = join(d, 'busy.db');
      await sqlite(src, `PRAGMA journal_mode=${wal ? 'WAL' : 'DELETE'}`, ...WRITER_SCHEMA, 'CREATE TABLE bulk(b BLOB)', 'WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000) INSERT INTO bulk SELECT randomblob(1000) FROM c');
      const writer = startWriter(src, { wal });
      try {
        // Let it commit for a while, then note what it has committed so far.
        for (let i = 0; i < 100 && (await writerState(src)).maxBatch < 200; i++) await new Promise((r) => setTimeout(r, 50));
        const before = await writerState(src);
        expect(before.maxBatch).toBeGreaterThanOrEqual(200);
        const dump = await dumpTo(src, join(d, 'out.sqlite'));
        const after = await writerState(src);
        // The writer went on committing while the backup ran.
        expect(after.maxBatch).toBeGreaterThan(before.maxBatch);

        const target = join(d, 'restored.db');
        await restoreFile(join(d, 'out.sqlite'), target, artifactOf(dump));
        expect(await integrity(target)).toBe('ok');
        const got = await writerState(target);
        expect(got.maxBatch).toBeGreaterThanOrEqual(before.maxBatch);
        expect(got.batches).toBe(got.maxBatch); // no batch missing in between
        expect(got.total).toBe(got.items); // the counter and the rows from one snapshot
        expect(got.badBatches).toBe(0);
        expect(dump.rowCounts!.items).toBe(got.items);
        expect(dump.rowCounts!.bulk).toBe(20000);
      } finally {
        await writer.stop();
      }
    });
  }

  it('a corrupt source fails integrity_check: the dump fails naming the path and the spool is removed', async () => {
    const d = await dir('corrupt');
    const src = join(d, 'bad.db');
    await makeDatabase(src, { rows: 3000 });
    // Overwrite the middle of a few pages (past page 1, which would make it no database at all).
    const fh = await open(src, 'r+');
    const size = (await fh.stat()).size;
    for (const page of [3, Math.floor(size / 4096 / 2), Math.floor(size / 4096) - 2]) await fh.write(Buffer.alloc(512, 0x5a), 0, 512, page * 4096 + 1000);
    await fh.close();
    const spool = await dir('spool');
    const err = await caught(dumpTo(src, join(d, 'out.sqlite'), spool));
    expect(err.message).toContain(src);
    expect(err.message).toMatch(/integrity_check|malformed/);
    expect(await readdir(spool)).toEqual([]);
  });

  it('a dump torn down midway (a failed upload, a cancellation) fails and removes its spool', async () => {
    const d = await dir('teardown');
    const src = join(d, 'app.db');
    await makeDatabase(src, { rows: 4000, blob: 1000 });
    const spool = await dir('spool');
    const old = process.env.TMPDIR;
    process.env.TMPDIR = spool;
    let dump: SourceDump;
    try {
      dump = await sqliteAdapter.dump({ kind: 'sqlite', location: src }, { reporter: silentReporter, leaveOut: [] });
    } finally {
      if (old === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = old;
    }
    expect((await readdir(spool)).length).toBe(1);
    await new Promise<void>((resolve) => dump.stream.once('data', () => resolve()));
    dump.stream.destroy();
    const err = await caught(dump.completed);
    expect(err.message).toMatch(/stopped before the copy was read to its end/);
    expect(await readdir(spool)).toEqual([]);
  });

  it('a cancelled dump (SIGTERM) fails and removes its spool; a cancelled restore leaves the target as it was', async () => {
    const d = await dir('cancel');
    const src = join(d, 'app.db');
    await makeDatabase(src, { rows: 20000, blob: 1500 });
    const spool = await dir('spool');
    try {
      const dumping = dumpTo(src, join(d, 'out.sqlite'), spool);
      setTimeout(() => cancel('SIGTERM'), 30);
      await expect(dumping).rejects.toThrow();
      expect(await readdir(spool)).toEqual([]);
    } finally {
      resetCancellation();
    }

    const dump = await dumpTo(src, join(d, 'out.sqlite'));
    const target = join(d, 'target.db');
    await makeDatabase(target, { rows: 3 });
    const before = { sha: await fileSha(target), names: (await readdir(d)).sort() };
    const data = await readFile(join(d, 'out.sqlite'));
    const slow = Readable.from(
      (async function* () {
        yield data.subarray(0, data.length >> 1);
        await new Promise((r) => setTimeout(r, 400));
        yield data.subarray(data.length >> 1);
      })(),
    );
    try {
      setTimeout(() => cancel('SIGTERM'), 150);
      const err = await sqliteAdapter.restore(slow, target, artifactOf(dump), { reporter: silentReporter, force: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CancelledError);
    } finally {
      resetCancellation();
    }
    expect({ sha: await fileSha(target), names: (await readdir(d)).sort() }).toEqual(before);
  });

  it('the spool of a backup killed with SIGKILL is removed by the next backup', async () => {
    const d = await dir('killed-dump');
    const src = join(d, 'app.db');
    await makeDatabase(src, { rows: 500 });
    const spool = await dir('spool');
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/helpers/sqlite-dump-child.ts'), src], { cwd: repoRoot, env: { ...process.env, TMPDIR: spool }, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.on('data', (s: Buffer) => s.toString().includes('spooled') && resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    // (tsx keeps its cache in the same TMPDIR.)
    const spools = async () => (await readdir(spool)).filter((n) => n.startsWith('strongbox-sqlite-'));
    const left = await spools();
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(new RegExp(`^strongbox-sqlite-${child.pid}-\\d+-[0-9a-f]{8}-`));
    expect(await readdir(join(spool, left[0]!))).toContain('copy.sqlite');
    await dumpTo(src, join(d, 'out.sqlite'), spool);
    expect(await spools()).toEqual([]);
  });

  it('a missing file, a directory, an empty file and a non-SQLite file are refused before anything is written', async () => {
    const d = await dir('bad-sources');
    await writeFile(join(d, 'notes.txt'), 'hello, not a database\n');
    await writeFile(join(d, 'empty.db'), '');
    await mkdir(join(d, 'folder.db'));
    const spool = await dir('spool');
    for (const [name, pattern] of [
      ['missing.db', /does not exist/],
      ['folder.db', /is a directory/],
      ['empty.db', /is empty/],
      ['notes.txt', /is not an SQLite database/],
    ] as const) {
      const p = join(d, name);
      const check = await caught(Promise.resolve(sqliteAdapter.checkSource!({ kind: 'sqlite', location: p }, { reporter: silentReporter, leaveOut: [] })));
      expect(check).toBeInstanceOf(UsageError);
      expect(check.message).toMatch(pattern);
      expect(check.message).toContain(p);
      const err = await caught(dumpTo(p, join(d, `${name}.out`), spool));
      expect(err).toBeInstanceOf(UsageError);
    }
    expect(await readdir(spool)).toEqual([]);
  });

  it('restore --force over a database it cannot open read-write (immutable file): refused (exit 7), its -wal with committed rows kept', async () => {
    const d = await dir('immutable');
    const src = join(d, 'app.db');
    await makeDatabase(src, { rows: 50 });
    const dump = await dumpTo(src, join(d, 'out.sqlite'));
    const target = join(d, 'frozen.db');
    const holder = spawn('sqlite3', ['-batch', '-init', '/dev/null', target], { stdio: ['pipe', 'pipe', 'inherit'] });
    holder.stdin!.on('error', () => {});
    holder.stdin!.write("PRAGMA journal_mode=WAL;\nPRAGMA wal_autocheckpoint=0;\nCREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO users(name) VALUES ('only in the wal');\nSELECT 'written';\n");
    await new Promise<void>((resolve) => holder.stdout!.on('data', (b: Buffer) => b.toString().includes('written') && resolve()));
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('close', r));
    const before = { db: await fileSha(target), wal: await fileSha(`${target}-wal`) };
    // Root writes any file whatever its mode: the immutable flag is what makes it unwritable here.
    execFileSync('chattr', ['+i', target]);
    try {
      const err = await caught(restoreFile(join(d, 'out.sqlite'), target, artifactOf(dump), true));
      expect(err).toBeInstanceOf(RefusedError);
      expect(err.message).toMatch(/could not open the existing SQLite database .* read-write .*nothing was replaced/);
    } finally {
      execFileSync('chattr', ['-i', target]);
    }
    expect({ db: await fileSha(target), wal: await fileSha(`${target}-wal`) }).toEqual(before);
  });

  it('restore over an existing database: refused without --force (unchanged); with --force replaced, and its stale -wal not applied', async () => {
    const d = await dir('replace');
    const src = join(d, 'app.db');
    await makeDatabase(src, { rows: 300 });
    const dump = await dumpTo(src, join(d, 'out.sqlite'));

    // The target: WAL mode, with committed rows still only in its -wal (its writer was killed).
    const target = join(d, 'live.db');
    const holder = spawn('sqlite3', ['-batch', '-init', '/dev/null', target], { stdio: ['pipe', 'pipe', 'inherit'] });
    holder.stdin!.on('error', () => {});
    holder.stdin!.write("PRAGMA journal_mode=WAL;\nPRAGMA wal_autocheckpoint=0;\nCREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);\nWITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000) INSERT INTO users(name) SELECT 'old ' || i FROM c;\nSELECT 'written';\n");
    await new Promise<void>((resolve) => holder.stdout!.on('data', (s: Buffer) => s.toString().includes('written') && resolve()));
    expect((await stat(`${target}-wal`)).size).toBeGreaterThan(4096);

    // While that process has it open, even --force is refused.
    const inUse = await caught(restoreFile(join(d, 'out.sqlite'), target, artifactOf(dump), true));
    expect(inUse).toBeInstanceOf(RefusedError);
    expect(inUse.message).toMatch(/is open in sqlite3 \(pid \d+\)/);
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('close', r));
    expect((await stat(`${target}-wal`)).size).toBeGreaterThan(4096);
    const oldPrint = await fingerprint(target);
    const oldBytes = { db: await fileSha(target), wal: await fileSha(`${target}-wal`) };

    expect(await sqliteAdapter.isTargetEmpty(target, { reporter: silentReporter, force: false })).toBe(false);
    expect(await sqliteAdapter.safetySource(target)).toEqual({ kind: 'sqlite', location: target });
    const refused = await caught(restoreFile(join(d, 'out.sqlite'), target, artifactOf(dump)));
    expect(refused).toBeInstanceOf(RefusedError);
    expect(refused.exitCode).toBe(ExitCode.refused);
    expect({ db: await fileSha(target), wal: await fileSha(`${target}-wal`) }).toEqual(oldBytes);

    await restoreFile(join(d, 'out.sqlite'), target, artifactOf(dump), true);
    expect((await readdir(d)).filter((n) => n.startsWith('live.db')).sort()).toEqual(['live.db']);
    expect(await integrity(target)).toBe('ok');
    expect(await fingerprint(target)).toBe(await fingerprint(src));
    expect(await fingerprint(target)).not.toBe(oldPrint);
    expect((await sqlite(target, "SELECT count(*) FROM users WHERE name LIKE 'old %'")).trim()).toBe('0');
  });

  it('restore --force over a rollback-journal database left with a hot -journal (its writer killed mid-transaction): the journal is not applied to the new file', async () => {
    const d = await dir('hot-journal');
    const src = join(d, 'app.db');
    await makeDatabase(src, { rows: 200 });
    const dump = await dumpTo(src, join(d, 'out.sqlite'));
    const target = join(d, 'old.db');
    await sqlite(target, 'PRAGMA journal_mode=DELETE', 'CREATE TABLE big(x BLOB)', 'WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000) INSERT INTO big SELECT randomblob(1000) FROM c');
    const writer = spawn('sqlite3', ['-batch', '-init', '/dev/null', target], { stdio: ['pipe', 'pipe', 'inherit'] });
    writer.stdin!.on('error', () => {});
    // A small cache makes the open transaction write changed pages into the file itself.
    writer.stdin!.write("PRAGMA cache_size=10;\nBEGIN;\nUPDATE big SET x = randomblob(1000);\nSELECT 'updated';\n");
    await new Promise<void>((resolve) => writer.stdout!.on('data', (s: Buffer) => s.toString().includes('updated') && resolve()));
    writer.kill('SIGKILL');
    await new Promise((r) => writer.once('close', r));
    expect((await stat(`${target}-journal`)).size).toBeGreaterThan(4096);

    await restoreFile(join(d, 'out.sqlite'), target, artifactOf(dump), true);
    expect((await readdir(d)).filter((n) => n.startsWith('old.db'))).toEqual(['old.db']);
    expect(await integrity(target)).toBe('ok');
    expect(await fingerprint(target)).toBe(await fingerprint(src));
  });

  it('restore --force while a writer /proc cannot see (another container) holds the lock: refused (exit 7) naming the file; the target and its -wal/-journal unchanged', async () => {
    const d = await dir('hidden-writer');
    const src = join(d, 'app.db');
    await makeDatabase(src, { rows: 50 });
    const dump = await dumpTo(src, join(d, 'out.sqlite'));
    const unseen = async () => []; // the writer is in another pid namespace: the /proc scan finds no one
    for (const [journal, begin] of [
      ['WAL', 'BEGIN IMMEDIATE'],
      ['DELETE', 'BEGIN IMMEDIATE'],
      ['DELETE', 'BEGIN EXCLUSIVE'],
    ] as const) {
      const target = join(d, `live-${journal}-${begin.split(' ')[1]}.db`);
      await sqlite(target, `PRAGMA journal_mode=${journal}`, 'PRAGMA wal_autocheckpoint=0', 'CREATE TABLE t(x)', "INSERT INTO t VALUES ('old')");
      const writer = spawn('sqlite3', ['-batch', '-init', '/dev/null', target], { stdio: ['pipe', 'pipe', 'inherit'] });
      writer.stdin!.on('error', () => {});
      // Mid-transaction: the lock is held, its changes are in the -wal or the -journal.
      writer.stdin!.write(`PRAGMA cache_size=1;\n${begin};\nINSERT INTO t SELECT randomblob(2000) FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200) SELECT i FROM c);\nSELECT 'holding';\n`);
      await new Promise<void>((resolve) => writer.stdout!.on('data', (s: Buffer) => s.toString().includes('holding') && resolve()));
      const names = async () => (await readdir(d)).filter((n) => n.startsWith(`live-${journal}-`)).sort();
      const bytes = async () => Object.fromEntries(await Promise.all((await names()).map(async (n) => [n, await fileSha(join(d, n))] as const)));
      const before = await bytes();
      expect(Object.keys(before).length).toBeGreaterThan(1); // the database and its -wal or -journal
      try {
        const err = await caught(restoreSqlite(createReadStream(join(d, 'out.sqlite')), target, artifactOf(dump), { reporter: silentReporter, force: true }, unseen));
        expect(err, `${journal} ${begin}`).toBeInstanceOf(RefusedError);
        expect(err.exitCode).toBe(ExitCode.refused);
        expect(err.message).toContain(target);
        expect(err.message).toMatch(/in use|locked/);
        expect(err.hint).toMatch(/stop/);
        expect(await bytes()).toEqual(before);
      } finally {
        writer.stdin!.end('COMMIT;\n');
        await new Promise((r) => writer.once('close', r));
      }
      // The writer's transaction was never cut off: its rows are in the old database.
      expect((await sqlite(target, 'SELECT count(*) FROM t')).trim()).toBe('201');
    }
  });

  it('a tampered row count fails the restore with exit 3; the target and its directory are unchanged', async () => {
    const d = await dir('tampered');
    const src = join(d, 'app.db');
    await makeDatabase(src, { rows: 100 });
    const dump = await dumpTo(src, join(d, 'out.sqlite'));
    const target = join(d, 'target.db');
    await makeDatabase(target, { rows: 7 });
    const before = { sha: await fileSha(target), names: (await readdir(d)).sort() };
    const artifact = artifactOf(dump);
    artifact.rowCounts = { ...artifact.rowCounts, users: 101 };
    const err = await caught(restoreFile(join(d, 'out.sqlite'), target, artifact, true));
    expect(err).toBeInstanceOf(VerificationError);
    expect(err.exitCode).toBe(ExitCode.verifyFailed);
    expect(err.message).toMatch(/users: 101 rows in the manifest, 100 restored/);
    expect({ sha: await fileSha(target), names: (await readdir(d)).sort() }).toEqual(before);
  });

  it('a backup that is not an SQLite database, or fails integrity_check, is not put in place', async () => {
    const d = await dir('bad-backup');
    const src = join(d, 'app.db');
    await makeDatabase(src, { rows: 2000 });
    await dumpTo(src, join(d, 'out.sqlite'));
    const target = join(d, 'target.db');
    await makeDatabase(target, { rows: 3 });
    const junk = join(d, 'junk.bin');
    await writeFile(junk, 'this is not a database at all, just text');
    const damaged = join(d, 'damaged.sqlite');
    const bytes = await readFile(join(d, 'out.sqlite'));
    bytes.fill(0x33, 4096 * 5 + 100, 4096 * 5 + 900);
    bytes.fill(0x33, 4096 * 20 + 100, 4096 * 20 + 900);
    await writeFile(damaged, bytes);
    const before = { sha: await fileSha(target), names: (await readdir(d)).sort() };
    const notDb = await caught(restoreFile(junk, target, { name: 'x', kind: 'sqlite', source: {} }, true));
    expect(notDb).toBeInstanceOf(VerificationError);
    expect(notDb.message).toMatch(/not an SQLite database/);
    // A damaged backup: pages overwritten in the plaintext.
    const bad = await caught(restoreFile(damaged, target, { name: 'x', kind: 'sqlite', source: {} }, true));
    expect(bad.message).toMatch(/integrity_check|malformed/);
    expect({ sha: await fileSha(target), names: (await readdir(d)).sort() }).toEqual(before);
  });

  it('an input that fails at its end (a checksum error) leaves the target unchanged', async () => {
    const d = await dir('late-fail');
    const src = join(d, 'app.db');
    await makeDatabase(src, { rows: 500 });
    await dumpTo(src, join(d, 'out.sqlite'));
    const target = join(d, 'target.db');
    await makeDatabase(target, { rows: 3 });
    const before = { sha: await fileSha(target), names: (await readdir(d)).sort() };
    const data = await readFile(join(d, 'out.sqlite'));
    // All the bytes arrive, then the stream fails, as the core's checksum check fails at EOF.
    const input = Readable.from(
      (async function* () {
        yield data;
        throw new VerificationError('plaintext checksum mismatch');
      })(),
    );
    const err = await caught(sqliteAdapter.restore(input, target, { name: 'x', kind: 'sqlite', source: {} }, { reporter: silentReporter, force: true }));
    expect(err.message).toMatch(/checksum mismatch/);
    expect({ sha: await fileSha(target), names: (await readdir(d)).sort() }).toEqual(before);
  });

  it('a restore killed midway (SIGKILL) leaves the target unchanged and only a staging file, which the next restore removes', async () => {
    const d = await dir('killed');
    const src = join(d, 'app.db');
    await makeDatabase(src, { rows: 3000, blob: 2000 });
    await dumpTo(src, join(d, 'out.sqlite'));
    const target = join(d, 'target.db');
    await makeDatabase(target, { rows: 5, wal: true });
    const before = await fileSha(target);
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/helpers/sqlite-restore-child.ts'), target], { cwd: repoRoot, env: { ...process.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const data = await readFile(join(d, 'out.sqlite'));
    child.stdin!.on('error', () => {}); // EPIPE once it is killed
    child.stdin!.write(data.subarray(0, data.length >> 1)); // half, and the stream stays open
    let staging: string | undefined;
    for (let i = 0; i < 200 && !staging; i++) {
      await new Promise((r) => setTimeout(r, 50));
      for (const n of await readdir(d)) if (n.includes('.strongbox-staging-') && (await stat(join(d, n))).size > 0) staging = n;
    }
    expect(staging).toBeDefined();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    expect(await fileSha(target)).toBe(before);
    const others = (await readdir(d)).filter((n) => !['app.db', 'out.sqlite', 'target.db'].includes(n));
    expect(others).toEqual([staging]);
    expect(staging).toMatch(/^target\.db\.strongbox-staging-\d+-\d+-[0-9a-f]{8}-[0-9a-f]{12}$/);
    expect(await integrity(target)).toBe('ok');

    // The next restore removes it (its process is gone) and completes.
    const dump = await dumpTo(src, join(d, 'again.sqlite'));
    await restoreFile(join(d, 'again.sqlite'), target, artifactOf(dump), true);
    expect((await readdir(d)).filter((n) => n.startsWith('target.db'))).toEqual(['target.db']);
    expect(await fingerprint(target)).toBe(await fingerprint(src));
  });

  it('restores with standard tools: zstd -d < x.zst > app.db and sqlite3 reads it', async () => {
    const d = await dir('standard');
    const src = join(d, 'app.db');
    await makeDatabase(src, { rows: 1000, wal: true });
    await dumpTo(src, join(d, 'out.sqlite'));
    await run('sh', ['-c', `zstd -q -3 < "${join(d, 'out.sqlite')}" > "${join(d, 'x.sqlite.zst')}"`]);
    await run('sh', ['-c', `cd "${d}" && zstd -q -d < x.sqlite.zst > restored.db`]);
    expect(await integrity(join(d, 'restored.db'))).toBe('ok');
    expect(await fingerprint(join(d, 'restored.db'))).toBe(await fingerprint(src));
  });

  it('the contract fixture: its source round-trips to an equal fingerprint, fill makes a target non-empty, its failing source fails', async () => {
    const source = await sqliteFixture.makeSource();
    const target = await sqliteFixture.makeTarget();
    const failing = await sqliteFixture.failingSource();
    try {
      const d = await dir('fixture');
      const dump = await dumpTo(source.location, join(d, 'out.sqlite'));
      expect(await sqliteAdapter.isTargetEmpty(target.target, { reporter: silentReporter, force: false })).toBe(true);
      await restoreFile(join(d, 'out.sqlite'), target.target, artifactOf(dump));
      expect(await sqliteFixture.fingerprint(target.target)).toBe(await sqliteFixture.fingerprint(source.location));
      await sqliteFixture.fill(target.target);
      expect(await sqliteAdapter.isTargetEmpty(target.target, { reporter: silentReporter, force: false })).toBe(false);
      expect(await sqliteFixture.fingerprint(target.target)).not.toBe(await sqliteFixture.fingerprint(source.location));
      expect(sqliteFixture.confirmName(target.target)).toBe(sqliteAdapter.confirmName(target.target));
      await expect(dumpTo(failing.location, join(d, 'failing.sqlite'))).rejects.toThrow(/integrity_check|malformed/);
    } finally {
      await Promise.all([source.cleanup(), target.cleanup(), failing.cleanup()]);
    }
  });

  it('targets: a directory is refused (exit 7), a missing directory or a name too long is a usage error; countQueryRows reads the target', async () => {
    const d = await dir('targets');
    await mkdir(join(d, 'folder.db'));
    const ctx = { reporter: silentReporter, force: true };
    const isDir = await caught(sqliteAdapter.checkTarget(join(d, 'folder.db'), ctx));
    expect(isDir).toBeInstanceOf(RefusedError);
    expect(isDir.message).toContain(join(d, 'folder.db'));
    const noParent = await caught(sqliteAdapter.checkTarget(join(d, 'nope', 'app.db'), ctx));
    expect(noParent).toBeInstanceOf(UsageError);
    expect(noParent.message).toMatch(/does not exist/);
    expect(await caught(sqliteAdapter.checkTarget(join(d, `${'x'.repeat(230)}.db`), ctx))).toBeInstanceOf(UsageError);
    await sqliteAdapter.checkTarget(join(d, 'fresh.db'), ctx);
    expect(await readdir(d)).toEqual(['folder.db']);
    // A rollback's safety backup of a directory, and a target inside the repository restored from.
    expect(await caught(sqliteAdapter.safetySource(join(d, 'folder.db')))).toBeInstanceOf(RefusedError);
    const inRepo = await caught(sqliteAdapter.checkTarget(join(d, 'folder.db', 'app.db'), { ...ctx, repository: { localPath: join(d, 'folder.db'), display: join(d, 'folder.db') } }));
    expect(inRepo).toBeInstanceOf(RefusedError);
    expect(inRepo.message).toMatch(/inside the repository/);

    const db = join(d, 'q.db');
    await makeDatabase(db, { rows: 42 });
    expect(await sqliteAdapter.countQueryRows!(db, 'SELECT id FROM users WHERE score > 50', ctx)).toBe(Number((await sqlite(db, 'SELECT count(*) FROM users WHERE score > 50')).trim()));
    expect(await sqliteAdapter.countQueryRows!(db, "SELECT k FROM \"odd \"\"name\"\"\"", ctx)).toBe(4);
    await expect(sqliteAdapter.countQueryRows!(db, 'SELECT * FROM no_such_table', ctx)).rejects.toThrow(/no such table/);
    expect(sqliteAdapter.confirmName(db)).toBe('q.db');
    expect(sqliteAdapter.sourceIdentity({ engine: 'sqlite', path: db })).toBe(db);
  });
});
