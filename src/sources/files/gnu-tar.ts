import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Stats } from 'node:fs';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Header, Parser, Pax, type ReadEntry } from 'tar';
import { StrongboxError } from '../../shared/errors.js';
import { childEnvironment } from '../../shared/sensitive-env.js';
import { printable } from '../../shared/text.js';
import { sawEndOfArchive } from './staging-write.js';
import { FILE_TYPES, TAMPERED_HINT, UnsafeArchiveError, ignoredProblem, landingPath } from './tar-safety.js';

/**
 * GNU tar as the extraction engine of a whole-tree restore (`actions/cache` runs it as a
 * process for the same reason): it writes files 2.3× faster than node-tar for half the CPU
 * (bench/README.md). It never parses the archive as stored: node-tar's `Parser` reads it,
 * our rules check each entry, and tar is fed a new archive written from what was checked
 * (each entry's path, type, link, mode, owner, time and size re-encoded by node-tar's
 * `Header`/`Pax`, then the file's bytes). So no header trick that two tar readers take
 * differently (oversized or odd pax records, GNU sparse names, unknown types, a lone zero
 * block) can make tar write something the rules did not pass; and it writes only into the
 * private staging folder, with its own refusals (`..`, absolute names, delayed links) on top.
 */

export type TarEngineChoice = 'node' | 'gnu' | 'auto';

export const TAR_ENGINE_ENV = 'STRONGBOX_TAR_ENGINE';

export function tarEngineChoice(env: NodeJS.ProcessEnv = process.env): TarEngineChoice {
  const raw = (env[TAR_ENGINE_ENV] ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'auto') return 'auto';
  if (raw === 'node' || raw === 'gnu') return raw;
  throw new StrongboxError(`${TAR_ENGINE_ENV} must be node, gnu or auto, not ${JSON.stringify(raw)}`, { exitCode: 2 });
}

let detected: boolean | undefined;

/** `tar` on PATH is GNU tar (bsdtar takes other options, so it is not used). */
export function hasGnuTar(): boolean {
  detected ??= /GNU tar/.test(spawnSync('tar', ['--version'], { encoding: 'utf8', env: childEnvironment() }).stdout ?? '');
  return detected;
}

/** Whether GNU tar extracts (else node-tar): forced by STRONGBOX_TAR_ENGINE, or GNU tar when it is on PATH. */
export function useGnuTar(env: NodeJS.ProcessEnv = process.env): boolean {
  const choice = tarEngineChoice(env);
  if (choice === 'node') return false;
  if (hasGnuTar()) return true;
  if (choice === 'gnu') throw new StrongboxError(`${TAR_ENGINE_ENV}=gnu, but \`tar\` on PATH is not GNU tar`, { exitCode: 2, hint: `install GNU tar, or unset ${TAR_ENGINE_ENV} to use the built-in node-tar` });
  return false;
}

/**
 * GNU tar as a child process: its messages in English (they are parsed), in its own process
 * group, so a terminal's Ctrl-C reaches only us and we stop it ourselves.
 */
export function spawnTar(args: string[], stdout: 'pipe' | 'ignore'): ChildProcessByStdio<Writable, Readable | null, Readable> {
  return spawn('tar', args, {
    stdio: ['pipe', stdout, 'pipe'],
    env: { ...childEnvironment(), LC_ALL: 'C' },
    detached: process.platform !== 'win32',
  }) as ChildProcessByStdio<Writable, Readable | null, Readable>;
}

/**
 * GNU tar's options: exact modes (no umask), numeric owners (given away only when root, as
 * node-tar does), and never replacing a name already written: staging starts empty, so that
 * only happens when the archive holds a name twice, which our backups never do (the node
 * engine lets the last copy win; here the archive is refused). Directories that exist already
 * get the archive's last mode and time afterwards (extract.ts).
 */
const EXTRACT_ARGS = ['-x', '-f', '-', '--numeric-owner', '--preserve-permissions', '--keep-old-files', '--warning=no-unknown-keyword'];

/** tar's message for a name it found already written (--keep-old-files), quoting the name. */
const HELD_TWICE = /^tar: (.*?): Cannot (?:open|create symlink to .*|hard link to .*|mkdir): File exists$/m;

/** The GNU tar engine's own refusals, worded without the target (the caller adds it). */
export class TarRefusal extends UnsafeArchiveError {}

/** GNU tar exited non-zero; `code` is ENOSPC when it ran out of room (the caller words the message). */
export class TarFailedError extends Error {
  code?: string;
}

/**
 * Extracts `input` into `staging` with GNU tar. `check` sees every entry before it is
 * re-encoded for tar; it returns an error to refuse the archive (tar is then killed before
 * that entry reaches it). Resolves once tar has exited 0 and the archive ended with its
 * end-of-archive marker; on any failure tar has exited before the promise settles, so the
 * caller may remove staging at once.
 */
export async function gnuTarExtract(input: Readable, staging: string, check: (path: string, entry: ReadEntry) => Error | undefined): Promise<void> {
  let refused: Error | undefined;
  /** The archive tar is fed, waiting to be written: re-encoded headers and file bytes, in order. */
  const pending: Buffer[] = [];
  const parser = new Parser({
    // Every node-tar warning (bad checksum, unsupported entry) is fatal, as in the node engine.
    strict: true,
    // A plain tar only: a zstd or brotli stream would be decompressed and checked out of step with tar.
    zstd: false,
    brotli: false,
    filter: (path: string, entry: Stats | ReadEntry) => {
      refused ??= check(path, entry as ReadEntry);
      return refused === undefined;
    },
  });
  // What node-tar skips without asking the filter (a type it does not know, an extended header
  // over its size limit) is refused: tar must not read what was never checked.
  parser.on('ignoredEntry', (e: ReadEntry) => (refused ??= new TarRefusal(`the archive entry "${printable(e.path)}" is unsafe (${ignoredProblem(e)})`)));
  parser.on('entry', (entry: ReadEntry) => {
    try {
      reencode(entry, pending);
    } catch (err) {
      // A value node-tar cannot encode again: refused, never a crash that leaves staging behind.
      refused ??= new TarRefusal(`the archive entry "${printable(entry.path)}" cannot be restored (${printable((err as Error).message)})`);
      entry.resume();
    }
  });
  let parseError: unknown;
  parser.on('error', (err: unknown) => (parseError ??= err));
  const parsed = new Promise<void>((res) => parser.on('close', () => res()));

  const child = spawnTar([...EXTRACT_ARGS, '-C', staging], 'ignore');
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  let spawnError: unknown;
  const exited = new Promise<number | string>((res) => {
    child.on('error', (err) => {
      spawnError ??= err;
      res('error');
    });
    child.on('close', (code, signal) => res(code ?? signal ?? 'killed'));
  });
  // A tar that died early (a full disk) breaks the pipe: its own message explains that.
  child.stdin.on('error', () => {});
  let status: number | string | undefined;
  void exited.then((s) => (status = s));
  let ended = false;
  const failed = () => {
    if (status === undefined) return undefined;
    if (status !== 0) return tarFailure(status, stderr, spawnError);
    // Tar only ends cleanly at the end marker, which we write last.
    return ended ? undefined : new TarFailedError(`GNU tar stopped before the end of the archive: ${stderr.trim() || 'no message'}`);
  };

  /** Hands tar what is pending; calls back once there is room for more (or tar is gone). */
  let waiting: (() => void) | undefined;
  void exited.then(() => waiting?.()); // one handler, whoever waits (an EPIPE waits for tar's exit status)
  const flush = (cb: (err?: Error | null) => void) => {
    let room = true;
    for (const b of pending) room = child.stdin.write(b);
    pending.length = 0;
    if (room || status !== undefined) return cb(failed());
    const go = () => {
      child.stdin.off('drain', go);
      waiting = undefined;
      cb(failed());
    };
    waiting = go;
    child.stdin.on('drain', go);
  };

  // The stream is read to its end (so through the caller's checksum); the parser ignores what
  // follows the end marker. A sink rather than `for await`, which would copy buffered chunks.
  const sink = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      // After the end marker the rest is only drained: node-tar would keep concatenating it.
      if (sawEndOfArchive(parser) === true) return cb(refused ?? failed());
      parser.write(chunk);
      // A compressed stream would be checked later, after decompression: refused before tar sees it.
      const problem = refused ?? parseError ?? (decompressing(parser) ? new TarRefusal('the archive is itself compressed (not a plain tar)') : undefined) ?? failed();
      if (problem) return cb(problem as Error);
      flush(cb);
    },
  });

  try {
    await pipeline(input, sink);
    parser.end();
    await parsed;
    if (refused) throw refused;
    if (parseError) throw parseError;
    if (sawEndOfArchive(parser) !== true) throw new TruncatedArchiveError('the archive ended without its end-of-archive marker');
    ended = true;
    pending.push(Buffer.alloc(2 * BLOCK));
    await new Promise<void>((res, rej) => flush((err) => (err ? rej(err) : res())));
    child.stdin.end();
    await exited;
    const err = failed();
    if (err) throw err;
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    throw err;
  }
}

const BLOCK = 512;

/** An owner id tar can set; any other (negative, 2^32 and up) becomes the restoring user's, as chown's failure leaves it in the node engine. */
function ownerId(id: number | undefined): number {
  return id !== undefined && Number.isInteger(id) && id >= 0 && id < 2 ** 32 - 1 ? id : (process.getuid?.() ?? 0);
}

/**
 * One checked entry as tar will read it: a pax header when a field does not fit ustar (long
 * path or link, large size or id) or the time has milliseconds, the ustar header, and for a
 * regular file its bytes padded to the block. Other types carry no bytes (size 0), whatever
 * the stored header claimed. Names given as owners are dropped: owners are restored by number.
 */
function reencode(entry: ReadEntry, out: Buffer[]): void {
  const file = FILE_TYPES.has(entry.type);
  const dir = entry.type === 'Directory' || entry.type === 'GNUDumpDir';
  const size = file ? entry.size ?? 0 : 0;
  // The path the rules judged, spelled plainly (`./a/b`, a folder with its `/`); a hard link's
  // target likewise. A symbolic link's target is its content, kept as stored.
  const landing = landingPath(entry.path);
  const path = landing === '' ? './' : `./${landing}${dir ? '/' : ''}`;
  const linkpath = entry.type === 'Link' ? `./${landingPath(entry.linkpath ?? '')}` : entry.linkpath;
  // node-tar encodes fractional seconds only within ustar's range (1970 to 2242): outside it
  // the time is kept to the whole second.
  const ms = entry.mtime?.getTime();
  const exact = ms !== undefined && ms >= 0 && ms < 8 ** 11 * 1000;
  const mtime = ms === undefined ? undefined : new Date(exact ? ms : Math.floor(ms / 1000) * 1000);
  const fields = {
    path,
    type: file ? 'File' : entry.type,
    ...(linkpath ? { linkpath } : {}),
    mode: entry.mode ?? 0o644,
    uid: ownerId(entry.uid),
    gid: ownerId(entry.gid),
    size,
    ...(mtime ? { mtime } : {}),
  } as const;
  const header = new Header(fields);
  // A pax header too for a sub-second mtime, which ustar's whole seconds would lose.
  const subSecond = !!mtime && mtime.getTime() % 1000 !== 0;
  if (header.encode() || subSecond) {
    out.push(new Pax({ path, linkpath, size, uid: fields.uid, gid: fields.gid, mtime }).encode());
  }
  out.push(header.block!);
  if (!file) return void entry.resume();
  entry.on('data', (c: Buffer) => out.push(c));
  entry.on('end', () => {
    const tail = size % BLOCK;
    if (tail) out.push(Buffer.alloc(BLOCK - tail));
  });
}

/**
 * node-tar found a gzip header and inflates it: a backup's plaintext is a plain tar, so a
 * compressed one was not written by a backup (and its entries would arrive out of step with
 * the chunks fed in).
 */
function decompressing(parser: Parser): boolean {
  const sym = Object.getOwnPropertySymbols(parser).find((s) => s.description === 'unzip');
  // Not found (node-tar's internals moved): treated as decompressing, so nothing is written unchecked.
  if (sym === undefined) return true;
  return !!(parser as unknown as Record<symbol, unknown>)[sym];
}

/** The archive was cut at an entry boundary; the caller names the target. */
export class TruncatedArchiveError extends Error {}

function tarFailure(status: number | string, stderr: string, spawnError: unknown): Error {
  if (spawnError) return new TarFailedError(`GNU tar could not be started (${String((spawnError as Error).message ?? spawnError)}); set ${TAR_ENGINE_ENV}=node to restore with the built-in node-tar`, { cause: spawnError });
  const twice = HELD_TWICE.exec(stderr);
  if (twice) {
    return new TarRefusal(`the archive holds "${printable(twice[1]!)}" twice (a second entry would replace the first)`, {
      hint: TAMPERED_HINT,
    });
  }
  const message = stderr.trim().split('\n').slice(-5).join('; ') || 'no message';
  const err = new TarFailedError(`GNU tar failed (${typeof status === 'number' ? `exit ${status}` : status}): ${message}`);
  // A short write ("Wrote only 5120 of 10240 bytes") is how tar reports a disk filling up mid-file.
  // Matched at the end of tar's own lines only: a file name inside a message cannot fake it.
  if (/: (?:No space left on device|Disk quota exceeded)$/m.test(stderr) || /^tar: .*: Wrote only \d+ of \d+ bytes$/m.test(stderr)) err.code = 'ENOSPC';
  return err;
}
