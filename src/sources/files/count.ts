import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RestoreArtifact } from '../adapter.js';

/**
 * A restored tree against what the backup recorded: the archive's entry count (the root
 * included, as the backup's walk adds it) and the bytes of its regular files. A hard link's
 * data is counted once, as tar stores it once. Walks with one directory handle per level, so
 * memory stays flat however many files the tree holds.
 */
export async function countTree(root: string): Promise<{ entries: number; bytes: number }> {
  let entries = 0;
  let bytes = 0;
  const linked = new Set<string>();
  const visit = async (path: string): Promise<void> => {
    const st = await lstat(path);
    entries++;
    if (st.isFile()) {
      if (st.nlink > 1) {
        const id = `${st.dev}:${st.ino}`;
        if (linked.has(id)) return;
        linked.add(id);
      }
      bytes += st.size;
    } else if (st.isDirectory()) {
      for await (const d of await opendir(path)) await visit(join(path, d.name));
    }
  };
  await visit(root);
  return { entries, bytes };
}

export async function compareTree(root: string, artifact: RestoreArtifact): Promise<{ compared: string; differences: string[] }> {
  const found = await countTree(root);
  const { entries, bytes } = artifact.source;
  const differences: string[] = [];
  const parts: string[] = [];
  if (typeof entries === 'number') {
    parts.push(`${found.entries} entries`);
    if (found.entries !== entries) differences.push(`${found.entries} entries restored, the backup recorded ${entries}`);
  }
  if (typeof bytes === 'number') {
    parts.push(`${found.bytes} bytes`);
    if (found.bytes !== bytes) differences.push(`${found.bytes} bytes of file data restored, the backup recorded ${bytes}`);
  }
  return { compared: parts.length ? parts.join(', ') : 'nothing (the backup recorded no counts)', differences };
}
