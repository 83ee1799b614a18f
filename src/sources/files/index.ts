import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { RefusedError, UsageError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import type { SourceAdapter, SourceDetails, TargetContext } from '../adapter.js';
import { safeName } from '../artifact-name.js';
import { dumpFiles, refuseLeftOutRoot, treeRoot } from './archive.js';
import { restoreFiles } from './extract.js';
import { restoreInto } from './restore-into.js';
import { membersTar } from './collection-tar.js';
import { estimateTree } from './estimate.js';
import { inspectTarget, refuseMountPoint } from './mounts.js';
import { checkRestoreTarget } from './target.js';
import { compareTree } from './count.js';
import { tarEngineChoice } from './gnu-tar.js';
import { openFileMembers } from './members.js';

export function filesArtifactName(path: string): string {
  return `files-${safeName(basename(resolve(path)), 'root')}`;
}

/** A file tree as a plain tar stream; restored into staging beside the target, then swapped in. */
export const filesAdapter: SourceAdapter = {
  kind: 'files',
  sourceFlag: '--files',
  targetFlag: '--files-target',
  targetNoun: 'directory',
  replaceHint: 'rerun with --force to replace it (the old contents are moved away only after the restore succeeds)',
  extension: '.tar',
  artifactName: (spec) => filesArtifactName(spec.location),
  checkSource: (spec, ctx) => {
    tarEngineChoice(); // a bad STRONGBOX_TAR_ENGINE is exit 2 before anything is created
    treeRoot(resolve(spec.location));
    // A tree that is the repository (a --to that exists already): refused before init creates it.
    refuseLeftOutRoot(spec.location, ctx.leaveOut);
  },
  estimateSize: (spec) => estimateTree(spec.location, spec.options?.exclude),
  // --incremental: the tree as a collection (members.ts), unchanged files referenced, not re-read.
  collection: {
    wanted: (spec) => !!spec.options?.incremental,
    open: async (spec, ctx) => openFileMembers(spec.location, { exclude: spec.options?.exclude, compare: spec.options?.compare, reporter: ctx.reporter, leaveOut: ctx.leaveOut }),
  },
  dump: async (spec, ctx) => dumpFiles(spec.location, { exclude: spec.options?.exclude, reporter: ctx.reporter, leaveOut: ctx.leaveOut }),
  sourceIdentity: (s: SourceDetails) => (typeof s.path === 'string' ? s.path : ''),
  normalizeTarget: (target) => resolve(target),
  displayTarget: (target) => printable(resolve(target)),
  confirmName: (target) => basename(resolve(target)),
  checkTarget: async (target, ctx) => {
    tarEngineChoice(); // checked before anything is downloaded or written
    await assertRepositoryOutside(resolve(target), ctx);
    await checkRestoreTarget(target);
  },
  isTargetEmpty: (target) => isEmptyOrMissing(target),
  safetySource: async (target) => {
    const st = await stat(target).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    });
    if (st && !st.isDirectory()) {
      throw new RefusedError(
        `the files target ${printable(resolve(target))} is not a directory; nothing was changed`,
        'rollback replaces a directory: give --files-target the directory the snapshot was taken of, or move the file away first',
      );
    }
    return st && (await readdir(target)).length > 0 ? { kind: 'files', location: target } : undefined;
  },
  verifyBeforeRestore: false,
  restore: async (input, target, _artifact, ctx) => void (await restoreFiles(input, target, { force: ctx.force, reporter: ctx.reporter })),
  restoreInto: (input, target, _artifact, ctx) =>
    restoreInto(input, target, { force: ctx.force, dryRun: ctx.dryRun, reporter: ctx.reporter, select: ctx.select, beforeWrite: ctx.beforeWrite, reopen: ctx.reopen }),
  fromMembers: (members, asFile) => membersTar(members, asFile),
  compareRestored: (target, artifact) => compareTree(resolve(target), artifact),
};

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    // A file (or a link) where the directory should go counts as occupied, like a non-empty one.
    if (!(await lstat(dir)).isDirectory()) return false;
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/**
 * Replacing a directory moves its old contents aside and deletes them. Refused, before
 * anything is written, when that would take the repository with it (the backups, and in a
 * rollback the safety backup just written there) or a mounted volume below the target
 * (its data would be deleted with the old contents). Decided by device and inode.
 */
async function assertRepositoryOutside(target: string, ctx: TargetContext): Promise<void> {
  const found = await inspectTarget(target, ctx.repository?.localPath);
  if (found.repository !== undefined) {
    const where = found.repository === '' ? '' : ` (as ${printable(join(target, found.repository))}, the same directory by device and inode)`;
    throw new UsageError(
      `the files target ${printable(target)} contains the repository ${ctx.repository?.display ?? ''}${where}`,
      'replacing the target would delete the backups in it; restore into another directory, or keep the repository elsewhere',
    );
  }
  await refuseMountPoint(target);
  if (found.mountPoints.length) {
    const shown = found.mountPoints.slice(0, 5).map(printable).join(', ');
    const more = found.mountPoints.length > 5 ? ` and ${found.mountPoints.length - 5} more` : '';
    throw new RefusedError(
      `the files target ${printable(target)} has a file system mounted below it (${shown}${more}): replacing the target would move the mounted volume aside with the old contents and delete its data; nothing was changed`,
      'restore into a new directory instead, or unmount it and rerun; do not delete the target to make room, that would delete the data on the mounted volume',
    );
  }
}
