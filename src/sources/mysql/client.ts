import { spawn } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StrongboxError } from '../../shared/errors.js';
import { SecretMasker, type Reporter } from '../../shared/reporter.js';
import { childEnvironment } from '../../shared/sensitive-env.js';
import { spawnTool, type RunningTool, type ToolFailure, type ToolOptions } from '../process.js';
import { hostPort, mysqlUrlSecrets, type MysqlTarget } from './url.js';

/**
 * How every MySQL/MariaDB child connects. The password goes into a `--defaults-extra-file`
 * (mode 0600, in a private 0700 folder from mkdtemp), which must be the child's FIRST
 * argument; host, port and user go on the command line, which outranks every option file
 * (including a ~/.my.cnf read after ours). The file is removed as soon as the child has
 * connected (its first output: option files are read before connecting; the clients run
 * `--unbuffered` so that it arrives at once) or has exited, so a SIGKILL of Strongbox leaves
 * it behind only if it comes during a child's start-up; the next run removes such leftovers
 * (older than 10 minutes). MYSQL_PWD is never passed on: the file holds the password.
 */

/** Option-file value: double-quoted, with the escapes the option-file parser decodes. */
export function optionFileValue(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

export interface OptionFile {
  path: string;
  remove(): void;
}

const OPTION_DIR_PREFIX = 'strongbox-mysql-';
/** A folder older than this was left by a process that was killed (a live one is needed only until its child connects). */
const STALE_MS = 10 * 60_000;
let swept = false;

/** Removes option-file folders that killed runs of this user left behind (best effort, once per process). */
function sweepStale(): void {
  if (swept) return;
  swept = true;
  const uid = process.getuid?.();
  try {
    for (const name of readdirSync(tmpdir())) {
      if (!name.startsWith(OPTION_DIR_PREFIX) || !/^strongbox-mysql-[A-Za-z0-9]{6}$/.test(name)) continue;
      const path = join(tmpdir(), name);
      const st = statSync(path);
      if (st.isDirectory() && (uid === undefined || st.uid === uid) && Date.now() - st.mtimeMs > STALE_MS) rmSync(path, { recursive: true, force: true });
    }
  } catch {
    // best effort
  }
}

export function writeOptionFile(t: MysqlTarget): OptionFile {
  sweepStale();
  const dir = mkdtempSync(join(tmpdir(), OPTION_DIR_PREFIX));
  const path = join(dir, 'client.cnf');
  const lines = ['[client]'];
  if (t.password !== undefined) lines.push(`password=${optionFileValue(t.password)}`);
  // mkdtemp makes the folder 0700; the file is created 0600 before anything is written.
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600, flag: 'wx' });
  let removed = false;
  return {
    path,
    remove() {
      if (removed) return;
      removed = true;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The connection options that may be seen (no password), after the option file. */
export function connectionArgs(t: MysqlTarget, timeout = true): string[] {
  const args = [`--host=${t.host}`];
  if (t.port !== undefined) args.push(`--port=${t.port}`);
  if (t.user) args.push(`--user=${t.user}`);
  // Without a bound the client waits for an unreachable host as long as TCP does (the dump
  // tools have no such option; the client has reached the server just before them).
  if (timeout) args.push('--connect-timeout=30');
  return args;
}

/** A MySQL child's environment: no MYSQL_PWD (the option file holds the password) and no PostgreSQL password either. */
export function childEnv(): NodeJS.ProcessEnv {
  const env = childEnvironment();
  delete env.MYSQL_PWD;
  delete env.PGPASSWORD;
  delete env.PGPASSFILE;
  return env;
}

/** Masks what the URL holds and, when the password came from MYSQL_PWD, that too (it is read here). */
export function maskerFor(url: string, t: MysqlTarget, reporter?: Reporter, env: NodeJS.ProcessEnv = process.env): (s: string) => string {
  const masker = new SecretMasker();
  const secrets = new Set(mysqlUrlSecrets(url));
  if (t.password) secrets.add(t.password);
  if (env.MYSQL_PWD) secrets.add(env.MYSQL_PWD);
  for (const s of secrets) {
    if (!s) continue;
    masker.add(s);
    reporter?.setSecret(s);
  }
  return (s) => masker.mask(s);
}

export function describe(t: MysqlTarget): string {
  return `database "${t.database}" on ${hostPort(t)}`;
}

/** Starts a client tool with the option file as its first argument; the file goes when it is no longer needed. */
export function spawnClient(command: string, t: MysqlTarget, args: string[], opts: ToolOptions & { dumpTool?: boolean }): RunningTool {
  const file = writeOptionFile(t);
  let run: RunningTool;
  try {
    run = spawnTool(command, [`--defaults-extra-file=${file.path}`, ...connectionArgs(t, !opts.dumpTool), ...args], { ...opts, env: opts.env ?? childEnv() });
  } catch (err) {
    file.remove();
    throw err;
  }
  run.child.stdout?.once('data', () => file.remove());
  run.child.once('close', () => file.remove());
  run.child.once('error', () => file.remove());
  return run;
}

/** How a script-file client run ended: its exit status and the (masked) tail of its stderr. */
export interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  spawnError?: Error;
}

/**
 * Runs a client with `script` as its stdin FILE, not a pipe: the script is written whole to a
 * 0600 file in a private 0700 folder and fsynced, and the child gets the file's descriptor
 * as stdin. The kernel then holds the whole script for the child, so it runs to its end
 * even if Strongbox is killed meanwhile (through a pipe only 64 KiB would be the child's; the
 * rest would die with us). The file is unlinked as soon as the child has it open, so a kill
 * leaves nothing behind. The child has a process group of its own (a terminal's Ctrl-C does
 * not reach it) and is never stopped by us: stopping it halfway is what could hurt.
 */
export function runScriptFile(command: string, t: MysqlTarget, args: string[], script: string, opts: { mask: (s: string) => string; onStdout?: (s: string) => void }): Promise<ScriptRun> {
  sweepStale();
  const dir = mkdtempSync(join(tmpdir(), OPTION_DIR_PREFIX));
  const path = join(dir, 'script.sql');
  let fd: number | undefined;
  const opt = writeOptionFile(t);
  try {
    fd = openSync(path, 'wx+', 0o600);
    const buf = Buffer.from(script, 'utf8');
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off, off);
    fsyncSync(fd);
    closeSync(fd);
    fd = openSync(path, 'r');
    const child = spawn(command, [`--defaults-extra-file=${opt.path}`, ...connectionArgs(t), ...args], {
      env: childEnv(),
      stdio: [fd, 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
    });
    // The child holds its own copy of the descriptor now.
    closeSync(fd);
    fd = undefined;
    rmSync(dir, { recursive: true, force: true });
    return new Promise<ScriptRun>((resolve) => {
      let err = '';
      let spawnError: Error | undefined;
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (s: string) => {
        opt.remove();
        opts.onStdout?.(s);
      });
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (s: string) => (err = (err + s).slice(-8192)));
      child.once('error', (e) => {
        spawnError = e;
        opt.remove();
        if (child.pid === undefined) resolve({ code: null, signal: null, stderr: '', spawnError: e });
      });
      child.once('close', (code, signal) => {
        opt.remove();
        resolve({ code, signal, stderr: opts.mask(err.trim()), ...(spawnError ? { spawnError } : {}) });
      });
    });
  } catch (e) {
    opt.remove();
    throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function clientMissing(command: string, engine: 'mariadb' | 'mysql' | undefined): StrongboxError {
  const pkg = engine === 'mysql' ? 'mysql-client (MySQL\'s own client tools)' : 'mariadb-client';
  return new StrongboxError(`${command} was not found`, { hint: `install the ${engine === 'mysql' ? 'MySQL' : 'MariaDB'} client tools (e.g. apt-get install ${pkg}) or put ${command} on PATH` });
}

/** A query's failure: connection problems named as such. */
export function describeClientFailure(t: MysqlTarget, command: string, engine?: 'mariadb' | 'mysql') {
  return (f: ToolFailure): StrongboxError => {
    if (f.spawnError) return clientMissing(command, engine);
    if (/Unknown database/i.test(f.stderr)) {
      return new StrongboxError(`MySQL ${describe(t)} does not exist`, { hint: 'check the database name in the URL, or create it first (CREATE DATABASE)' });
    }
    if (/Access denied/i.test(f.stderr)) {
      return new StrongboxError(`MySQL refused the login or a statement for ${describe(t)}:\n${f.stderr}`, { hint: 'check the user and password (URL or MYSQL_PWD) and the user\'s privileges' });
    }
    if (/Can't connect|Unknown (MySQL|MariaDB) server host|Lost connection/i.test(f.stderr)) {
      return new StrongboxError(`cannot connect to MySQL at ${hostPort(t)}:\n${f.stderr}`, { hint: 'check the host and port in the URL and that the server accepts connections from here' });
    }
    const how = f.signal ? `was killed by ${f.signal}` : `failed with exit code ${f.code}`;
    return new StrongboxError(`${command} ${how} on ${describe(t)}${f.stderr ? `:\n${f.stderr}` : ''}`);
  };
}

/** Batch-mode output (`-N -B`) escapes \0 \b \n \r \t \\ in values; tabs separate columns. */
export function parseBatch(out: string): string[][] {
  if (out === '') return [];
  const lines = out.endsWith('\n') ? out.slice(0, -1).split('\n') : out.split('\n');
  const ESC: Record<string, string> = { '0': '\0', b: '\b', n: '\n', r: '\r', t: '\t', '\\': '\\', Z: '\x1a' };
  return lines.map((l) => l.split('\t').map((v) => v.replace(/\\(.)/g, (_m, c: string) => ESC[c] ?? c)));
}

export interface Client {
  /** `mariadb` or `mysql`. */
  command: string;
  engine?: 'mariadb' | 'mysql';
}

/** The most output (characters) {@link query} holds; more is an error, never a cut result. */
export let MAX_QUERY_OUTPUT = 64 << 20;
/** For tests only. */
export function setMaxQueryOutput(n: number): void {
  MAX_QUERY_OUTPUT = n;
}

/**
 * Runs SQL through the client (on stdin: argv is bounded and world-readable) and returns its
 * rows; `database: null` connects to no database.
 */
export async function query(client: Client, t: MysqlTarget, sql: string, opts: { mask: (s: string) => string; database?: string | null; signal?: AbortSignal }): Promise<string[][]> {
  const db = opts.database === undefined ? t.database : opts.database;
  const args = ['--batch', '--skip-column-names', '--default-character-set=utf8mb4', '--no-auto-rehash', '--unbuffered'];
  if (db !== null) args.push(`--database=${db}`);
  const run = spawnClient(client.command, t, args, {
    name: client.command,
    stdin: true,
    mask: opts.mask,
    describeFailure: describeClientFailure(t, client.command, client.engine),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  let out = '';
  let tooBig = false;
  run.child.stdout!.setEncoding('utf8');
  run.child.stdout!.on('data', (s: string) => {
    if (tooBig) return;
    out += s;
    if (out.length > MAX_QUERY_OUTPUT) {
      // Never a silently cut result: the rows would be wrong.
      tooBig = true;
      out = '';
      run.child.kill('SIGKILL');
    }
  });
  run.child.stdin?.on('error', () => {}); // its exit status says why
  run.child.stdin?.end(sql.endsWith(';') ? sql : `${sql};`);
  const failed = await run.exited.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (tooBig) {
    throw new StrongboxError(`a query on ${describe(t)} returned more than ${MAX_QUERY_OUTPUT >> 20} MiB of output, more than Strongbox reads into memory`, {
      hint: 'narrow the query (e.g. SELECT a key column only, or add a WHERE clause)',
    });
  }
  if (failed) throw failed;
  return parseBatch(out);
}

/** A string literal for SQL (backslash escapes, as the servers read them by default). */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\0/g, '\\0').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;
}

export function ident(s: string): string {
  return `\`${s.replace(/`/g, '``')}\``;
}
