import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs statements through the real sqlite3 CLI (stops at the first error); returns its list-mode output. */
export async function sqlite(db: string, ...statements: string[]): Promise<string> {
  const { stdout } = await run('sqlite3', ['-bail', '-batch', '-init', '/dev/null', '-cmd', '.timeout 20000', db, ...statements], { maxBuffer: 256 << 20 });
  return stdout;
}

/** The same, read-only: looking never checkpoints a -wal into the file (a read-write connection closing last would). */
export async function sqliteRead(db: string, ...statements: string[]): Promise<string> {
  return sqlite('-readonly', db, ...statements);
}

/** The user tables, sorted (SQLite's own and virtual tables left out, as the adapter counts them). */
export async function tables(db: string): Promise<string[]> {
  const out = await sqliteRead(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
  return out.split('\n').filter(Boolean);
}

/** md5 of each table's rows in rowid order, every value quoted (types kept: 1 ≠ '1'). */
export async function tableDigests(db: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of await tables(db)) {
    const q = `"${t.replace(/"/g, '""')}"`;
    // Every column in turn: also for WITHOUT ROWID tables, and whatever the page layout.
    const columns = Number((await sqliteRead(db, `SELECT count(*) FROM pragma_table_info('${t.replace(/'/g, "''")}')`)).trim());
    const order = Array.from({ length: columns }, (_, i) => i + 1).join(', ');
    const rows = await sqliteRead(db, '.mode quote', `SELECT * FROM ${q} ORDER BY ${order}`);
    out[t] = createHash('md5').update(rows).digest('hex');
  }
  return out;
}

/** Every schema object (tables, indexes, triggers, views) with its SQL, sorted. */
export async function schema(db: string): Promise<string[]> {
  const out = await sqliteRead(db, '.mode quote', "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name");
  return out.split('\n').filter(Boolean);
}

/** Schema and the rows of every table: equal for equal content, whatever the page layout. */
export async function fingerprint(db: string): Promise<string> {
  return createHash('sha256')
    .update(JSON.stringify({ schema: await schema(db), rows: await tableDigests(db) }))
    .digest('hex');
}

export async function integrity(db: string): Promise<string> {
  return (await sqliteRead(db, 'PRAGMA integrity_check')).trim();
}

/** A database with tables, an index, a view and a trigger, and `rows` rows of some bulk. */
export async function makeDatabase(db: string, opts: { wal?: boolean; rows?: number; blob?: number } = {}): Promise<void> {
  const rows = opts.rows ?? 500;
  await sqlite(
    db,
    `PRAGMA journal_mode=${opts.wal ? 'WAL' : 'DELETE'}`,
    'CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, score REAL, avatar BLOB)',
    'CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER REFERENCES users(id), what TEXT)',
    'CREATE TABLE "odd ""name"""(k TEXT PRIMARY KEY, v) WITHOUT ROWID',
    'CREATE INDEX users_score ON users(score)',
    'CREATE VIEW top_users AS SELECT id, name FROM users WHERE score > 50',
    "CREATE TRIGGER users_audit AFTER INSERT ON users BEGIN INSERT INTO audit(user_id, what) VALUES (new.id, 'created'); END",
    `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${rows})
     INSERT INTO users(name, email, score, avatar) SELECT 'user ' || i, 'u' || i || '@example.com', (i * 37) % 100 + 0.5, randomblob(${opts.blob ?? 64}) FROM c`,
    `INSERT INTO "odd ""name"""(k, v) VALUES ('a', 1), ('b', NULL), ('c', x'00ff'), ('line
break', 'é')`,
  );
}

/**
 * A second process writing while a backup runs: the real sqlite3 CLI, fed an endless stream of
 * small transactions. Transaction k inserts k % 7 + 1 rows into `items` (batch = k), records
 * the batch in `batches` and adds its size to `counter.total`, all committed together; so in
 * any consistent snapshot `counter.total = count(items)` and every batch has exactly its rows.
 */
export interface Writer {
  child: ChildProcess;
  stop(): Promise<void>;
}

export const WRITER_SCHEMA = [
  'CREATE TABLE items(id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, payload BLOB)',
  'CREATE INDEX items_batch ON items(batch)',
  'CREATE TABLE batches(batch INTEGER PRIMARY KEY, size INTEGER NOT NULL)',
  'CREATE TABLE counter(id INTEGER PRIMARY KEY, total INTEGER NOT NULL)',
  'INSERT INTO counter VALUES (1, 0)',
];

export function startWriter(db: string, opts: { wal: boolean }): Writer {
  const child = spawn('sqlite3', ['-batch', '-init', '/dev/null', db], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  function* script(): Generator<string> {
    yield `PRAGMA journal_mode=${opts.wal ? 'WAL' : 'DELETE'};\nPRAGMA busy_timeout=60000;\nPRAGMA synchronous=OFF;\n`;
    for (let k = 1; ; k++) {
      const size = (k % 7) + 1;
      yield `BEGIN IMMEDIATE;\nWITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${size}) INSERT INTO items(batch, payload) SELECT ${k}, randomblob(200) FROM c;\nINSERT INTO batches VALUES (${k}, ${size});\nUPDATE counter SET total = total + ${size} WHERE id = 1;\nCOMMIT;\n`;
    }
  }
  const input = Readable.from(script());
  input.pipe(child.stdin!);
  child.stdin!.on('error', () => {});
  return {
    child,
    async stop() {
      input.unpipe();
      input.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('close', r));
        child.kill('SIGKILL');
        await gone;
      }
      if (/error/i.test(stderr)) throw new Error(`the writer failed: ${stderr}`);
    },
  };
}

/** What the consistency of a snapshot of the writer's database comes down to. */
export async function writerState(db: string): Promise<{ maxBatch: number; batches: number; total: number; items: number; badBatches: number }> {
  const out = await sqliteRead(
    db,
    '.mode list',
    `SELECT coalesce(max(batch), 0), count(*) FROM batches`,
    `SELECT total FROM counter`,
    `SELECT count(*) FROM items`,
    `SELECT count(*) FROM batches b WHERE b.size <> (SELECT count(*) FROM items i WHERE i.batch = b.batch)`,
  );
  const [first = '', total = '', items = '', bad = ''] = out.trim().split('\n');
  const [maxBatch = '', batches = ''] = first.split('|');
  return { maxBatch: Number(maxBatch), batches: Number(batches), total: Number(total), items: Number(items), badBatches: Number(bad) };
}
