import { lstat, readlink } from 'node:fs/promises';
import { posix, join } from 'node:path';
import { StrongboxError } from '../core/errors.js';

/**
 * Rules for extracting untrusted tar entries under a root. node-tar on its own strips
 * absolute paths and skips `..` entries with a warning; a restore must instead refuse the
 * whole archive, so that what lands on disk is either exactly the backup or nothing.
 */

/** A tar archive holds an entry that may not be extracted; nothing was put in place. */
export class UnsafeArchiveError extends StrongboxError {}

const EXTRACTABLE = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'GNUDumpDir', 'SymbolicLink', 'Link']);

export interface EntryLike {
  path: string;
  type: string;
  linkpath?: string;
}

/** `./a/b/` → `a/b`; `./` and `.` → `` (the root). */
export function normalizeEntryPath(p: string): string {
  let s = p;
  while (s.startsWith('./')) s = s.slice(2);
  if (s === '.') s = '';
  return s.replace(/\/+$/, '');
}

function isAbsoluteLike(p: string): boolean {
  // POSIX root, Windows drive or UNC: node-tar would strip these, we refuse them.
  return /^[\\/]/.test(p) || /^[a-zA-Z]:/.test(p);
}

function hasDotDot(p: string): boolean {
  return p.split(/[\\/]/).includes('..');
}

/** Why this entry may not be extracted under the root, or undefined when it may. */
export function entryProblem(e: EntryLike): string | undefined {
  if (!EXTRACTABLE.has(e.type)) return `unsupported entry type ${e.type} (only files, directories and links are restored)`;
  if (e.path === '') return 'empty path';
  if (isAbsoluteLike(e.path)) return 'absolute path';
  if (hasDotDot(e.path)) return "path with a '..' component";
  const path = normalizeEntryPath(e.path);
  if (path === '' && e.type !== 'Directory' && e.type !== 'GNUDumpDir') return 'a non-directory in place of the target directory itself';
  if (e.type === 'SymbolicLink') {
    const to = e.linkpath ?? '';
    if (to === '') return 'symbolic link without a target';
    if (isAbsoluteLike(to)) return `symbolic link to the absolute path ${to}, outside the target`;
    const resolved = posix.normalize(posix.join(posix.dirname(path), to));
    if (resolved === '..' || resolved.startsWith('../')) return `symbolic link to ${to}, outside the target`;
  }
  if (e.type === 'Link') {
    const to = e.linkpath ?? '';
    if (to === '') return 'hard link without a target';
    if (isAbsoluteLike(to) || hasDotDot(to)) return `hard link to ${to}, outside the target`;
  }
  return undefined;
}

const MAX_HOPS = 40; // like the kernel's ELOOP limit

/**
 * Follows the symlink at `rel` (relative to `root`) the way the kernel would, through any
 * symlinks it meets, and says whether it stays inside `root`. A lexical check alone is not
 * enough: `a/b/l/../..` climbs out if `l` itself points up. Missing components are taken
 * as plain directories (a dangling link is fine as long as it dangles inside).
 */
export async function symlinkStaysInside(root: string, rel: string): Promise<boolean> {
  const stack = normalizeEntryPath(rel).split('/').filter(Boolean);
  stack.pop(); // resolution starts in the link's own directory
  const first = await readlink(join(root, rel));
  if (isAbsoluteLike(first)) return false;
  const queue = first.split('/');
  let hops = 0;
  while (queue.length) {
    const part = queue.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!stack.length) return false;
      stack.pop();
      continue;
    }
    const here = join(root, ...stack, part);
    const st = await lstat(here).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      if (++hops > MAX_HOPS) return false;
      const to = await readlink(here);
      if (isAbsoluteLike(to)) return false;
      queue.unshift(...to.split('/'));
    } else {
      stack.push(part);
    }
  }
  return true;
}
