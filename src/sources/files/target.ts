import { constants as fsConstants } from 'node:fs';
import { access, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError, errorMessage } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { ownerState, ownerTag } from '../../shared/owned-names.js';
import { systemProbe, type OwnerProbe } from '../../shared/process-owner.js';
import { printable } from '../../shared/text.js';

/**
 * The folders a files restore puts beside its target, and the checks that the target can
 * take them. A staging folder is named after the restore that owns it (pid, process start
 * time, and a hash of host name, boot id and pid namespace), so the next restore can tell one
 * left by `kill -9` from one still in use, also on another machine sharing the host name.
 */

const STAGING = '.strongbox-staging-';
const OLD = '.strongbox-old-';
/** The longest suffix put after the target's name: staging-<pid>-<start time>-<machine hash>-XXXXXX. */
const SUFFIX_ROOM = STAGING.length + 7 + 1 + 20 + 1 + 8 + 1 + 6;
const NAME_MAX = 255;

/** The mkdtemp prefix of this process's staging folder for `target`. */
export function stagingPrefix(target: string, probe: OwnerProbe = systemProbe): string {
  return `${target}${STAGING}${ownerTag(probe)}`;
}

/** The name of the folder a --force restore moves the old contents to. */
export function asideName(target: string, random: string): string {
  return `${target}${OLD}${random}`;
}

/**
 * Before a restore of `target`: removes staging folders whose restore was killed (its process
 * is gone, on this host), and points out any `.strongbox-old-*` folder, which may hold the
 * target's previous contents and is never removed automatically.
 */
export async function clearLeftovers(target: string, reporter: Reporter, probe: OwnerProbe = systemProbe): Promise<void> {
  const name = basename(target);
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  for (const n of names) {
    if (!n.startsWith(name)) continue;
    const rest = n.slice(name.length);
    const at = join(dirname(target), n);
    if (rest.startsWith(STAGING)) {
      const owner = ownerState(rest.slice(STAGING.length), probe);
      // Only a folder of this machine, boot and pid namespace can be checked from here.
      if (owner.state === 'unknown') {
        reporter.warning(
          `${printable(at)} is the staging folder of a restore of ${printable(target)} from another host, an earlier boot or an older version; it is left alone (it holds only a partial restore: remove it once no restore of ${printable(target)} is running)`,
        );
        continue;
      }
      if (owner.state === 'alive') continue; // a restore still running
      try {
        await rm(at, { recursive: true, force: true, maxRetries: 3 });
        reporter.info(`removed ${printable(at)}, left by an interrupted restore (process ${owner.pid} is gone)`);
      } catch (err) {
        reporter.warning(`could not remove ${printable(at)}, left by an interrupted restore: ${printable(errorMessage(err))}`);
      }
    } else if (rest.startsWith(OLD)) {
      reporter.warning(
        `${printable(at)} is there from an earlier restore --force of ${printable(target)} that did not finish: it may hold the previous contents of ${printable(target)}. Strongbox never removes it; look through it and move back what you need`,
      );
    }
  }
}

function tooLong(target: string, detail: string): UsageError {
  return new UsageError(`the files target name is too long: ${printable(target)} (${detail})`, 'choose a shorter path or directory name; you can rename the directory after the restore');
}

/**
 * Refuses, before anything is written, a target a restore cannot create: a name too long for
 * the staging folder beside it, a parent that is a file or not writable. Exit 2.
 */
export async function checkRestoreTarget(targetDir: string): Promise<void> {
  const target = resolve(targetDir);
  if (dirname(target) === target) throw new UsageError('cannot restore over the filesystem root', 'choose a target directory');
  const bytes = Buffer.byteLength(basename(target));
  if (bytes + SUFFIX_ROOM > NAME_MAX) {
    throw tooLong(target, `its last part is ${bytes} bytes; at most ${NAME_MAX - SUFFIX_ROOM}, as the restore puts a staging folder named after it beside it`);
  }
  // The nearest existing ancestor is where the missing directories (and the staging folder) are made.
  let parent = dirname(target);
  for (;;) {
    try {
      if (!(await stat(parent)).isDirectory()) throw new UsageError(`cannot restore into ${printable(target)}: ${printable(parent)} is not a directory`, 'choose a target inside a directory');
      break;
    } catch (err) {
      if (err instanceof UsageError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENAMETOOLONG') throw tooLong(target, 'the path is longer than the system allows');
      if (code === 'ENOTDIR') throw new UsageError(`cannot restore into ${printable(target)}: a part of ${printable(parent)} is a file, not a directory`, 'choose a target inside a directory');
      if (code !== 'ENOENT' || dirname(parent) === parent) throw err;
      parent = dirname(parent);
    }
  }
  try {
    await access(parent, fsConstants.W_OK | fsConstants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
    const why = code === 'EROFS' ? 'it is on a read-only file system' : 'this user may not write in it';
    throw new UsageError(
      `cannot restore into ${printable(target)}: its parent directory ${printable(parent)} is not writable (${why})`,
      `a restore writes a staging folder beside the target and renames it into place: give this user write access to ${printable(parent)}, or choose another target`,
    );
  }
  await stat(target).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENAMETOOLONG') throw tooLong(target, 'the path is longer than the system allows');
  });
}
