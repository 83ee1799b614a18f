import { constants as fsConstants } from 'node:fs';
import { link, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { StrongboxError, UsageError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import { feedTar, makeParents, sawEndOfArchive } from './staging-write.js';
import { FILE_TYPES, TAMPERED_HINT, UnsafeArchiveError, normalizeEntryPath } from './tar-safety.js';

/**
 * `restore --path` of a hard link whose first name it does not select. A tar backup stores an
 * inode's content under its first name; later names are Link entries pointing to it. When the
 * selection holds a Link but not its target, the first pass (extract.ts) cannot fill it: the
 * content went by unwritten. This second pass reads the same plaintext again (verified again
 * as it streams) and writes that content into the selected names, before the staging folder is
 * used, so such a name comes back as a regular file with the inode's content, mode and time;
 * several selected names of one inode come back linked to each other. Memory: one record per
 * selected Link entry whose target was left out, nothing per other entry.
 */

export interface LeftOutLink {
  /** The selected Link entry's name. */
  rel: string;
  /** The name it points to (the inode's first name), not selected. */
  to: string;
}

const SHOWN = 5;

/** Without a way to read the plaintext again: refused before anything is written, naming both names. */
export function refuseLeftOut(left: LeftOutLink[]): UsageError {
  const shown = left.slice(0, SHOWN).map((l) => `"${printable(l.rel)}" is a hard link to "${printable(l.to)}"`);
  const more = left.length > SHOWN ? `, and ${left.length - SHOWN} more` : '';
  const add = [...new Set(left.map((l) => l.to))].slice(0, SHOWN).map((t) => `--path '${printable(t)}'`).join(' ');
  return new UsageError(`${shown.join(', ')}${more}, which --path does not select; nothing was written`, `add ${add} (the name that holds the content), or restore the whole tree`);
}

export async function fillLeftOutLinks(staging: string, target: string, left: LeftOutLink[], reopen: () => Promise<Readable>): Promise<void> {
  // By the inode's first name: the selected names to fill from it, in archive order.
  const wanted = new Map<string, string[]>();
  for (const l of left) {
    const rels = wanted.get(l.to);
    if (rels) rels.push(l.rel);
    else wanted.set(l.to, [l.rel]);
  }
  const filled = new Set<string>();
  let failure: unknown;
  const writes: Promise<void>[] = [];

  const parser = new Parser({
    strict: true,
    filter: (p: string, e: unknown) => {
      const to = normalizeEntryPath(p);
      return FILE_TYPES.has((e as ReadEntry).type) && wanted.has(to) && !filled.has(to);
    },
    onReadEntry: (entry: ReadEntry) => {
      const to = normalizeEntryPath(entry.path);
      filled.add(to);
      const w = fillFrom(entry, staging, target, to, wanted.get(to)!).catch((err: unknown) => {
        failure ??= err;
        entry.resume();
      });
      writes.push(w);
    },
  });
  const input = await reopen();
  try {
    await feedTar(input, parser, () => failure !== undefined);
    await Promise.all(writes);
  } catch (err) {
    input.destroy();
    throw err;
  }
  if (failure !== undefined) {
    input.destroy();
    throw failure;
  }
  if (sawEndOfArchive(parser) !== true) {
    throw new StrongboxError(`the archive for ${printable(target)} ended without its end-of-archive marker when read again: it is truncated; ${printable(target)} was not changed`);
  }
  const missing = left.filter((l) => !filled.has(l.to));
  if (missing.length) {
    const m = missing[0]!;
    throw new UnsafeArchiveError(`refusing to restore into ${printable(target)}: the archive holds "${printable(m.rel)}" as a hard link to "${printable(m.to)}", which it does not hold as a file; nothing was put in place`, {
      hint: TAMPERED_HINT,
    });
  }
}

/** The inode's content into the first selected name (created new, never through a link), the other names linked to it. */
async function fillFrom(entry: ReadEntry, staging: string, target: string, to: string, rels: string[]): Promise<void> {
  const [first, ...others] = rels as [string, ...string[]];
  await makeParents(staging, first, target);
  const at = join(staging, first);
  const file = await open(at, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600).catch((err: unknown) => {
    throw (err as NodeJS.ErrnoException).code === 'EEXIST' ? twice(target, first) : err;
  });
  try {
    // One chunk at a time: node-tar reads the next block only once this one is written.
    for await (const chunk of entry as AsyncIterable<Buffer>) await file.write(chunk);
    if ((await file.stat()).size !== entry.size) {
      throw new StrongboxError(`restoring "${printable(first)}" into ${printable(target)} failed: the content of "${printable(to)}" was cut short; ${printable(target)} was not changed`);
    }
    // Owners only as root (as node-tar does), before the mode: chown clears setuid bits.
    if (process.getuid?.() === 0 && typeof entry.uid === 'number' && typeof entry.gid === 'number') await file.chown(entry.uid, entry.gid);
    if (typeof entry.mode === 'number') await file.chmod(entry.mode & 0o7777);
    if (entry.mtime) await file.utimes(entry.mtime, entry.mtime);
  } finally {
    await file.close();
  }
  for (const rel of others) {
    await makeParents(staging, rel, target);
    await link(at, join(staging, rel)).catch((err: unknown) => {
      throw (err as NodeJS.ErrnoException).code === 'EEXIST' ? twice(target, rel) : err;
    });
  }
}

function twice(target: string, rel: string): UnsafeArchiveError {
  return new UnsafeArchiveError(`refusing to restore into ${printable(target)}: the archive holds "${printable(rel)}" twice, once as a hard link; nothing was put in place`, {
    hint: TAMPERED_HINT,
  });
}
