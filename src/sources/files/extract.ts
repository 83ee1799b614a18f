import { constants as fsConstants, type Stats } from 'node:fs';
import { chmod, lchown, lstat, lutimes, mkdir, mkdtemp, open, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Unpack, type ReadEntry } from 'tar';
import { RefusedError, StrongboxError, errorMessage } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { printable } from '../../shared/text.js';
import { asideName, checkRestoreTarget, clearLeftovers, stagingPrefix } from './target.js';
import { inspectTarget, refuseMountPoint } from './mounts.js';
import { ArchiveLayout, FILE_TYPES, TAMPERED_HINT, UnsafeArchiveError, entryProblem, ignoredProblem, normalizeEntryPath } from './tar-safety.js';
import { fillLeftOutLinks, refuseLeftOut, type LeftOutLink } from './link-fill.js';
import { feedTar, makeParents, sawEndOfArchive } from './staging-write.js';
import { PathReservations } from './path-reservations.js';
import { TarRefusal, TruncatedArchiveError, gnuTarExtract, useGnuTar } from './gnu-tar.js';

/**
 * Restores extract into a fresh staging directory beside the target and rename it into
 * place, so the target is either untouched or completely replaced, and nothing already in
 * the target (a symlink pointing elsewhere, say) can redirect a write.
 */

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
    } else if (FILE_TYPES.has(e.type) && mode !== undefined) {
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
        hint: TAMPERED_HINT,
      });
    }
    // Owners, like node-tar for files: only root can give them away.
    if (asRoot && l.uid !== undefined && l.gid !== undefined) await lchown(at, l.uid, l.gid);
    if (l.mtime) await lutimes(at, l.mtime, l.mtime);
  }
}

interface ExtractOptions {
  /** Which entries (by '/'-separated path) to write; default all. */
  select?: (rel: string) => boolean;
  /** The same plaintext again from its start, for a second pass (link-fill.ts); without it such links are refused. */
  reopen?: () => Promise<Readable>;
}

function unsafeEntry(target: string, path: string, problem: string): UnsafeArchiveError {
  return new UnsafeArchiveError(`refusing to restore into ${printable(target)}: the archive entry "${printable(path)}" is unsafe (${problem}); nothing was put in place`, {
    hint: TAMPERED_HINT,
  });
}

function truncated(target: string): StrongboxError {
  return new StrongboxError(`the archive for ${printable(target)} ended without its end-of-archive marker: it is truncated; ${printable(target)} was not changed`);
}

/**
 * A whole tree through GNU tar (gnu-tar.ts): the same rules as the node-tar engine check every
 * entry before tar gets it, and tar itself restores modes, owners, times, links and folders.
 */
async function extractWithGnuTar(input: Readable, staging: string, target: string): Promise<number> {
  const layout = new ArchiveLayout();
  // tar --keep-old-files never touches a directory that exists already (staging itself, or one
  // stored twice or implied by a deeper entry first): those take the archive's last word here,
  // as in the node engine. Memory follows such directories, not files.
  const fixups = new MetadataFixups();
  let entries = 0;
  let rootOwner: { uid: number; gid: number } | undefined;
  try {
    await gnuTarExtract(input, staging, (p, entry) => {
      const like = { path: p, type: entry.type, linkpath: entry.linkpath };
      const problem = entryProblem(like) ?? layout.problem(like);
      if (problem) return unsafeEntry(target, p, problem);
      const rel = normalizeEntryPath(p);
      const isDir = entry.type === 'Directory' || entry.type === 'GNUDumpDir';
      if (isDir && (rel === '' || layout.hasDirectory(p))) fixups.note(rel, entry);
      if (rel === '' && typeof entry.uid === 'number' && typeof entry.gid === 'number') rootOwner = { uid: entry.uid, gid: entry.gid };
      layout.record(like);
      entries++;
      return undefined;
    });
  } catch (err) {
    if (err instanceof TruncatedArchiveError) throw truncated(target);
    if (err instanceof TarRefusal) {
      throw new UnsafeArchiveError(`refusing to restore into ${printable(target)}: ${err.message}; nothing was put in place`, { hint: err.hint, cause: err });
    }
    throw err;
  }
  // tar --keep-old-files keeps a file where the archive later stores a folder of the same name
  // (a name twice), silently: every folder the archive laid out must be one.
  for (const dir of layout.directories()) {
    const st = await lstat(join(staging, dir)).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw new UnsafeArchiveError(`refusing to restore into ${printable(target)}: the archive holds "${printable(dir)}" twice (a folder after a file of that name); nothing was put in place`, {
        hint: TAMPERED_HINT,
      });
    }
  }
  // Owners, like node-tar's: only root can give them away (tar did so for every other entry).
  if (rootOwner && process.getuid?.() === 0) await lchown(staging, rootOwner.uid, rootOwner.gid);
  // Also gives an archive without a root entry a default mode instead of mkdtemp's 0700.
  await fixups.apply(staging);
  return entries;
}

async function extract(input: Readable, staging: string, target: string, opts: ExtractOptions = {}): Promise<number> {
  const { select } = opts;
  // A --path selection, and its second pass for hard links, stay with node-tar.
  if (!select && useGnuTar()) return extractWithGnuTar(input, staging, target);
  const fixups = new MetadataFixups();
  const layout = new ArchiveLayout();
  const links: PendingLink[] = [];
  /** Selected hard links whose first name is not selected: one record each, filled after this pass. */
  const leftOut: LeftOutLink[] = [];
  let refused: UnsafeArchiveError | undefined;
  let entries = 0;
  const asked = new WeakSet<object>();

  const unpack = new Unpack({
    cwd: staging,
    // Every node-tar warning (bad checksum, unsupported entry, a path it would rewrite) is fatal.
    strict: true,
    filter: (p: string, e: Stats | ReadEntry) => {
      if (refused) return false;
      const entry = e as ReadEntry;
      asked.add(entry);
      const like = { path: p, type: entry.type, linkpath: entry.linkpath };
      const problem = entryProblem(like) ?? layout.problem(like);
      if (problem) {
        refused = unsafeEntry(target, p, problem);
        return false;
      }
      layout.record(like);
      const rel = normalizeEntryPath(p);
      // Every entry is checked; only the selected ones (restore --path) are written.
      if (select && rel !== '' && !select(rel)) return false;
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
      // A hard link to a name the selection leaves out: node-tar would link to nothing (ENOENT).
      // Asking `select` again is harmless: the target came earlier and was asked about then.
      if (select && entry.type === 'Link') {
        const to = normalizeEntryPath(entry.linkpath!);
        if (!select(to)) {
          leftOut.push({ rel, to });
          return false;
        }
      }
      fixups.note(rel, entry);
      return true;
    },
  });
  // Entries node-tar skips without asking the filter (a type it does not know, an extended
  // header over its size limit) are refused, not silently left out.
  unpack.on('ignoredEntry', (e: ReadEntry) => {
    if (!asked.has(e)) refused ??= unsafeEntry(target, e.path, ignoredProblem(e));
  });
  // node-tar's own keeps every finished entry (~3.6 KB a file): ours forgets them (path-reservations.ts).
  if ('reservations' in unpack) (unpack as { reservations: unknown }).reservations = new PathReservations();
  await feedTar(input, unpack, () => refused !== undefined);
  if (refused) throw refused;
  // Undefined (node-tar's internals moved) fails closed too.
  if (sawEndOfArchive(unpack) !== true) {
    throw truncated(target);
  }

  // Before any symbolic link exists in staging, so these writes cannot go through one.
  if (leftOut.length) {
    if (!opts.reopen) throw refuseLeftOut(leftOut);
    await fillLeftOutLinks(staging, target, leftOut, opts.reopen);
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
export async function restoreFiles(
  input: Readable,
  targetDir: string,
  opts: { force: boolean; reporter: Reporter; select?: (rel: string) => boolean; reopen?: () => Promise<Readable> },
): Promise<{ entries: number }> {
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
    const entries = await extract(input, staging, target, { select: opts.select, reopen: opts.reopen }).catch((err: unknown) => {
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
