import { constants, lstatSync, type BigIntStats, type Dirent } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StrongboxError } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { printable } from '../../shared/text.js';
import type { LeaveOut, SourceDetails } from '../adapter.js';
import { MemberSkipped, type CollectionEntry, type CollectionReader } from '../collection.js';
import { refuseLeftOutRoot, treeRoot } from './archive.js';
import { assertUtf8Names, describeReadError, nonUtf8LinkError } from './tree-walk.js';
import { compileExcludes } from './excludes.js';

/**
 * An incremental tree (`--files PATH --incremental`) as a collection: every file, folder and
 * symlink below the root is a member named by its '/'-separated relative path, listed depth
 * first with each folder's children sorted by UTF-16 code unit ('/' lowest, so the order equals
 * comparePaths). Memory holds one folder's names per level, never the whole listing. The same
 * rules as the tar backup (archive.ts): excludes, local repositories left out, special files
 * skipped with a warning, names and link targets that are not UTF-8 refused, an unreadable file
 * fails the backup. The root folder's own mode, owners and mtime are the reader's `root` (kept in
 * the index header), restored onto the target as the tar restore does with its `./` entry.
 *
 * Hard links, as the tar backup keeps them: a file whose inode has other names records `nlink`,
 * and every name of an inode after the first in this walk records `hardlink` (the first's
 * name). Each name keeps its own blob reference (the content is stored once, by deduplication),
 * so a reader that ignores the fields restores correct content as separate files; a Strongbox
 * restore links it to the first when that was written by the same restore (collection-tar.ts).
 */

/** Read size per open file, as for the tar backup. */
const READ_SIZE = 256 * 1024;
/** The smallest read buffer: a file that grew since it was listed is still read whole, in more reads. */
const MIN_READ = 16 * 1024;
/** Files read at once (the tar backup's JOBS). */
export const FILE_CONCURRENCY = 8;
/** Children of one folder lstat'ed at once (bounded: a folder may hold a million names). */
const STAT_WINDOW = 64;

/** Paths by UTF-16 code unit with '/' lowest: a folder's members come right after it, before its siblings. */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca === 47) return -1;
    if (cb === 47) return 1;
    return ca - cb;
  }
  return a.length - b.length;
}

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function isoMs(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

export interface FileMembersOptions {
  exclude?: string[];
  compare?: 'metadata' | 'checksum';
  reporter: Reporter;
  leaveOut?: LeaveOut[];
}

export function openFileMembers(path: string, opts: FileMembersOptions): CollectionReader {
  const { reporter } = opts;
  const root = resolve(path);
  const real = treeRoot(root);
  const leaveOut = opts.leaveOut ?? [];
  refuseLeftOutRoot(path, leaveOut);
  const excluded = compileExcludes(opts.exclude ?? []);
  const withFingerprints = opts.compare !== 'checksum';
  const details: SourceDetails = { path: root, incremental: true };
  let entries = 1; // the root, as the tar backup counts it
  let bytes = 0;
  /**
   * "dev:ino" → the first name of each inode with more than one link, and how many of its
   * names may still come (dropped when none may). Bounded by the number of hard-linked files.
   */
  const linked = new Map<string, { name: string; left: number }>();
  const rootStat = lstatSync(real, { bigint: true });
  const rootRecord = { type: 'dir', mode: Number(rootStat.mode) & 0o7777, uid: Number(rootStat.uid), gid: Number(rootStat.gid), mtime: isoMs(rootStat.mtimeNs) };

  const where = (rel: string) => `"${printable(rel)}" in ${printable(root)}`;
  const fail = (err: unknown) => (err instanceof StrongboxError ? err : describeReadError(err, root, real));

  async function* walk(relDir: string): AsyncGenerator<CollectionEntry> {
    const dir = relDir ? join(real, relDir) : real;
    let children: Dirent[];
    try {
      children = (await readdir(dir, { withFileTypes: true })).sort(byName);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && relDir) return; // the folder vanished: nothing below it to back up
      throw fail(err);
    }
    // lstat a window of children at once: one at a time, each waits a thread-pool round trip.
    let stats: (BigIntStats | Error)[] = [];
    for (let i = 0; i < children.length; i++) {
      const d = children[i]!;
      const rel = relDir ? `${relDir}/${d.name}` : d.name;
      if (d.name.includes('\uFFFD')) await assertUtf8Names(dir, relDir, root);
      if (i % STAT_WINDOW === 0) {
        const window = children.slice(i, i + STAT_WINDOW);
        stats = await Promise.all(window.map((c) => lstat(join(dir, c.name), { bigint: true }).catch((err: Error) => err)));
      }
      const st = stats[i % STAT_WINDOW]!;
      if (st instanceof Error) {
        if ((st as NodeJS.ErrnoException).code === 'ENOENT') continue; // vanished before we got to it: not in this backup
        throw fail(st);
      }
      const isDir = st.isDirectory();
      if (!isDir && !st.isFile() && !st.isSymbolicLink()) {
        reporter.warning(`skipping ${where(rel)}: not a file, directory or link (only those are backed up)`);
        continue;
      }
      if (excluded(rel, isDir)) {
        reporter.debug(`excluded ${rel}`);
        continue;
      }
      if (isDir && leaveOut.length) {
        const hit = leaveOut.find((l) => BigInt(l.dev) === st.dev && BigInt(l.ino) === st.ino);
        if (hit) {
          reporter.warning(`leaving ${where(rel)} out of the backup of ${printable(root)}: it is ${printable(hit.what)} (archived, every backup would hold all earlier ones)`);
          continue;
        }
      }
      const common = { mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtime: isoMs(st.mtimeNs) };
      entries++;
      if (isDir) {
        yield { name: rel, hasContent: false, size: 0, record: { type: 'dir', ...common } };
        yield* walk(rel);
      } else if (st.isSymbolicLink()) {
        let link: string;
        try {
          const raw = await readlink(join(real, rel), { encoding: 'buffer' });
          link = raw.toString('utf8');
          if (!Buffer.from(link).equals(raw)) {
            throw nonUtf8LinkError(where(rel), raw);
          }
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw fail(err);
        }
        yield { name: rel, hasContent: false, size: 0, record: { type: 'symlink', ...common, link } };
      } else {
        const size = Number(st.size);
        const nlink = Number(st.nlink);
        let hardlink: string | undefined;
        if (nlink > 1) {
          const id = `${st.dev}:${st.ino}`;
          const first = linked.get(id);
          if (!first) linked.set(id, { name: rel, left: nlink - 1 });
          else {
            hardlink = first.name;
            if (--first.left <= 0) linked.delete(id);
          }
        }
        // A hard link's data counts once, as in the tar backup (and as count.ts counts a restored tree).
        if (hardlink === undefined) bytes += size;
        // The first name is in the fingerprint: when it changes (an exclude, a rename) the member is
        // read again (deduplicated), so a reused line never carries a stale `hardlink`.
        const fingerprint = `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}${hardlink !== undefined ? `:${hardlink}` : ''}`;
        yield {
          name: rel,
          hasContent: true,
          size,
          ...(withFingerprints ? { fingerprint } : {}),
          record: { type: 'file', ...common, ...(nlink > 1 ? { nlink } : {}), ...(hardlink !== undefined ? { hardlink } : {}) },
        };
      }
    }
  }

  return {
    details,
    root: rootRecord,
    compare: comparePaths,
    concurrency: FILE_CONCURRENCY,
    async *entries() {
      let any = false;
      for await (const e of walk('')) {
        any = true;
        yield e;
      }
      details.entries = entries;
      details.bytes = bytes;
      if (!any) {
        reporter.warning(`${printable(root)} is empty${opts.exclude?.length ? ' after the excludes' : ''}: nothing in it is backed up. If it should hold data, check that its volume is mounted (an unmounted volume looks like an empty folder)`);
      }
    },
    async open(entry, signal) {
      const abs = join(real, entry.name);
      let fh;
      try {
        // O_NOFOLLOW: a file replaced by a link since the listing is not followed out of the tree.
        fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new MemberSkipped(entry.name, 'vanished before it was read');
        if (code === 'ELOOP') throw new MemberSkipped(entry.name, 'became a symbolic link before it was read');
        throw fail(err);
      }
      const st = await fh.stat();
      if (!st.isFile()) {
        await fh.close();
        throw new MemberSkipped(entry.name, 'is no longer a regular file');
      }
      // Each read allocates a whole highWaterMark: 256 KiB for a 50-byte file, a million times
      // over, fragments the allocator (RSS grew ~120 MB from 200,000 to 1,000,000 tiny files).
      const highWaterMark = Math.min(READ_SIZE, Math.max(MIN_READ, entry.size + 1));
      return { stream: fh.createReadStream({ highWaterMark, signal }) };
    },
  };
}
