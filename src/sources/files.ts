import { constants as fsConstants, fstatSync, readlinkSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { chmod, lchown, lstat, lutimes, mkdir, mkdtemp, open, opendir, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { Minimatch } from 'minimatch';
import { Pack, Unpack, WriteEntry, type ReadEntry } from 'tar';
import { RefusedError, StoppedError, StrongboxError, UsageError, errorMessage } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { printable } from '../shared/text.js';
import { asideName, checkRestoreTarget, clearLeftovers, stagingPrefix } from './files-target.js';
import { inspectTarget, refuseMountPoint } from './target-check.js';
import { ArchiveLayout, UnsafeArchiveError, entryProblem, normalizeEntryPath } from './tar-safety.js';
import type { SourceDetails, SourceDump } from './adapter.js';

/**
 * File trees as plain tar streams (node-tar): paths relative to the tree root, symlinks kept
 * as symlinks, numeric owners, modes and mtimes. `tar -x` can read every artifact.
 *
 * Restores extract into a fresh staging directory beside the target and rename it into
 * place, so the target is either untouched or completely replaced, and nothing already in
 * the target (a symlink pointing elsewhere, say) can redirect a write.
 */

/** Per-file read size. node-tar's default (16 MiB per open file, up to `jobs` at once) costs memory without speed; 256 KiB reads measured as fast as 1 MiB (bench/). */
const READ_SIZE = 256 * 1024;
/** How many paths the walk may queue ahead of node-tar. */
const WALK_AHEAD = 512;
/** How many entries node-tar stats/reads at once (measured: 8 is near the best for small files). */
const JOBS = 8;
const MAX_LISTED_WARNINGS = 10;
/** Enough for node-tar's look-ahead (the stat of a path is read back moments after it is stored). */
const CACHE_ENTRIES = 4096;

/** A Map that forgets its oldest entries: node-tar's caches otherwise keep one Stats per file for the whole run. */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(key: K, value: V): this {
    if (this.size >= this.max && !this.has(key)) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}

function safeName(raw: string, fallback: string): string {
  return raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || fallback;
}

export function filesArtifactName(path: string): string {
  return `files-${safeName(basename(resolve(path)), 'root')}`;
}

/**
 * Exclude patterns, gitignore-like: a pattern without "/" matches a name at any depth
 * (`node_modules`, `*.log`); one with "/" matches the path from the tree root
 * (`cache/tmp`, `**\/*.tmp`; a leading "/" or "./" just anchors); a trailing "/" matches
 * directories only. A matching directory is skipped with everything under it.
 */
export function compileExcludes(patterns: string[]): (rel: string, isDir: boolean) => boolean {
  const rules = patterns
    .map((raw) => raw.trim())
    .filter((raw) => raw.length > 0)
    .map((raw) => {
      let p = raw;
      const dirOnly = p.endsWith('/');
      p = p.replace(/\/+$/, '');
      const anchored = p.startsWith('/') || p.startsWith('./');
      p = p.replace(/^(\.\/|\/)+/, '');
      const whole = anchored || p.includes('/');
      return { mm: new Minimatch(p, { dot: true }), dirOnly, whole };
    })
    .filter((r) => r.mm.pattern.length > 0);
  return (rel, isDir) =>
    rules.some((r) => (!r.dirOnly || isDir) && r.mm.match(r.whole ? rel : basename(rel)));
}

function specialKind(st: Stats): string | undefined {
  if (st.isFIFO()) return 'named pipe';
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice()) return 'block device';
  if (st.isCharacterDevice()) return 'character device';
  return undefined;
}

/** Checks a --files root before anything is created; returns the directory it resolves to. */
export function treeRoot(root: string): string {
  let st: Stats;
  try {
    st = statSync(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`the directory to back up does not exist: ${printable(root)}`, 'check the --files path');
    throw new UsageError(`cannot open the directory to back up, ${printable(root)}: ${printable(errorMessage(err))}`);
  }
  if (!st.isDirectory()) throw new UsageError(`${printable(root)} is not a directory`, 'give --files a directory; its whole tree is backed up');
  // Archive the directory a symlinked root points to, not the link itself.
  return realpathSync(root);
}

function describeReadError(err: unknown, root: string, real: string): StrongboxError {
  const e = err as NodeJS.ErrnoException;
  const rel = typeof e.path === 'string' ? relative(real, e.path) || '.' : undefined;
  const what = rel ? `"${printable(rel)}" in ${printable(root)}` : printable(root);
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      return new StrongboxError(`cannot read ${what}: permission denied`, { hint: 'give the backup read access to it, or leave it out with --exclude', cause: err });
    case 'ENOENT':
      return new StrongboxError(`${what} disappeared while it was being backed up`, { hint: 'the tree changed during the backup; rerun it, or back up a snapshot', cause: err });
    case 'EOF':
      return new StrongboxError(`${what} changed size while it was being read`, { hint: 'the tree changed during the backup; rerun it, or back up a snapshot', cause: err });
    default:
      return new StrongboxError(`reading ${what} failed: ${printable(errorMessage(err))}`, { cause: err });
  }
}

/**
 * Lets the tree walk run at most `window` entries ahead of node-tar, so memory stays flat
 * however many files the tree holds (node-tar's own recursion queues every path up front).
 */
class AddGate {
  private added = 0;
  private started = 0;
  private wake: (() => void) | undefined;
  stopped = false;
  constructor(private readonly window: number) {}
  async room(): Promise<void> {
    while (!this.stopped && this.added - this.started >= this.window) {
      await new Promise<void>((r) => (this.wake = r));
    }
    this.added++;
  }
  entryStarted(): void {
    this.started++;
    if (this.added - this.started < this.window / 2) this.release();
  }
  stop(): void {
    this.stopped = true;
    this.release();
  }
  private release(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

function direntKind(d: Dirent): 'dir' | 'other' | 'special' | 'unknown' {
  if (d.isDirectory()) return 'dir';
  if (d.isFile() || d.isSymbolicLink()) return 'other';
  if (d.isFIFO() || d.isSocket() || d.isBlockDevice() || d.isCharacterDevice()) return 'special';
  return 'unknown'; // some filesystems do not report types in readdir
}

/** A directory the walk leaves out wherever it appears (a repository, found by device + inode). */
export interface LeaveOut {
  dev: number;
  ino: number;
  /** For the log line, e.g. "the Strongbox repository /srv/app/.backups". */
  what: string;
}

type Change = 'grew' | 'shrank' | 'changed';

function ownSymbol(o: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(o).find((s) => s.description === description);
}

/**
 * node-tar fails the whole archive when a file's size differs from the one it stat'ed (a log
 * appended to, a file truncated). Like GNU tar, we store the size stat'ed instead (a file that
 * grew is cut there, one that shrank is padded with zeros) and report it: `onChange` is told
 * once per file that changed while it was read. Also refuses a link whose target is not UTF-8.
 * Undefined when node-tar's internals moved (then such a file fails the backup, as before).
 */
function changeTolerantEntries(
  onChange: (absolute: string, how: Change) => void,
  badLink: (absolute: string, raw: Buffer) => Error,
): typeof WriteEntry | undefined {
  const onread = ownSymbol(WriteEntry.prototype, 'onread');
  const onreadlink = ownSymbol(WriteEntry.prototype, 'onreadlink');
  if (!onread || !onreadlink) return undefined;
  const proto = WriteEntry.prototype as unknown as Record<symbol, (arg: never) => void>;
  const base = proto[onread] as (n: number) => void;
  const baseLink = proto[onreadlink] as (linkpath: string) => void;
  if (typeof base !== 'function' || typeof baseLink !== 'function') return undefined;
  class TolerantEntry extends WriteEntry {
    reported = false;
    report(how: Change): void {
      if (this.reported) return;
      this.reported = true;
      onChange(this.absolute, how);
    }
  }
  (TolerantEntry.prototype as unknown as Record<symbol, (n: number) => void>)[onread] = function (this: TolerantEntry, bytesRead: number) {
    let n = bytesRead;
    if (n <= 0 && this.remain > 0 && this.buf) {
      this.report('shrank');
      n = Math.min(this.remain, this.length);
      this.buf.fill(0, this.offset, this.offset + n);
    } else if (n > this.remain) {
      this.report('grew');
      n = this.remain;
    } else if (n === this.remain && this.fd !== undefined && this.stat) {
      const now = fstatSync(this.fd);
      if (now.size > this.stat.size) this.report('grew');
      else if (now.mtimeMs !== this.stat.mtimeMs || now.size !== this.stat.size) this.report('changed');
    }
    base.call(this, n);
  };
  // A link target that is not UTF-8 reads back as U+FFFD: refused, never stored changed.
  (TolerantEntry.prototype as unknown as Record<symbol, (l: string) => void>)[onreadlink] = function (this: TolerantEntry, linkpath: string) {
    if (linkpath.includes('\uFFFD')) {
      const raw = readlinkSync(this.absolute, { encoding: 'buffer' });
      if (!Buffer.from(raw.toString('utf8')).equals(raw)) {
        this.emit('error', badLink(this.absolute, raw));
        return;
      }
    }
    baseLink.call(this, linkpath);
  };
  return TolerantEntry;
}

const CHANGE_TEXT: Record<Change, string> = {
  grew: 'grew while it was being read: the backup holds its first bytes, up to the size it had when the backup reached it',
  shrank: 'shrank while it was being read: the backup holds what was read, padded with zeros to the size it had',
  changed: 'changed while it was being read: the backup may hold a mix of old and new content',
};

/**
 * A name the file system holds as bytes that are not UTF-8 (node gives it as U+FFFD, so no
 * path to it can be built, and tar entries are UTF-8): refused, naming it with the bytes escaped.
 */
async function assertUtf8Names(dir: string, relDir: string, root: string): Promise<void> {
  for (const raw of await readdir(dir, { encoding: 'buffer' })) {
    if (Buffer.from(raw.toString('utf8')).equals(raw)) continue;
    const where = relDir ? `"${printable(relDir)}" in ${printable(root)}` : printable(root);
    throw new StrongboxError(`${where} holds a file name that is not valid UTF-8: "${escapeBytes(raw)}"; a rerun will not help`, {
      hint: `rename it (e.g. with convmv) or leave it out with --exclude; Strongbox stores UTF-8 names only`,
    });
  }
}

/** UTF-8 text as is (control characters escaped), every byte that is not part of it as \xNN. */
function escapeBytes(raw: Buffer): string {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let out = '';
  for (let i = 0; i < raw.length; ) {
    let done = false;
    for (let len = 1; len <= 4 && i + len <= raw.length; len++) {
      try {
        out += decoder.decode(raw.subarray(i, i + len));
        i += len;
        done = true;
        break;
      } catch {
        // not (yet) a whole character
      }
    }
    if (!done) out += `\\x${raw[i++]!.toString(16).padStart(2, '0')}`;
  }
  return printable(out);
}

/**
 * A tree that is itself a directory to leave out (the repository, also by a second path) would
 * be backed up into itself; the core checks this before it creates or locks anything.
 */
export function refuseLeftOutRoot(path: string, leaveOut: LeaveOut[]): void {
  if (!leaveOut.length) return;
  const root = resolve(path);
  const st = statSync(treeRoot(root));
  const rootIs = leaveOut.find((l) => l.dev === st.dev && l.ino === st.ino);
  if (rootIs) throw new UsageError(`${printable(root)} is ${rootIs.what}`, 'back up the data, not the repository; for a second copy of every backup, give backup a second --to');
}

export function dumpFiles(path: string, opts: { exclude?: string[]; reporter: Reporter; leaveOut?: LeaveOut[] }): SourceDump {
  const { reporter } = opts;
  const root = resolve(path);
  const real = treeRoot(root);
  const leaveOut = opts.leaveOut ?? [];
  refuseLeftOutRoot(path, leaveOut);
  let added = 0;
  const excluded = compileExcludes(opts.exclude ?? []);
  const details: SourceDetails = { path: root };
  const gate = new AddGate(WALK_AHEAD);
  let entries = 0;
  let bytes = 0;

  const pack = new Pack({
    cwd: real,
    // Not `portable`: that drops owners and directory mtimes and rewrites modes.
    portable: false,
    // We walk the tree ourselves (depth first, throttled); node-tar only archives what we add.
    noDirRecurse: true,
    maxReadSize: READ_SIZE,
    jobs: JOBS,
    statCache: new BoundedMap<string, Stats>(CACHE_ENTRIES),
    onWriteEntry: (e: WriteEntry) => {
      gate.entryStarted();
      entries++;
      if (e.type === 'File') bytes += e.stat?.size ?? 0;
    },
    onwarn: (_code: string, message: string) => reporter.warning(`${printable(root)}: ${printable(message)}`),
  });

  let changed = 0;
  const tolerant = changeTolerantEntries((absolute, how) => {
    if (++changed <= MAX_LISTED_WARNINGS) reporter.warning(`"${printable(relative(real, absolute))}" in ${printable(root)} ${CHANGE_TEXT[how]}`);
  }, (absolute, raw) => new StrongboxError(`"${printable(relative(real, absolute))}" in ${printable(root)} is a symbolic link whose target is not valid UTF-8: "${escapeBytes(raw)}"; a rerun will not help`, {
    hint: 'point the link at a UTF-8 name, or leave it out with --exclude; Strongbox stores UTF-8 names only',
  }));
  const entryClass = ownSymbol(pack, 'writeEntryClass');
  if (tolerant && entryClass) (pack as unknown as Record<symbol, unknown>)[entryClass] = tolerant;

  const out = new PassThrough();
  let ended = false;
  let rejectCompleted!: (err: unknown) => void;
  const completed = new Promise<void>((res, rej) => {
    rejectCompleted = rej;
    pack.on('end', () => {
      ended = true;
      details.entries = entries;
      details.bytes = bytes;
      if (changed > MAX_LISTED_WARNINGS) reporter.warning(`${changed} files in ${printable(root)} changed while they were being read; back up a snapshot (or stop writers) for a consistent copy`);
      if (changed) details.changedWhileRead = changed;
      res();
    });
  });
  completed.catch(() => {});
  const fail = (err: unknown) => {
    if (ended || gate.stopped) return;
    gate.stop();
    const e = err instanceof StrongboxError ? err : describeReadError(err, root, real);
    rejectCompleted(e);
    out.destroy(e);
    pack.unpipe(out);
    pack.destroy();
  };
  pack.on('error', fail);
  // The consumer gave up (or we failed): stop walking and reading the tree.
  out.on('close', () => fail(new StoppedError(`the backup of ${printable(root)} was stopped before it finished`)));
  pack.pipe(out);

  const walk = async (relDir: string): Promise<void> => {
    const dir = await opendir(relDir ? join(real, relDir) : real, { bufferSize: 128 });
    for await (const d of dir) {
      if (gate.stopped) break;
      const rel = relDir ? `${relDir}/${d.name}` : d.name;
      let kind = direntKind(d);
      if (kind === 'unknown') {
        const st = await lstat(join(real, rel));
        kind = st.isDirectory() ? 'dir' : specialKind(st) ? 'special' : 'other';
      }
      if (kind === 'special') {
        reporter.warning(`skipping "${printable(rel)}" in ${printable(root)}: not a file, directory or link (only those are backed up)`);
        continue;
      }
      if (excluded(rel, kind === 'dir')) {
        reporter.debug(`excluded ${rel}`);
        continue;
      }
      if (d.name.includes('\uFFFD')) await assertUtf8Names(join(real, relDir), relDir, root);
      if (kind === 'dir' && leaveOut.length) {
        // Device + inode, not paths: a bind mount or a second path to the repository is caught too.
        const st = await lstat(join(real, rel));
        const hit = leaveOut.find((l) => l.dev === st.dev && l.ino === st.ino);
        if (hit) {
          reporter.warning(`leaving "${printable(rel)}" out of the backup of ${printable(root)}: it is ${printable(hit.what)} (archived, every backup would hold all earlier ones)`);
          continue;
        }
      }
      await gate.room();
      if (gate.stopped) break;
      added++;
      pack.add(`./${rel}`);
      if (kind === 'dir') await walk(rel);
    }
  };
  void (async () => {
    pack.add('.');
    await walk('');
    if (!gate.stopped && added === 0) {
      reporter.warning(`${printable(root)} is empty${opts.exclude?.length ? ' after the excludes' : ''}: nothing in it is backed up. If it should hold data, check that its volume is mounted (an unmounted volume looks like an empty folder)`);
    }
    if (!gate.stopped) pack.end();
  })().catch(fail);

  return { stream: out, completed, details };
}

type TargetState = 'missing' | 'empty' | 'occupied';

async function targetState(target: string): Promise<TargetState> {
  let st: Stats;
  try {
    st = await lstat(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  // A file or a symlink (even to an empty directory) in the target's place counts as content.
  if (!st.isDirectory()) return 'occupied';
  return (await readdir(target)).length === 0 ? 'empty' : 'occupied';
}

/** Removes a tree we own, even one holding read-only directories. */
async function removeTree(path: string): Promise<void> {
  const rmOpts = { recursive: true, force: true, maxRetries: 5, retryDelay: 100 } as const;
  try {
    await rm(path, rmOpts);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    await makeWritable(path);
    await rm(path, rmOpts);
  }
}

async function makeWritable(dir: string): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) return;
  await chmod(dir, (st.mode & 0o7777) | 0o700).catch(() => {});
  for (const name of await readdir(dir).catch(() => [] as string[])) await makeWritable(join(dir, name));
}

interface DirFix {
  rel: string;
  mode?: number;
  mtime?: Date;
}

/**
 * What node-tar leaves behind that the backup had otherwise: file modes go through the
 * process umask (and lose setuid bits to chown), directories are made owner-writable and
 * get their mtimes bumped by the files written into them. Recorded while extracting, put
 * right at the end; only unusual files are kept, so memory follows directories, not files.
 */
class MetadataFixups {
  private readonly umask = process.umask();
  private readonly files: { rel: string; mode: number }[] = [];
  private readonly dirs: DirFix[] = [];
  sawRoot = false;

  note(rel: string, e: ReadEntry): void {
    const mode = typeof e.mode === 'number' ? e.mode & 0o7777 : undefined;
    if (e.type === 'Directory' || e.type === 'GNUDumpDir') {
      if (rel === '') this.sawRoot = true;
      this.dirs.push({ rel, ...(mode !== undefined ? { mode } : {}), ...(e.mtime ? { mtime: e.mtime } : {}) });
    } else if ((e.type === 'File' || e.type === 'OldFile' || e.type === 'ContiguousFile') && mode !== undefined) {
      if (mode & this.umask || mode & 0o7000) this.files.push({ rel, mode });
    }
  }

  async apply(root: string): Promise<void> {
    for (const f of this.files) await chmodFile(join(root, f.rel), f.mode);
    // An archive without a root entry leaves the target with mkdtemp's 0700.
    if (!this.sawRoot) this.dirs.push({ rel: '', mode: 0o777 & ~this.umask });
    // Deepest first: a parent made read-only or unsearchable must not block its children.
    const depth = (rel: string) => (rel === '' ? 0 : rel.split('/').length);
    for (const d of [...this.dirs].sort((a, b) => depth(b.rel) - depth(a.rel))) {
      // Through a descriptor opened without following a link: a fix-up never lands elsewhere.
      const dir = await open(join(root, d.rel), fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW).catch((err: unknown) => {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTDIR' || code === 'ELOOP') return undefined; // replaced by a later entry
        throw err;
      });
      if (!dir) continue;
      try {
        if (d.mode !== undefined) await dir.chmod(d.mode);
        if (d.mtime) await dir.utimes(d.mtime, d.mtime);
      } finally {
        await dir.close();
      }
    }
  }
}

/** chmod through a descriptor opened without following a link (a file replaced by a link is left alone). */
async function chmodFile(p: string, mode: number): Promise<void> {
  const nofollow = fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;
  for (const flags of [fsConstants.O_RDONLY, fsConstants.O_WRONLY]) {
    let file;
    try {
      file = await open(p, flags | nofollow);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') return;
      if (code === 'EACCES') continue;
      throw err;
    }
    try {
      if ((await file.stat()).isFile()) await file.chmod(mode);
      return;
    } finally {
      await file.close();
    }
  }
  // Neither readable nor writable by us (not root): the path, after checking it is no link.
  if ((await lstat(p)).isFile()) await chmod(p, mode);
}

/** node-tar keeps "saw the end-of-archive blocks" private; a stream cut at an entry boundary otherwise looks complete. */
function sawEndOfArchive(unpack: Unpack): boolean | undefined {
  const sym = Object.getOwnPropertySymbols(unpack).find((s) => s.description === 'sawEOF');
  return sym === undefined ? undefined : Boolean((unpack as unknown as Record<symbol, unknown>)[sym]);
}

interface TarError extends Error {
  code?: string;
  tarCode?: string;
  entry?: { path?: string };
  path?: string;
}

function describeExtractError(err: unknown, target: string): StrongboxError {
  if (err instanceof StrongboxError) return err;
  const e = err as TarError;
  const entry = e.entry?.path ?? (typeof e.path === 'string' ? e.path : undefined);
  if (e.code === 'TAR_SYMLINK_ERROR' || e.name === 'SymlinkError') {
    return new UnsafeArchiveError(`refusing to restore into ${printable(target)}: entry "${printable(entry ?? '?')}" would be written through a symbolic link; nothing was put in place`);
  }
  if (e.code === 'ENOSPC') {
    return new StrongboxError(`restoring into ${printable(target)} failed: no space left on the device; ${printable(target)} was not changed`, { cause: err });
  }
  const at = entry ? ` at entry "${printable(entry)}"` : '';
  return new StrongboxError(`restoring into ${printable(target)} failed${at}: ${printable(errorMessage(err))}; ${printable(target)} was not changed`, { cause: err });
}

interface PendingLink {
  rel: string;
  to: string;
  uid?: number;
  gid?: number;
  mtime?: Date;
}

/**
 * Symbolic links are created by us once node-tar is done, exactly as stored (wherever they
 * point): node-tar would strip a leading "/" and refuse links that leave the tree. No link
 * exists in staging while node-tar writes, and `ArchiveLayout` has refused every entry at or
 * below a link's path, so nothing can be written through one.
 */
async function createLinks(staging: string, links: PendingLink[], target: string): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  for (const l of links) {
    const at = join(staging, l.rel);
    await makeParents(staging, l.rel, target);
    try {
      await symlink(l.to, at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      throw new UnsafeArchiveError(`refusing to restore into ${printable(target)}: the archive holds "${printable(l.rel)}" twice, once as a symbolic link; nothing was put in place`, {
        hint: 'this archive was not written by a Strongbox backup of a plain tree, or was tampered with',
      });
    }
    // Owners, like node-tar for files: only root can give them away.
    if (asRoot && l.uid !== undefined && l.gid !== undefined) await lchown(at, l.uid, l.gid);
    if (l.mtime) await lutimes(at, l.mtime, l.mtime);
  }
}

/**
 * mkdir -p of a link's parent that refuses to pass through a link (`mkdir -p` would follow
 * one). ArchiveLayout already refuses that by path; this also holds where two spellings name
 * one directory (case-insensitive or normalizing file systems).
 */
async function makeParents(staging: string, rel: string, target: string): Promise<void> {
  let here = staging;
  for (const part of rel.split('/').slice(0, -1)) {
    here = join(here, part);
    const st = await lstat(here).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    });
    if (!st) await mkdir(here);
    else if (st.isSymbolicLink()) {
      throw new UnsafeArchiveError(`refusing to restore into ${printable(target)}: the symbolic link "${printable(rel)}" would be created through another symbolic link; nothing was put in place`);
    }
  }
}

async function extract(input: Readable, staging: string, target: string): Promise<number> {
  const fixups = new MetadataFixups();
  const layout = new ArchiveLayout();
  const links: PendingLink[] = [];
  let refused: UnsafeArchiveError | undefined;
  let failed = false;
  let entries = 0;

  const unpack = new Unpack({
    cwd: staging,
    // Every node-tar warning (bad checksum, unsupported entry, a path it would rewrite) is fatal.
    strict: true,
    filter: (p: string, e: Stats | ReadEntry) => {
      if (refused) return false;
      const entry = e as ReadEntry;
      const like = { path: p, type: entry.type, linkpath: entry.linkpath };
      const problem = entryProblem(like) ?? layout.problem(like);
      if (problem) {
        refused = new UnsafeArchiveError(`refusing to restore into ${printable(target)}: the archive entry "${printable(p)}" is unsafe (${problem}); nothing was put in place`, {
          hint: 'this archive was not written by a Strongbox backup of a plain tree, or was tampered with',
        });
        return false;
      }
      layout.record(like);
      const rel = normalizeEntryPath(p);
      entries++;
      if (entry.type === 'SymbolicLink') {
        links.push({
          rel,
          to: entry.linkpath!,
          ...(typeof entry.uid === 'number' && typeof entry.gid === 'number' ? { uid: entry.uid, gid: entry.gid } : {}),
          ...(entry.mtime ? { mtime: entry.mtime } : {}),
        });
        return false; // created by createLinks, after every other entry
      }
      fixups.note(rel, entry);
      return true;
    },
  });
  const done = new Promise<void>((res, rej) => {
    unpack.on('error', (err: unknown) => {
      failed = true;
      rej(err);
    });
    unpack.on('close', () => res());
  });
  done.catch(() => {});

  for await (const chunk of input as AsyncIterable<Buffer>) {
    if (refused || failed) break;
    if (!unpack.write(chunk)) {
      await Promise.race([new Promise((r) => unpack.once('drain', r)), done.catch(() => {})]);
    }
  }
  if (refused) throw refused;
  if (!failed) unpack.end();
  await done;
  if (refused) throw refused;
  if (sawEndOfArchive(unpack) === false) {
    throw new StrongboxError(`the archive for ${printable(target)} ended without its end-of-archive marker: it is truncated; ${printable(target)} was not changed`);
  }

  await createLinks(staging, links, target);
  await fixups.apply(staging);
  return entries;
}

function cannotMove(what: string, target: string, err: unknown): StrongboxError {
  const code = (err as NodeJS.ErrnoException).code;
  return new StrongboxError(`cannot move ${what}: ${printable(errorMessage(err))}; ${printable(target)} was not changed`, {
    cause: err,
    hint: code === 'EBUSY' || code === 'EXDEV' ? `${printable(target)} looks like a mount point: restore into a directory inside it instead` : undefined,
  });
}

async function moveIntoPlace(staging: string, target: string, force: boolean, reporter: Reporter): Promise<void> {
  if ((await targetState(target)) !== 'occupied') {
    try {
      // rename(2) also replaces an empty directory, atomically.
      await rename(staging, target);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw cannotMove(`the restored tree into ${printable(target)}`, target, err);
    }
  }
  if (!force) throw notEmpty(target);
  const aside = asideName(target, randomBytes(4).toString('hex'));
  // A link in the target's place is replaced itself; what it points to is never followed.
  const linkTo = (await lstat(target)).isSymbolicLink() ? await readlink(target) : undefined;
  try {
    await rename(target, aside);
  } catch (err) {
    throw cannotMove(`the current ${printable(target)} aside`, target, err);
  }
  try {
    await rename(staging, target);
  } catch (err) {
    await rename(aside, target).catch(() => reporter.error(`the previous contents of ${printable(target)} are at ${printable(aside)}; move them back by hand`));
    throw cannotMove(`the restored tree into ${printable(target)}`, target, err);
  }
  // Checked before the restore too; a volume mounted since must not be deleted with the old contents.
  const mounted = (await inspectTarget(aside)).mountPoints;
  if (mounted.length) {
    reporter.warning(
      `replaced ${printable(target)} (--force); its previous contents were kept at ${printable(aside)}: a file system is mounted below it (${mounted.map(printable).join(', ')}). Unmount it before you remove ${printable(aside)}, or its data is deleted too`,
    );
    return;
  }
  if (linkTo !== undefined) {
    reporter.info(`replaced the symbolic link ${printable(target)} (→ ${printable(linkTo)}) with the restored tree; ${printable(linkTo)} was not changed`);
    await rm(aside).catch((err: unknown) => reporter.warning(`the replaced symbolic link was kept at ${printable(aside)} (${errorMessage(err)}); remove it by hand`));
    return;
  }
  reporter.info(`replaced ${printable(target)} (--force); removing its previous contents`);
  await removeTree(aside).catch((err: unknown) =>
    reporter.warning(`the previous contents of ${printable(target)} were kept at ${printable(aside)} (${printable(errorMessage(err))}); check that nothing is mounted below it, then remove it by hand`),
  );
}

function notEmpty(target: string): RefusedError {
  return new RefusedError(
    `the restore target ${printable(target)} is not empty`,
    'rerun with --force to replace it (the old contents are moved aside and removed only once the restore is complete)',
  );
}

/**
 * Restores a tar stream into `targetDir`: extracted into `<target>.strongbox-staging-<pid>-…`
 * beside it (those left by a killed restore are removed first), checked, then renamed into
 * place. Any failure removes the staging directory and leaves the target as it was.
 */
export async function restoreFiles(input: Readable, targetDir: string, opts: { force: boolean; reporter: Reporter }): Promise<{ entries: number }> {
  const target = resolve(targetDir);
  await checkRestoreTarget(target);
  await refuseMountPoint(target);
  if (!opts.force && (await targetState(target)) === 'occupied') throw notEmpty(target);
  await clearLeftovers(target, opts.reporter);
  // Fresh and private (0700) until it is complete: nothing already on disk can redirect a write.
  const staging = await mkdir(dirname(target), { recursive: true })
    .then(() => mkdtemp(stagingPrefix(target)))
    .catch((err: unknown) => {
      throw new StrongboxError(`cannot create a staging folder beside ${printable(target)}: ${printable(errorMessage(err))}; ${printable(target)} was not changed`, { cause: err });
    });
  try {
    const entries = await extract(input, staging, target).catch((err: unknown) => {
      throw describeExtractError(err, target);
    });
    await moveIntoPlace(staging, target, opts.force, opts.reporter);
    opts.reporter.debug(`restored ${entries} entries into ${printable(target)}`);
    return { entries };
  } catch (err) {
    await removeTree(staging).catch((e: unknown) => opts.reporter.warning(`could not remove the staging directory ${printable(staging)}: ${printable(errorMessage(e))}`));
    throw err;
  }
}
