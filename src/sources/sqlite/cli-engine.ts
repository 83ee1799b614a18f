import { StrongboxError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import { runTool, spawnTool, type ToolFailure } from '../process.js';
import type { BackupResult, OpenMode, QueryOptions, SqliteEngine } from './engine.js';
import { existingUri, immutableUri } from './sql.js';

/**
 * The engine through the `sqlite3` command-line shell. The script goes to its stdin (no
 * length limit, nothing re-parsed by a shell); `-init /dev/null` keeps a user's ~/.sqliterc
 * from changing the output format; `-bail` makes the first error end it with a non-zero exit.
 * Output is in ASCII mode (0x1F between values, 0x1E after each row), and each statement is
 * followed by a row holding only 0x1D, so one run answers many statements unambiguously.
 */

const SQLITE3 = 'sqlite3';
const END_OF_STATEMENT = '\x1d';
const ROW = '\x1e';
const COLUMN = '\x1f';
/** Our own queries answer in kilobytes; more means something else is going on. */
const MAX_OUTPUT = 16 << 20;

let available: Promise<boolean> | undefined;

export function cliAvailable(): Promise<boolean> {
  available ??= runTool(SQLITE3, ['-version'], { name: SQLITE3 }).then(
    (out) => /^\d+\.\d+/.test(out.trim()),
    () => false,
  );
  return available;
}

function dbArgument(db: string, mode: OpenMode): string[] {
  // Absolute paths only (the adapter resolves them), so no name is taken for an option.
  if (mode === 'immutable') return [immutableUri(db)];
  if (mode === 'readwrite') return [existingUri(db)];
  return ['-readonly', db];
}

/** A dot-command argument in double quotes (the shell resolves C-style escapes in them). */
function dotArg(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

function failure(db: string) {
  return (f: ToolFailure): StrongboxError => {
    if (f.spawnError) return new StrongboxError(`sqlite3 was not found (${f.command})`, { hint: 'install the sqlite3 command-line shell (e.g. apt-get install sqlite3)' });
    const how = f.signal ? `was killed by ${f.signal}` : `failed with exit code ${f.code}`;
    return new StrongboxError(`sqlite3 ${how} on ${printable(db)}${f.stderr ? `: ${printable(f.stderr)}` : ''}`);
  };
}

function script(lines: string[], busyTimeoutMs: number): string {
  return ['.bail on', '.headers off', '.mode ascii', `.timeout ${Math.max(0, Math.round(busyTimeoutMs))}`, ...lines, ''].join('\n');
}

/** Runs a script; `onChunk` sees stdout as it arrives. */
async function run(db: string, mode: OpenMode, text: string, signal: AbortSignal | undefined, onChunk: (s: string) => void): Promise<void> {
  const tool = spawnTool(SQLITE3, ['-bail', '-batch', '-init', '/dev/null', ...dbArgument(db, mode)], {
    name: SQLITE3,
    stdin: true,
    describeFailure: failure(db),
    ...(signal ? { signal } : {}),
  });
  tool.child.stdin!.on('error', () => {}); // a sqlite3 that exited early: its exit status says why
  tool.child.stdin!.end(text);
  tool.child.stdout!.setEncoding('utf8');
  tool.child.stdout!.on('data', onChunk);
  await tool.exited;
}

function statementsScript(statements: string[]): string[] {
  return statements.flatMap((s) => [`${s.replace(/;\s*$/, '')};`, `SELECT char(29);`]);
}

/** Splits the output of {@link statementsScript} into each statement's rows. */
export function parseStatements(out: string): string[][][] {
  const result: string[][][] = [];
  let current: string[][] = [];
  for (const row of out.split(ROW)) {
    if (row === END_OF_STATEMENT) {
      result.push(current);
      current = [];
    } else if (row !== '') current.push(row.split(COLUMN));
  }
  return result;
}

async function collect(db: string, mode: OpenMode, text: string, signal?: AbortSignal): Promise<string> {
  let out = '';
  await run(db, mode, text, signal, (s) => {
    if (out.length < MAX_OUTPUT) out += s;
  });
  return out;
}

export function cliEngine(): SqliteEngine {
  return {
    name: 'cli',
    method: 'sqlite3 .backup',
    async version() {
      return (await runTool(SQLITE3, ['-version'], { name: SQLITE3 })).trim().split(/\s+/)[0] ?? '';
    },

    async backup(source, dest, { busyTimeoutMs, signal }): Promise<BackupResult> {
      // One read transaction around .backup: its steps all read the same snapshot, so writers
      // elsewhere neither restart it (as they would between steps) nor make it inconsistent.
      const lines = ['BEGIN;', ...statementsScript(['PRAGMA journal_mode', 'SELECT count(*) FROM sqlite_master']), `.backup main ${dotArg(dest)}`, 'COMMIT;'];
      const out = await collect(source, 'readonly', script(lines, busyTimeoutMs), signal);
      const [journal] = parseStatements(out);
      return { journalMode: journal?.[0]?.[0] ?? '' };
    },

    async query(db, statements, opts: QueryOptions) {
      const out = await collect(db, opts.mode, script(statementsScript(statements), opts.busyTimeoutMs ?? 0), opts.signal);
      const parsed = parseStatements(out);
      if (parsed.length !== statements.length) throw new StrongboxError(`sqlite3 answered ${parsed.length} of ${statements.length} statements on ${printable(db)}`);
      return parsed;
    },

    async countRows(db, sql, opts) {
      let rows = 0;
      await run(db, opts.mode, script([`${sql.replace(/;\s*$/, '')};`], opts.busyTimeoutMs ?? 0), opts.signal, (s) => {
        for (let i = s.indexOf(ROW); i >= 0; i = s.indexOf(ROW, i + 1)) rows++;
      });
      return rows;
    },
  };
}
