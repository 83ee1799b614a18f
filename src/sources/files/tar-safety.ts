import { posix } from 'node:path';
import { ExitCode, StrongboxError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';

/**
 * Rules for extracting untrusted tar entries under a root. node-tar on its own strips
 * absolute paths and skips `..` entries with a warning; a restore must instead refuse the
 * whole archive, so that what lands on disk is either exactly the backup or nothing.
 *
 * Symbolic links are restored exactly as stored, wherever they point (`certs ->
 * /etc/ssl/certs`): a link is only a name. What may not happen is a write *through* one,
 * so no entry may sit at or below the path of a link stored before it (`ArchiveLayout`).
 */

/** What to tell a user whose archive breaks the rules below. */
export const TAMPERED_HINT = 'this archive was not written by a Strongbox backup of a plain tree, or was tampered with';

/** A tar archive holds an entry that may not be extracted; nothing was put in place. Tampered data: exit 3. */
export class UnsafeArchiveError extends StrongboxError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.verifyFailed });
  }
}

/** node-tar's names for a regular file's types. */
export const FILE_TYPES: ReadonlySet<string> = new Set(['File', 'OldFile', 'ContiguousFile']);
/** Every entry type a restore writes (and so a backup may store). */
export const EXTRACTABLE: ReadonlySet<string> = new Set([...FILE_TYPES, 'Directory', 'GNUDumpDir', 'SymbolicLink', 'Link']);

export interface EntryLike {
  path: string;
  type: string;
  linkpath?: string;
}

/** `./a/b` → `a/b` (the leading `./` only). */
function stripDotSlash(p: string): string {
  let s = p;
  while (s.startsWith('./')) s = s.slice(2);
  return s;
}

/** `./a/b/` → `a/b`; `./` and `.` → `` (the root). */
export function normalizeEntryPath(p: string): string {
  let s = stripDotSlash(p);
  if (s === '.') s = '';
  return s.replace(/\/+$/, '');
}

/** The path an entry lands on, as the file system sees it: `a//./b/` → `a/b`. */
export function landingPath(p: string): string {
  const s = normalizeEntryPath(p);
  return s === '' ? '' : normalizeEntryPath(posix.normalize(s));
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
  const isDir = e.type === 'Directory' || e.type === 'GNUDumpDir';
  if (path === '' && !isDir) return 'a non-directory in place of the target directory itself';
  // Anything but a folder must be named plainly: GNU tar makes `a/` (a file) a folder and reads
  // its bytes as more headers, and `a/.` or `a//b` name what the rules did not check.
  if (!isDir && (/\/$/.test(e.path) || landingPath(e.path) !== stripDotSlash(e.path))) return 'a non-directory whose name is not a plain path (a trailing "/", "//" or "/./")';
  // A link target on a file or folder means nothing to node-tar but something to other readers.
  if (e.linkpath && e.type !== 'SymbolicLink' && e.type !== 'Link') return 'a link target on an entry that is not a link';
  // A symbolic link may point anywhere; only an empty one cannot be recreated.
  if (e.type === 'SymbolicLink' && !e.linkpath) return 'symbolic link without a target';
  if (e.type === 'Link') {
    const to = e.linkpath ?? '';
    if (to === '') return 'hard link without a target';
    if (isAbsoluteLike(to) || hasDotDot(to)) return `hard link to ${to}, outside the target`;
    if (landingPath(to) === landingPath(e.path)) return 'a hard link to itself';
  }
  return undefined;
}

/** Why an entry node-tar skipped on its own (never asking our filter) makes the archive unsafe. */
export function ignoredProblem(e: { type: string; meta?: boolean }): string {
  return e.meta ? `an extended header of type ${e.type} too large to read (over 1 MiB)` : `unsupported entry type ${e.type} (only files, directories and links are restored)`;
}

/**
 * What the archive has laid out so far: the paths of its symbolic links, and of every
 * directory (stored or implied by a deeper entry). With it, `problem` refuses an entry that
 * would be written through a link, replace a link, or turn a directory into a link, and a
 * hard link that reaches through a link. Memory follows links and directories, not files.
 */
export class ArchiveLayout {
  private readonly links = new Set<string>();
  private readonly dirs = new Set<string>(['']);

  /** Why this entry (already passed by `entryProblem`) may not follow the ones before it. */
  problem(e: EntryLike): string | undefined {
    const path = landingPath(e.path);
    const through = this.linkAtOrAbove(path);
    if (through !== undefined) {
      return through === path
        ? `it would replace the symbolic link "${printable(path)}" stored before it`
        : `it would be written through the symbolic link "${printable(through)}"`;
    }
    if (e.type === 'SymbolicLink' && this.dirs.has(path)) return `a symbolic link in place of the directory "${printable(path)}"`;
    if (e.type === 'Link') {
      const via = this.linkAtOrAbove(landingPath(e.linkpath ?? ''));
      if (via !== undefined) return `hard link to ${printable(e.linkpath ?? '')}, which is or goes through the symbolic link "${printable(via)}"`;
    }
    return undefined;
  }

  /** Every directory stored or implied so far, as landing paths ('' the root). */
  directories(): Iterable<string> {
    return this.dirs.values();
  }

  /** A directory at this path is stored or implied already (by an entry below it). */
  hasDirectory(path: string): boolean {
    return this.dirs.has(landingPath(path));
  }

  record(e: EntryLike): void {
    const path = landingPath(e.path);
    if (e.type === 'SymbolicLink') this.links.add(path);
    else if (e.type === 'Directory' || e.type === 'GNUDumpDir') this.dirs.add(path);
    for (let dir = parentOf(path); dir !== undefined && !this.dirs.has(dir); dir = parentOf(dir)) this.dirs.add(dir);
  }

  private linkAtOrAbove(path: string): string | undefined {
    if (this.links.size === 0) return undefined;
    for (let p: string | undefined = path; p !== undefined && p !== ''; p = parentOf(p)) {
      if (this.links.has(p)) return p;
    }
    return undefined;
  }
}

function parentOf(path: string): string | undefined {
  if (path === '') return undefined;
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}
