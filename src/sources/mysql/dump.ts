import { Transform, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { StoppedError, StrongboxError } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import type { ToolFailure } from '../process.js';
import type { RowCountMode, RowCounts, SourceDump, SourceOptions } from '../adapter.js';
import { describe, maskerFor, spawnClient } from './client.js';
import { DumpScanner, type ScanResult } from './dump-scanner.js';
import { readSchema, type SchemaInfo } from './counts.js';
import { detectTools, dumpTool, shortVersion, type Engine } from './tools.js';
import { parseMysqlUrl } from './url.js';

/**
 * The dump tool's flags, and why each is there.
 * - `--single-transaction`: one consistent InnoDB snapshot (START TRANSACTION WITH
 *   CONSISTENT SNAPSHOT) without locking writers out; tables of other engines are read
 *   outside it, hence the warning naming them.
 * - `--routines --triggers --events`: the database's code, not only its tables.
 * - `--hex-blob`: binary columns as 0x… literals, so no byte depends on the client's charset.
 * - `--default-character-set=utf8mb4`: 4-byte UTF-8 (emoji) survives the round trip.
 * - `--no-tablespaces`: tablespace DDL cannot be restored into another database (and MySQL
 *   ≥ 8.0.21 needs the PROCESS privilege to dump it).
 * - `--skip-dump-date`: equal databases give byte-equal dumps; the completion marker stays
 *   (`-- Dump completed`), only without its date.
 * - no `--databases`: the dump holds no `USE`/`CREATE DATABASE`, so a restore decides which
 *   database it runs in (the staging database, see restore.ts).
 * - MySQL only, `--set-gtid-purged=OFF`: a dump from a GTID server would otherwise carry
 *   `SET @@GLOBAL.GTID_PURGED`, which fails on (or rewrites the replication state of) the
 *   server it is restored into. MariaDB writes GTID positions only with --master-data/--gtid.
 * `--quick` (rows streamed, not buffered) and `--extended-insert` come with the default --opt.
 */
export function dumpArgs(engine: Engine, database: string): string[] {
  const args = ['--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--default-character-set=utf8mb4', '--no-tablespaces', '--skip-dump-date'];
  if (engine === 'mysql') args.push('--set-gtid-purged=OFF');
  // `--` ends the options (my_getopt), so a database named "-x" is not taken for one.
  args.push('--', database);
  return args;
}

export const COMPLETION_MARKER = '-- Dump completed';

/** Turns a dump tool's failure (exit status, signal, stderr) into what the user needs to know. */
export function describeMysqlDumpFailure(f: ToolFailure, where: string, engine: Engine): StrongboxError {
  if (f.spawnError) {
    return new StrongboxError(`${f.name} was not found (${f.command})`, {
      hint: engine === 'mysql' ? 'install MySQL\'s client tools (e.g. apt-get install mysql-client)' : 'install the MariaDB client tools (e.g. apt-get install mariadb-client)',
    });
  }
  if (/Unknown database|1049/.test(f.stderr)) {
    return new StrongboxError(`${f.name} of ${where} failed: the database does not exist; nothing was committed:\n${f.stderr}`, { hint: 'check the database name in the URL' });
  }
  if (/Access denied|command denied|1044|1045|1142|1227/.test(f.stderr)) {
    return new StrongboxError(`${f.name} of ${where} was refused by the server; nothing was committed:\n${f.stderr}`, {
      hint: 'the dump needs SELECT, SHOW VIEW, TRIGGER, EVENT and (for routines) SELECT on mysql.proc / SHOW_ROUTINE, plus LOCK TABLES for non-InnoDB tables; grant them to the user in the URL',
    });
  }
  if (f.signal) return new StrongboxError(`${f.name} of ${where} was killed by ${f.signal} before it finished; the dump is incomplete and was not kept${f.stderr ? `:\n${f.stderr}` : ''}`);
  return new StrongboxError(`${f.name} of ${where} failed with exit code ${f.code}; nothing was committed${f.stderr ? `:\n${f.stderr}` : ''}`, { hint: `see ${f.name}'s message above` });
}

/** How a dump's stream must begin: MariaDB's sandbox line or either tool's header comment. */
export function looksLikeDumpHead(head: string): boolean {
  return /^(\/\*M!999999\\- enable the sandbox mode \*\/|-- (MySQL|MariaDB) dump )/.test(head);
}

/**
 * Passes the dump through unchanged while the scanner reads it, and ends only after the tool
 * exited 0 and the stream ended with the completion marker: a killed, failing or truncated
 * dump makes the stream itself error, so no consumer mistakes a clean EOF for a whole dump.
 */
class DumpGuard extends Transform {
  readonly scanner = new DumpScanner();
  private head = '';
  private headChecked = false;
  result: ScanResult | undefined;
  constructor(
    private readonly exited: Promise<void>,
    private readonly what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.headChecked) {
      this.head += chunk.toString('latin1', 0, 64);
      if (this.head.length >= 40) {
        this.headChecked = true;
        if (!looksLikeDumpHead(this.head)) return cb(this.notADump('it does not start like one'));
      }
    }
    this.scanner.push(chunk);
    const sw = this.scanner.peekSwitch();
    // A restore refuses such a stream, so it must not become a backup.
    if (sw) {
      return cb(
        new StrongboxError(`${this.what} holds a statement that switches or creates a database ("${sw.replace(/[^\x20-\x7e]/g, '?')}…"), which a restore would refuse; the dump was not kept`, {
          hint: 'check that the dump tool on PATH is the real mysqldump/mariadb-dump and that no option file adds --databases or --all-databases',
        }),
      );
    }
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    this.exited.then(
      () => {
        this.result = this.scanner.end();
        if (!this.headChecked && !looksLikeDumpHead(this.head)) return cb(this.notADump(`only ${this.result.bytes} bytes`));
        if (!this.result.complete) return cb(this.notADump(`it lacks the closing "${COMPLETION_MARKER}" line`));
        cb();
      },
      (err: unknown) => cb(err as Error),
    );
  }
  private notADump(problem: string): StrongboxError {
    return new StrongboxError(`${this.what} did not produce a complete SQL dump (${problem}); the dump was not kept`, {
      hint: 'check that the dump tool on PATH is the real mysqldump/mariadb-dump',
    });
  }
}

function warnNonTransactional(schema: SchemaInfo, where: string, reporter: Reporter): string[] {
  const names = schema.tables.filter((t) => t.type === 'BASE TABLE' && t.engine && !/^innodb$/i.test(t.engine)).map((t) => `${t.name} (${t.engine})`);
  if (names.length) {
    reporter.warning(
      `${where}: ${names.length} table(s) use an engine that cannot take part in the dump's consistent snapshot, so they are read at a slightly different moment than the rest and may not match it: ${names.join(', ')}; convert them to InnoDB (ALTER TABLE … ENGINE=InnoDB) for a consistent backup`,
    );
  }
  return names;
}

export async function dumpMysql(url: string, reporter: Reporter, options: SourceOptions = {}): Promise<SourceDump> {
  const t = parseMysqlUrl(url, '--mysql');
  const mask = maskerFor(url, t, reporter);
  const where = `MySQL ${describe(t)}`;
  // Asking the server first also turns a wrong URL or password into an error before any stream exists.
  const tools = await detectTools(t, mask);
  const tool = await dumpTool(tools.engine);
  const schema = await readSchema(tools.client, t, mask);
  if (!schema.exists) throw new StrongboxError(`${where} does not exist; nothing was committed`, { hint: 'check the database name in the URL' });
  const nonTransactional = warnNonTransactional(schema, where, reporter);
  const mode: RowCountMode = options.rowCounts ?? 'exact';
  const clientVersion = `${tool.command} ${shortVersion(tool.version.replace(/^.*?Distrib\s+/, ''))}`;
  reporter.debug(`${clientVersion} dumping ${where} (${tools.engine} ${tools.serverVersion})`);

  const run = spawnClient(tool.command, t, dumpArgs(tools.engine, t.database), {
    name: tool.command,
    dumpTool: true,
    mask,
    onStderrLine: (line) => reporter.warning(`${tool.command}: ${line}`),
    describeFailure: (f) => describeMysqlDumpFailure(f, where, tools.engine),
  });
  const guard = new DumpGuard(run.exited, `${tool.command} of ${where}`);
  pipeline(run.child.stdout!, guard).catch(() => {}); // errors reach the consumer through `guard`
  guard.on('close', () => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  });

  const dump: SourceDump = {
    stream: guard,
    completed: Promise.resolve(),
    details: {
      engine: tools.engine,
      host: t.host,
      port: t.port ?? 3306,
      database: t.database,
      serverVersion: tools.serverVersion,
      clientVersion,
      format: 'sql',
      ...(schema.characterSet ? { characterSet: schema.characterSet } : {}),
      ...(schema.collation ? { collation: schema.collation } : {}),
      ...(nonTransactional.length ? { nonTransactionalTables: nonTransactional } : {}),
    },
    rowCountMode: mode,
  };
  if (mode === 'estimate') {
    const est: RowCounts = {};
    for (const tb of schema.tables) if (tb.type === 'BASE TABLE') est[tb.name] = tb.rows;
    dump.rowCounts = est;
  }
  dump.completed = finished(guard).then(
    () => {
      if (mode !== 'exact') return;
      const r = guard.result!;
      if (r.problem) {
        // Better no counts than wrong ones: a restore would then refuse a good backup.
        reporter.warning(`could not count the rows in the dump of ${where} (${r.problem}); the manifest records no row counts for it`);
        dump.rowCountMode = 'none';
        return;
      }
      dump.rowCounts = r.rowCounts;
    },
    (err: unknown) => {
      if (err instanceof StrongboxError) throw err;
      throw new StoppedError(`the dump of ${where} was stopped before it finished`, { cause: err });
    },
  );
  dump.completed.catch(() => {});
  return dump;
}
