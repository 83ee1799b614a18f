import type { Dirent, Stats } from 'node:fs';
import { lstat, opendir, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { StrongboxError, errorMessage } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { printable } from '../../shared/text.js';
import type { LeaveOut, SourceDetails } from '../adapter.js';
import { compileExcludes } from './excludes.js';

/**
 * The walk of a --files tree that both tar engines archive (archive.ts: node-tar, gnu-tar-create.ts:
 * GNU tar): depth first, one directory handle at a time, excludes and left-out directories
 * applied, special files skipped with a warning, names that are not UTF-8 refused. Only the
 * walk decides what is in a backup, so both engines back up the same entries.
 */

export function specialKind(st: Stats): string | undefined {
  if (st.isFIFO()) return 'named pipe';
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice()) return 'block device';
  if (st.isCharacterDevice()) return 'character device';
  return undefined;
}


export function describeReadError(err: unknown, root: string, real: string): StrongboxError {
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


export function direntKind(d: Dirent): 'dir' | 'other' | 'special' | 'unknown' {
  if (d.isDirectory()) return 'dir';
  if (d.isFile() || d.isSymbolicLink()) return 'other';
  if (d.isFIFO() || d.isSocket() || d.isBlockDevice() || d.isCharacterDevice()) return 'special';
  return 'unknown'; // some filesystems do not report types in readdir
}


export type Change = 'grew' | 'shrank' | 'changed';


export const CHANGE_TEXT: Record<Change, string> = {
  grew: 'grew while it was being read: the backup holds its first bytes, up to the size it had when the backup reached it',
  shrank: 'shrank while it was being read: the backup holds what was read, padded with zeros to the size it had',
  changed: 'changed while it was being read: the backup may hold a mix of old and new content',
};


/**
 * A name the file system holds as bytes that are not UTF-8 (node gives it as U+FFFD, so no
 * path to it can be built, and tar entries are UTF-8): refused, naming it with the bytes escaped.
 */
export async function assertUtf8Names(dir: string, relDir: string, root: string): Promise<void> {
  for (const raw of await readdir(dir, { encoding: 'buffer' })) {
    if (Buffer.from(raw.toString('utf8')).equals(raw)) continue;
    const where = relDir ? `"${printable(relDir)}" in ${printable(root)}` : printable(root);
    throw new StrongboxError(`${where} holds a file name that is not valid UTF-8: "${escapeBytes(raw)}"; a rerun will not help`, {
      hint: `rename it (e.g. with convmv) or leave it out with --exclude; Strongbox stores UTF-8 names only`,
    });
  }
}

/** UTF-8 text as is (control characters escaped), every byte that is not part of it as \xNN. */
export function escapeBytes(raw: Buffer): string {
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


/** How many changed files are named one by one; the rest are counted. */
export const MAX_LISTED_CHANGES = 10;

/** `"a/b" in /srv/data`: an entry as messages name it. */
export function whereIn(root: string, rel: string): string {
  return `"${printable(rel)}" in ${printable(root)}`;
}

/**
 * Files that changed while they were read, for both tar engines: the first ones named in a
 * warning each, then a count, which the backup's details record.
 */
export class ChangedFiles {
  count = 0;
  constructor(
    private readonly root: string,
    private readonly reporter: Reporter,
  ) {}

  report(rel: string, how: Change): void {
    if (++this.count <= MAX_LISTED_CHANGES) this.reporter.warning(`${whereIn(this.root, rel)} ${CHANGE_TEXT[how]}`);
  }

  finish(details: SourceDetails): void {
    if (this.count > MAX_LISTED_CHANGES) this.reporter.warning(`${this.count} files in ${printable(this.root)} changed while they were being read; back up a snapshot (or stop writers) for a consistent copy`);
    if (this.count) details.changedWhileRead = this.count;
  }
}

/** A link target that is not UTF-8 cannot be stored faithfully: the refusal every engine gives. */
export function nonUtf8LinkError(where: string, raw: Buffer): StrongboxError {
  return new StrongboxError(`${where} is a symbolic link whose target is not valid UTF-8: "${escapeBytes(raw)}"; a rerun will not help`, {
    hint: 'point the link at a UTF-8 name, or leave it out with --exclude; Strongbox stores UTF-8 names only',
  });
}

export function warnEmpty(root: string, exclude: string[] | undefined, reporter: Reporter): void {
  reporter.warning(`${printable(root)} is empty${exclude?.length ? ' after the excludes' : ''}: nothing in it is backed up. If it should hold data, check that its volume is mounted (an unmounted volume looks like an empty folder)`);
}

export interface WalkOptions {
  exclude?: string[];
  leaveOut: LeaveOut[];
  reporter: Reporter;
  /** True once the archive failed or was abandoned: the walk stops. */
  stopped: () => boolean;
}

/**
 * Walks `real` (the resolved `root`), handing every entry to archive to `add` ('/'-separated,
 * relative; a directory before its children), which waits for room and returns false to stop.
 * Resolves with the number of entries added (the root not counted).
 */
export async function walkTree(root: string, real: string, opts: WalkOptions, add: (rel: string, kind: 'dir' | 'other', d: Dirent) => Promise<boolean>): Promise<number> {
  const { reporter, leaveOut, stopped } = opts;
  const excluded = compileExcludes(opts.exclude ?? []);
  let added = 0;
  const walk = async (relDir: string): Promise<void> => {
    const dir = await opendir(relDir ? join(real, relDir) : real, { bufferSize: 128 });
    for await (const d of dir) {
      if (stopped()) break;
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
      if (!(await add(rel, kind, d))) break;
      added++;
      if (kind === 'dir') await walk(rel);
    }
  };
  await walk('');
  return added;
}
