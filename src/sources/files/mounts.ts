import type { Stats } from 'node:fs';
import { lstat, readFile, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { RefusedError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';

/**
 * What replacing a directory (`restore --force`) would carry away with it. Decided by device
 * and inode, not by comparing path strings: a bind mount or a second path to the same
 * directory gets past any string comparison, and the repository or a mounted volume would
 * then be moved aside and deleted with the old contents.
 */
export interface TargetContents {
  /** The repository's directory, found inside the target (relative path, '' = the target itself or an ancestor). */
  repository?: string;
  /** Mount points below the target (absolute paths): another file system, or a bind mount. */
  mountPoints: string[];
}

const sameFile = (a: Stats, b: Stats) => a.dev === b.dev && a.ino === b.ino;

/** Mount points listed by the kernel for this process (paths with \040-style escapes decoded). */
export async function listMountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))));
}

export async function inspectTarget(target: string, repository?: string): Promise<TargetContents> {
  const found: TargetContents = { mountPoints: [] };
  const top = await lstat(target).catch(() => undefined);
  // Missing, a file or a link: replacing it moves that one entry, never what a link points to.
  if (!top?.isDirectory()) return found;

  const repo = repository ? await stat(repository).catch(() => undefined) : undefined;
  if (repository && repo) {
    // The target is the repository or one of its ancestors (under whatever path).
    for (let p = await realpath(repository).catch(() => repository); ; p = dirname(p)) {
      const st = await lstat(p).catch(() => undefined);
      if (st && sameFile(st, top)) {
        found.repository = '';
        break;
      }
      if (dirname(p) === p) break;
    }
  }

  const real = await realpath(target).catch(() => target);
  const mounts = new Set((await listMountPoints()).filter((m) => m.startsWith(`${real}/`)).map((m) => join(target, relative(real, m))));

  // Directories only, never following a link; a different st_dev is a mount the list missed.
  const stack = [''];
  while (stack.length) {
    const rel = stack.pop()!;
    const entries = await readdir(rel ? join(target, rel) : target, { withFileTypes: true }).catch(() => []);
    for (const d of entries) {
      if (!d.isDirectory()) continue;
      const childRel = rel ? `${rel}/${d.name}` : d.name;
      const st = await lstat(join(target, childRel)).catch(() => undefined);
      if (!st?.isDirectory()) continue;
      if (repo && found.repository === undefined && sameFile(st, repo)) found.repository = childRel;
      if (st.dev !== top.dev) mounts.add(join(target, childRel));
      else if (!mounts.has(join(target, childRel))) stack.push(childRel);
    }
  }
  found.mountPoints = [...mounts].sort();
  return found;
}

/**
 * True when the target directory is itself a mount point (a volume, a tmpfs, a bind mount):
 * a restore renames a staging folder onto it, which the kernel refuses (EBUSY) only after
 * the whole tree was extracted on the parent's file system. A link in its place is not one:
 * a restore replaces the link.
 */
export async function isMountPoint(target: string): Promise<boolean> {
  const top = await lstat(target).catch(() => undefined);
  if (!top?.isDirectory()) return false;
  const real = await realpath(target).catch(() => target);
  if (dirname(real) === real) return true;
  // The kernel's list also holds a bind mount of a folder of the same file system (same st_dev).
  const mounts = await listMountPoints();
  if (mounts.length) return mounts.includes(real);
  // No list (no /proc): a change of device. Not used first, as a btrfs subvolume changes it too.
  const parent = await stat(dirname(real)).catch(() => undefined);
  return !!parent && parent.dev !== top.dev;
}

/** Refused (exit 7) before any download, extraction or safety backup. */
export async function refuseMountPoint(target: string): Promise<void> {
  if (!(await isMountPoint(target))) return;
  throw new RefusedError(
    `the files target ${printable(target)} is itself a mount point: a restore replaces the target directory, and a mounted directory cannot be replaced; nothing was changed`,
    `restore into a new directory inside it (e.g. --files-target ${printable(join(target, 'restored'))}), then move the contents where you need them`,
  );
}
