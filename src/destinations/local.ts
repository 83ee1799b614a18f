import { createHash, randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { link, mkdir, open, readdir, readFile, realpath, rename, rmdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Transform, addAbortSignal, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NotFoundError, RefusedError, StrongboxError, UsageError, errorMessage } from '../shared/errors.js';
import { printable } from '../shared/text.js';
import { checkPrefix, keySegments } from './keys.js';
import type { Destination, ObjectInfo, PutOptions, PutResult } from './types.js';

/** Temp files live next to their final name (so rename is atomic) and `list` never shows them. */
export const TEMP_PREFIX = '.strongbox-tmp-';
/** Large I/O buffers: backups are big sequential streams, and small reads cost throughput. */
const IO_BUFFER = 1024 * 1024;

/** Where mount points are declared and where the mounted ones are listed (tests point these elsewhere). */
export interface MountTables {
  fstab?: string;
  mountinfo?: string;
}

/**
 * A local folder or mounted NAS share. Writes are atomic: data goes to a temp file in the same
 * directory, is fsync'ed, renamed over the final name, and the directory is fsync'ed, so after a
 * crash or kill a key is either absent or complete (a stray temp file at worst, which `list`
 * skips). Files are created mode 0600: a backup may hold a database in the clear.
 */
export class LocalDestination implements Destination {
  readonly display: string;
  readonly localPath: string;
  private readonly root: string;

  constructor(
    rootDir: string,
    private readonly mounts: MountTables = {},
    /** Bytes between two background syncs of a large object (tests make it small). */
    private readonly syncEvery = SYNC_EVERY,
  ) {
    if (!rootDir) throw new UsageError('the local destination path is empty');
    this.root = path.resolve(rootDir);
    // Shown in messages only: a control character in the path must not break a log line.
    this.display = printable(this.root);
    this.localPath = this.root;
  }

  /**
   * Before init creates a repository here. Only the last folder of the path is ever created:
   * a missing parent is usually a volume that is not mounted (`/mnt/nas/app` with /mnt/nas
   * empty), and creating it would put the backups on the local disk. A folder /etc/fstab
   * declares as a mount point but that is not mounted is refused; an empty parent that is no
   * mount point gets a warning (it may be an unmounted volume nobody declared).
   */
  async checkNewRoot(): Promise<string[]> {
    let base = this.root;
    while (!(await exists(base))) {
      const up = path.dirname(base);
      if (up === base) break;
      base = up;
    }
    const mounted = await mountPoints(this.mounts.mountinfo ?? '/proc/self/mountinfo', 4, parseMountinfoLine);
    const declared = await mountPoints(this.mounts.fstab ?? '/etc/fstab', 1, parseFstabLine);
    const real = await realpath(base).catch(() => base);
    if (mounted) {
      for (let p = real; ; p = path.dirname(p)) {
        if (declared?.has(p) && !mounted.has(p)) {
          throw new RefusedError(
            `will not create a Strongbox repository at ${this.display}: ${printable(p)} is a mount point in ${this.mounts.fstab ?? '/etc/fstab'} but nothing is mounted there`,
            `mount it (mount ${printable(p)}) and run again; a repository created now would land on the disk below it`,
          );
        }
        if (path.dirname(p) === p) break;
      }
    }
    if (base === this.root) return [];
    const parent = path.dirname(this.root);
    if (base !== parent) {
      const missing = path.join(base, path.relative(base, this.root).split(path.sep)[0]!);
      throw new NotFoundError(
        `will not create a Strongbox repository at ${this.display}: the folder ${printable(missing)} does not exist`,
        `only the last folder of the path is created: create ${printable(missing)} (and what lies below it) first, or check that the volume that should be there is mounted`,
      );
    }
    const st = await stat(parent);
    if (!st.isDirectory()) throw new RefusedError(`will not create a Strongbox repository at ${this.display}: ${printable(parent)} is a file, not a folder`, 'give a path under an existing folder');
    if ((await entriesOf(parent)).length === 0 && !mounted?.has(real)) {
      return [`${printable(parent)} is an empty folder and no mount point: if a volume should be mounted there, it is not, and the repository ${this.display} is created on the disk below it`];
    }
    return [];
  }

  /** Creates the repository's folder itself, never a missing parent (see checkNewRoot). */
  async createRoot(): Promise<void> {
    try {
      await mkdir(this.root);
    } catch (err) {
      if (code(err) === 'EEXIST') return;
      if (code(err) === 'ENOENT') {
        throw new NotFoundError(`creating ${this.display} failed: its parent folder ${printable(path.dirname(this.root))} does not exist`, 'create it first, or check that the volume is mounted');
      }
      throw fsFailure('creating', this.root, err);
    }
    await syncDir(path.dirname(this.root));
  }

  /**
   * Also reads the object back while writing it: a second handle reads and hashes the temp
   * file a step behind the writer (while the bytes are still in the page cache), then the rest
   * once the file is fsync'ed, before the rename. `readBack` is that SHA-256, which the
   * read-back confirmation checks instead of reading the whole object again after the upload.
   * With `readBack: false` (`--confirm-upload size`) it only writes.
   */
  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const file = this.pathFor(key);
    // The body may fail while we still create the temp file; pipeline reports that error, this
    // listener only keeps it from being an uncaught exception meanwhile.
    body.on('error', () => {});
    let result: PutResult | undefined;
    try {
      await this.writeAtomically(file, async (fh, tmp) => {
        // `flush` fsyncs before the stream closes the handle; pipeline settles after the close.
        const out = fh.createWriteStream({ highWaterMark: IO_BUFFER, flush: true });
        const reader = opts.readBack === false ? undefined : await open(tmp, 'r');
        try {
          const behind = reader && readBehind(reader);
          const ahead = syncAhead(fh, this.syncEvery, () => behind?.upTo(out.bytesWritten));
          await pipeline(body, ahead.stream, out, { signal: opts.signal });
          await ahead.settled();
          const size = out.bytesWritten;
          result = behind ? { size, readBack: await behind.finish(size) } : { size };
        } finally {
          await reader?.close();
        }
      });
    } catch (err) {
      body.destroy(); // stop the producer if we failed before reading it to the end
      throw err;
    }
    return result!;
  }

  async putBytes(key: string, data: Uint8Array): Promise<void> {
    const file = this.pathFor(key);
    await this.writeAtomically(file, (fh) => writeDurably(fh, data));
  }

  /**
   * Writes a temp file, then hard-links it to the final name: link(2) fails with EEXIST when
   * the name is taken, atomically, also on NFS (the classic NFS-safe lock). On file systems
   * without hard links (some SMB/exFAT mounts) it falls back to an exclusive create, which is
   * just as exclusive but lets a reader race a half-written file.
   */
  async putBytesIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    const file = this.pathFor(key);
    const dir = path.dirname(file);
    const tmp = await this.writeTemp(file, (fh) => writeDurably(fh, data));
    try {
      await link(tmp, file);
    } catch (err) {
      if (code(err) === 'EEXIST') return false;
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'].includes(code(err) ?? '')) {
        throw fsFailure('writing', file, err);
      }
      return await this.createExclusive(file, data);
    } finally {
      await unlink(tmp).catch(() => {});
    }
    await syncDir(dir);
    return true;
  }

  async get(key: string, opts: { signal?: AbortSignal } = {}): Promise<Readable> {
    const file = this.pathFor(key);
    opts.signal?.throwIfAborted();
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (err) {
      if (isMissing(err)) throw this.notFound(key);
      throw fsFailure('reading', file, err);
    }
    try {
      if (!(await fh.stat()).isFile()) throw this.notFound(key);
    } catch (err) {
      await fh.close();
      throw err instanceof StrongboxError ? err : fsFailure('reading', file, err);
    }
    // The stream owns the handle from here on and closes it at end, error or destroy.
    const stream = fh.createReadStream({ highWaterMark: IO_BUFFER });
    return opts.signal ? addAbortSignal(opts.signal, stream) : stream;
  }

  async getBytes(key: string): Promise<Uint8Array | undefined> {
    const file = this.pathFor(key);
    try {
      return await readFile(file);
    } catch (err) {
      if (isMissing(err) || code(err) === 'EISDIR') return undefined;
      throw fsFailure('reading', file, err);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const file = this.pathFor(key);
    try {
      const s = await stat(file);
      return s.isFile() ? { key, size: s.size, lastModified: s.mtime } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw fsFailure('reading', file, err);
    }
  }

  /** Recursive, in S3's order (plain byte order of the whole key), temp files left out. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix, this.display);
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash + 1);
    yield* this.walk(base, prefix);
  }

  async delete(key: string): Promise<void> {
    const file = this.pathFor(key);
    try {
      await unlink(file);
    } catch (err) {
      if (isMissing(err)) return;
      throw fsFailure('deleting', file, err);
    }
    await this.removeEmptyParents(path.dirname(file));
  }

  // --- internals ---

  /** Root entries, so init can name what a wrong path holds; a fresh file system's lost+found does not count. */
  async peek(limit: number): Promise<string[]> {
    let st;
    try {
      st = await stat(this.root);
    } catch (err) {
      if (isMissing(err)) return [];
      throw fsFailure('reading', this.root, err);
    }
    if (!st.isDirectory()) throw new RefusedError(`${this.display} is a file, not a folder`, 'give the path of a folder (`strongbox init --to DIR` creates a repository in a new or empty one)');
    const names = (await entriesOf(this.root)).filter((e) => !e.name.startsWith(TEMP_PREFIX)).map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).filter((n) => n !== 'lost+found/');
    return names.sort().slice(0, limit);
  }

  private pathFor(key: string): string {
    const segments = keySegments(key, this.display);
    if (segments.some((s) => s.startsWith(TEMP_PREFIX))) {
      throw new UsageError(`object key "${printable(key)}" uses the reserved prefix ${TEMP_PREFIX} of ${this.display}`);
    }
    const file = path.join(this.root, ...segments);
    // keySegments already refuses '..'; this guards against anything path.join might still read
    // as leaving the root (drive letters on Windows).
    const rel = path.relative(this.root, file);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new UsageError(`object key "${printable(key)}" points outside ${this.display}`);
    }
    return file;
  }

  private notFound(key: string): NotFoundError {
    return new NotFoundError(`object ${printable(key)} not found in ${this.display}`);
  }

  private async writeAtomically(file: string, write: (fh: FileHandle, tmp: string) => Promise<void>): Promise<void> {
    const dir = path.dirname(file);
    const tmp = await this.writeTemp(file, write);
    try {
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw fsFailure('writing', file, err);
    }
    await syncDir(dir);
  }

  /**
   * Creates a fresh temp file beside `file` and lets `write` fill, fsync and close it; on any
   * failure the temp file is removed again.
   */
  private async writeTemp(file: string, write: (fh: FileHandle, tmp: string) => Promise<void>): Promise<string> {
    const dir = path.dirname(file);
    const tmp = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    let fh: FileHandle | undefined;
    // Another run removing an emptied folder (a released lock's locks/) may race our mkdir.
    for (let attempt = 0; !fh; attempt++) {
      try {
        await this.makeDirsBelowRoot(dir);
        fh = await open(tmp, 'wx', 0o600);
      } catch (err) {
        if (code(err) === 'ENOENT' && attempt < 3) continue;
        await this.removeEmptyParents(dir);
        throw fsFailure('writing', file, err);
      }
    }
    try {
      await write(fh, tmp);
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      // A write that stored nothing leaves no empty <backup-id>/ folder behind.
      await this.removeEmptyParents(dir);
      // File system errors carry a syscall; anything else came from the body stream (the
      // source failed or the caller aborted) and is passed on as it is.
      throw isFsError(err) ? fsFailure('writing', file, err) : err;
    }
    return tmp;
  }

  /** Folders inside the repository only: a vanished root (an unmounted share) is an error, not recreated. */
  private async makeDirsBelowRoot(dir: string): Promise<void> {
    let p = this.root;
    for (const segment of path.relative(this.root, dir).split(path.sep).filter(Boolean)) {
      p = path.join(p, segment);
      await mkdir(p).catch((err: unknown) => {
        if (code(err) !== 'EEXIST') throw err;
      });
    }
  }

  private async createExclusive(file: string, data: Uint8Array): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await open(file, 'wx', 0o600);
    } catch (err) {
      if (code(err) === 'EEXIST') return false;
      throw fsFailure('writing', file, err);
    }
    try {
      await writeDurably(fh, data);
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(file).catch(() => {});
      throw fsFailure('writing', file, err);
    }
    await syncDir(path.dirname(file));
    return true;
  }

  /**
   * Also removes the folders this empties, and empty folders older than `before` (a killed
   * run's <backup-id>/ that never got a file), which are reported as `<name>/`.
   */
  async removeAbandonedWrites(before: Date, dryRun: boolean): Promise<string[]> {
    const removed: string[] = [];
    const rel = (full: string) => path.relative(this.root, full).split(path.sep).join('/');
    /** Whether `dir` is (or, in a dry run, would be) left empty, and whether we removed anything in it. */
    const visit = async (dir: string): Promise<{ empty: boolean; tidied: boolean }> => {
      const entries = await entriesOf(dir);
      let left = entries.length;
      let tidied = false;
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (e.name === 'lost+found') continue; // a mounted file system's own
          const sub = await visit(full);
          if (!sub.empty) continue;
          if (!sub.tidied) {
            const s = await stat(full).catch(() => undefined);
            if (!s || s.mtime >= before) continue; // maybe a running backup's, about to get a file
          }
          if (!dryRun && !(await rmdir(full).then(() => true, () => false))) continue;
          if (!sub.tidied) removed.push(`${rel(full)}/`);
          left--;
          tidied = true;
        } else if (e.isFile() && e.name.startsWith(TEMP_PREFIX)) {
          const s = await stat(full).catch(() => undefined);
          if (!s || s.mtime >= before) continue;
          removed.push(rel(full));
          left--;
          tidied = true;
          if (!dryRun) {
            await unlink(full).catch((err: unknown) => {
              if (!isMissing(err)) throw fsFailure('removing', full, err);
            });
          }
        }
      }
      return { empty: left === 0, tidied };
    };
    await visit(this.root);
    return removed;
  }

  private async *walk(relDir: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const dir = path.join(this.root, ...relDir.split('/').filter(Boolean));
    const entries = await entriesOf(dir);
    // Sorting names with a '/' appended to directories yields the order of the full keys.
    const named = entries
      .filter((e) => !e.name.startsWith(TEMP_PREFIX))
      .map((e) => ({ e, sortName: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => (a.sortName < b.sortName ? -1 : a.sortName > b.sortName ? 1 : 0));
    for (const { e } of named) {
      const key = relDir + e.name;
      if (e.isDirectory()) {
        // Descend only where keys can still match the prefix.
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) yield* this.walk(sub, prefix);
        continue;
      }
      if (!key.startsWith(prefix)) continue;
      if (!e.isFile() && !e.isSymbolicLink()) continue;
      let s;
      try {
        s = await stat(path.join(dir, e.name));
      } catch (err) {
        if (isMissing(err)) continue; // deleted while we listed
        throw fsFailure('listing', path.join(dir, e.name), err);
      }
      // A symlinked directory is not followed: it could loop or lead out of the root.
      if (s.isFile()) yield { key, size: s.size, lastModified: s.mtime };
    }
  }

  private async removeEmptyParents(dir: string): Promise<void> {
    // Keeps the tree free of empty backup folders after prune; stops at the first non-empty one.
    while (dir !== this.root && dir.startsWith(this.root + path.sep)) {
      try {
        await rmdir(dir);
      } catch {
        return;
      }
      dir = path.dirname(dir);
    }
  }
}

/** Bytes written between two background syncs of a large object. */
const SYNC_EVERY = 64 * 1024 * 1024;

/**
 * Passes a large object's bytes through and, every SYNC_EVERY bytes, starts an fdatasync in the
 * background (one at a time): the disk writes the object back while the rest is still being
 * produced, so the fsync that commits it at the end waits for the last stretch, not for all of
 * it (on this project's bench machine: 475 MB left dirty cost ~0.4 s of fsync at the end).
 */
function syncAhead(fh: FileHandle, every: number, onChunk: () => void): { stream: Transform; settled(): Promise<void> } {
  let since = 0;
  let inFlight: Promise<void> | undefined;
  let failed: unknown;
  const stream = new Transform({
    highWaterMark: IO_BUFFER,
    transform(chunk: Buffer, _enc, cb) {
      onChunk();
      since += chunk.length;
      if (since >= every && !inFlight) {
        since = 0;
        inFlight = fh.datasync().then(
          () => void (inFlight = undefined),
          (err: unknown) => void ((failed ??= err), (inFlight = undefined)),
        );
      }
      cb(null, chunk);
    },
  });
  return {
    stream,
    async settled() {
      await inFlight;
      if (failed) throw failed;
    },
  };
}

/**
 * Hashes a file being written, trailing its writer: `upTo(n)` (n: bytes the write stream has
 * finished writing) lets one read loop catch up to n, in 1 MiB reads while the data is still
 * in the page cache; `finish(size)` reads the rest once the file is complete and checks that
 * nothing follows. A read error or a file shorter than what was written fails `finish`.
 */
function readBehind(reader: FileHandle): { upTo(bytes: number): void; finish(size: number): Promise<{ size: number; sha256: string }> } {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(IO_BUFFER);
  let hashed = 0;
  let target = 0;
  let failed: unknown;
  let loop: Promise<void> | undefined;
  const run = async () => {
    try {
      while (hashed < target && failed === undefined) {
        const { bytesRead } = await reader.read(buf, 0, Math.min(buf.length, target - hashed), hashed);
        if (bytesRead === 0) throw new StrongboxError(`the file holds only ${hashed} of the ${target} bytes written to it`);
        hash.update(buf.subarray(0, bytesRead));
        hashed += bytesRead;
      }
    } catch (err) {
      failed ??= err;
    }
  };
  const upTo = (bytes: number) => {
    target = Math.max(target, bytes);
    // Cleared in a later microtask, after the assignment (run() may settle at once).
    if (!loop) loop = run().finally(() => (loop = undefined));
  };
  return {
    upTo,
    async finish(size) {
      // A loop still running reads on to the new target; one that had ended starts again.
      while (loop) await loop;
      upTo(size);
      await loop;
      if (failed !== undefined) throw failed;
      if ((await reader.read(buf, 0, 1, size)).bytesRead !== 0) throw new StrongboxError(`the file holds more than the ${size} bytes written to it`);
      return { size: hashed, sha256: hash.digest('hex') };
    },
  };
}

async function writeDurably(fh: FileHandle, data: Uint8Array): Promise<void> {
  await fh.writeFile(data);
  await fh.sync();
  await fh.close();
}

/**
 * Makes the rename or link itself durable. Some network file systems and platforms cannot open
 * or fsync a directory; the data file is already synced, so that is tolerated.
 */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort, see above
  } finally {
    await fh?.close().catch(() => {});
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw fsFailure('reading', p, err);
  }
}

/** Fields are separated by blanks; blanks inside a path are written as octal escapes (\040). */
const unescapeMountPath = (field: string) => field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
const parseMountinfoLine = (line: string) => line.split(' ');
const parseFstabLine = (line: string) => (line.trim().startsWith('#') ? [] : line.trim().split(/\s+/));

/** The mount points a table names; undefined when it cannot be read (not Linux, no fstab). */
async function mountPoints(file: string, field: number, split: (line: string) => string[]): Promise<Set<string> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const points = new Set<string>();
  for (const line of text.split('\n')) {
    const value = split(line)[field];
    if (value?.startsWith('/')) points.add(path.resolve(unescapeMountPath(value)));
  }
  return points;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function isMissing(err: unknown): boolean {
  return code(err) === 'ENOENT' || code(err) === 'ENOTDIR';
}

function isFsError(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException | undefined)?.syscall === 'string';
}

const HINTS: Record<string, string> = {
  ENOENT: 'a folder on the way is missing: check that the volume is mounted',
  ENOSPC: 'the disk is full: free space there or choose another destination',
  EDQUOT: 'the disk quota is exhausted: free space there or choose another destination',
  EACCES: 'check that this user may write there (owner and permissions of the folder)',
  EPERM: 'check that this user may write there (owner and permissions of the folder)',
  EROFS: 'the file system is mounted read-only',
  EIO: 'the disk or network share reported an I/O error; check the mount',
  ESTALE: 'the network share went away; check the mount',
};

function fsFailure(action: string, file: string, err: unknown): StrongboxError {
  const c = code(err);
  return new StrongboxError(`${action} ${printable(file)} failed: ${printable(errorMessage(err))}`, {
    hint: c ? HINTS[c] : undefined,
    cause: err,
  });
}

/** A folder's entries; none when it is missing (deleted while we walked, or never created). */
async function entriesOf(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return [];
    throw fsFailure('listing', dir, err);
  }
}
