import { lstat, opendir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SizeEstimate } from '../adapter.js';
import { treeRoot } from './archive.js';
import { compileExcludes } from './excludes.js';

const BLOCK = 512;
const RECORD = 20 * BLOCK;
const ENTRY = 3 * BLOCK;

/**
 * The size of the tar stream a backup of the tree will write, from a stat walk (no file is
 * read): per entry a 512-byte header and a 1 KiB pax header (both engines store sub-second
 * mtimes there), each file's bytes rounded up to 512, and the 1 KiB end, padded to GNU tar's
 * 10 KiB record (so the estimate is not passed at the very end).
 * Long names (PAX headers) and files changing meanwhile make it approximate, which is all the
 * ETA needs. Depth first through directory handles, so memory stays flat on a huge tree; a
 * directory that cannot be read is skipped here (the backup itself reports it).
 */
export async function estimateTree(path: string, exclude: string[] = []): Promise<SizeEstimate> {
  const real = treeRoot(resolve(path));
  const excluded = compileExcludes(exclude);
  let entries = 1;
  let bytes = ENTRY + 2 * BLOCK;
  const walk = async (relDir: string): Promise<void> => {
    const dir = await opendir(relDir ? join(real, relDir) : real, { bufferSize: 128 }).catch(() => undefined);
    if (!dir) return;
    for await (const d of dir) {
      const rel = relDir ? `${relDir}/${d.name}` : d.name;
      const isDir = d.isDirectory();
      if (excluded(rel, isDir)) continue;
      entries++;
      bytes += ENTRY;
      if (isDir) await walk(rel);
      else if (d.isFile()) {
        const st = await lstat(join(real, rel)).catch(() => undefined);
        if (st) bytes += Math.ceil(st.size / BLOCK) * BLOCK;
      }
    }
  };
  await walk('');
  return { bytes: Math.ceil(bytes / RECORD) * RECORD, entries };
}
