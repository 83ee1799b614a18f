import { constants as fsConstants } from 'node:fs';
import { access, lstat, realpath, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { RefusedError, UsageError, errorMessage } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import { sidecars } from './header.js';
import { processesUsing, type InUseCheck } from './in-use.js';
import { STAGING_SUFFIX_ROOM } from './staging.js';

/**
 * Checks on an --sqlite-target path, all before anything is written. A target given as a
 * symbolic link is restored into the file the link names (the link stays), as an application
 * opening the link would see it.
 */

const NAME_MAX = 255;

/** The file a restore replaces: the absolute path, through a symbolic link if it is one. */
export async function targetFile(target: string): Promise<string> {
  const path = resolve(target);
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isSymbolicLink()) return path;
  return realpath(path).catch((err: unknown) => {
    throw new UsageError(`the SQLite target ${printable(path)} is a symbolic link that leads nowhere (${printable(errorMessage(err))})`, 'point --sqlite-target at the database file, or at a path where it may be created');
  });
}

export async function checkSqliteTarget(target: string, repository?: { localPath?: string; display: string }, inUse: InUseCheck = processesUsing): Promise<void> {
  const given = resolve(target);
  const path = await targetFile(target);
  const shown = printable(given);
  if (repository?.localPath) {
    const repo = await realpath(repository.localPath).catch(() => resolve(repository.localPath!));
    const real = await realpath(dirname(path)).catch(() => dirname(path));
    if (real === repo || real.startsWith(`${repo}/`)) {
      throw new RefusedError(`the SQLite target ${shown} is inside the repository ${printable(repository.display)}; nothing was changed`, 'restore the database to a path outside the repository');
    }
  }
  const st = await stat(path).catch(() => undefined);
  if (st?.isDirectory()) {
    throw new RefusedError(`the SQLite target ${shown} is a directory; a restore writes one database file`, `give --sqlite-target the file's path, e.g. ${printable(`${given}/${'app.db'}`)}`);
  }
  if (st && !st.isFile()) throw new RefusedError(`the SQLite target ${shown} is not a regular file (a device, socket or pipe); nothing was changed`, 'give --sqlite-target the path of a database file');
  const parent = dirname(path);
  const pst = await stat(parent).catch((err: NodeJS.ErrnoException) => err);
  if (pst instanceof Error) {
    if (pst.code === 'ENOENT') throw new UsageError(`cannot restore ${shown}: its directory ${printable(parent)} does not exist`, `create it first (mkdir -p ${printable(parent)}), or choose another target`);
    throw new UsageError(`cannot restore ${shown}: ${printable(parent)}: ${printable(pst.message)}`);
  }
  if (!pst.isDirectory()) throw new UsageError(`cannot restore ${shown}: ${printable(parent)} is not a directory`, 'choose a target inside a directory');
  if (Buffer.byteLength(basename(path)) + STAGING_SUFFIX_ROOM > NAME_MAX) {
    throw new UsageError(`the SQLite target name is too long: ${shown} (a restore writes a staging file named after it beside it)`, `use a file name of at most ${NAME_MAX - STAGING_SUFFIX_ROOM} bytes; you can rename it afterwards`);
  }
  try {
    await access(parent, fsConstants.W_OK | fsConstants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'it is on a read-only file system' : 'this user may not write in it';
    throw new UsageError(`cannot restore ${shown}: its directory ${printable(parent)} is not writable (${why})`, `a restore writes the new file beside the target and renames it into place: give this user write access to ${printable(parent)}, or choose another target`);
  }
  await refuseInUse(path, given, inUse);
}

/** Refuses (exit 7) while another process has the database, its -wal, -shm or -journal open. */
export async function refuseInUse(path: string, given = path, inUse: InUseCheck = processesUsing): Promise<void> {
  const s = sidecars(path);
  const users = await inUse([path, s.wal, s.shm, s.journal]);
  if (!users.length) return;
  const who = users.map((u) => `${printable(u.command)} (pid ${u.pid})`).join(', ');
  throw new RefusedError(`the SQLite database ${printable(given)} is open in ${who}; nothing was changed`, 'stop the processes using it, then rerun the restore: a database replaced under a running process would be used by it and by new connections in two different versions');
}

/** True when there is no file, or an empty one with no write-ahead log holding data. */
export async function isSqliteTargetEmpty(target: string): Promise<boolean> {
  const path = await targetFile(target);
  const st = await stat(path).catch(() => undefined);
  if (!st) return true;
  if (st.size > 0) return false;
  const wal = await stat(sidecars(path).wal).catch(() => undefined);
  return !wal || wal.size === 0;
}
