import { basename, extname, resolve } from 'node:path';
import { safeName } from '../artifact-name.js';

/** Every SQLite 3 database file starts with these 16 bytes (https://sqlite.org/fileformat.html). */
export const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** Why these first bytes are not an SQLite database, or undefined when they are. */
export function headerProblem(head: Buffer): string | undefined {
  if (head.length === 0) return 'the file is empty';
  if (head.length < SQLITE_MAGIC.length || !head.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
    return 'it does not start with the SQLite header ("SQLite format 3")';
  }
  return undefined;
}

/**
 * Files SQLite keeps beside a database, found by name: the write-ahead log and its index
 * (WAL mode), the rollback journal. A stale one next to a replaced database would be applied
 * to it, so a restore settles or removes them first.
 */
export function sidecars(db: string): { wal: string; shm: string; journal: string } {
  return { wal: `${db}-wal`, shm: `${db}-shm`, journal: `${db}-journal` };
}

/** `/srv/app/data.db` → `sqlite-data`. */
export function sqliteArtifactName(path: string): string {
  const base = basename(resolve(path));
  return `sqlite-${safeName(base.slice(0, base.length - extname(base).length) || base, 'db')}`;
}
