import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError, errorMessage } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import { SQLITE_MAGIC, headerProblem } from './header.js';

/**
 * Refuses, before anything is written, a --sqlite path that is no SQLite database: missing,
 * a directory or device, unreadable, empty, or a file without the SQLite header. Returns the
 * absolute path (links followed by the open, as SQLite itself would).
 */
export async function checkSqliteSource(location: string): Promise<string> {
  const path = resolve(location);
  const shown = printable(path);
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new UsageError(`${shown} is a directory, not an SQLite database file`, 'give --sqlite the path of the database file itself (e.g. data/app.db)');
    if (!st.isFile()) throw new UsageError(`${shown} is not a regular file, so it is not an SQLite database`, 'give --sqlite the path of the database file');
    size = st.size;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`the SQLite database to back up does not exist: ${shown}`, 'check the --sqlite path');
    throw new UsageError(`cannot open the SQLite database ${shown}: ${printable(errorMessage(err))}`, 'check the --sqlite path and that this user may read it');
  }
  if (size === 0) throw new UsageError(`${shown} is empty (0 bytes): it holds no SQLite database yet`, 'check the --sqlite path; an application creates the file\'s contents on its first write');
  const head = Buffer.alloc(SQLITE_MAGIC.length);
  let got = 0;
  try {
    const fh = await open(path, 'r');
    try {
      got = (await fh.read(head, 0, head.length, 0)).bytesRead;
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new UsageError(`cannot read the SQLite database ${shown}: ${printable(errorMessage(err))}`, 'give this user read access to the database file (and write access to its directory, for WAL mode)');
  }
  const problem = headerProblem(head.subarray(0, got));
  if (problem) throw new UsageError(`${shown} is not an SQLite database: ${problem}`, 'check the --sqlite path: it must name an SQLite 3 database file');
  return path;
}
