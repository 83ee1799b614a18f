import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Parser } from 'tar';
import { printable } from '../../shared/text.js';
import { UnsafeArchiveError } from './tar-safety.js';

/**
 * Helpers for writing a tar stream into a private staging folder: feeding node-tar with
 * backpressure, telling a complete archive from one cut at an entry boundary, and making
 * parent folders without ever following a link.
 */

/** node-tar keeps "saw the end-of-archive blocks" private; a stream cut at an entry boundary otherwise looks complete. */
export function sawEndOfArchive(parser: Parser): boolean | undefined {
  const sym = Object.getOwnPropertySymbols(parser).find((s) => s.description === 'sawEOF');
  return sym === undefined ? undefined : Boolean((parser as unknown as Record<symbol, unknown>)[sym]);
}

/**
 * Writes `input` into `parser` with backpressure and waits for it to close; `stop()` true
 * (an entry refused) ends the feed early. The first error of either side rejects.
 */
export async function feedTar(input: Readable, parser: Parser, stop: () => boolean): Promise<void> {
  let failed = false;
  const done = new Promise<void>((res, rej) => {
    parser.on('error', (err: unknown) => {
      failed = true;
      rej(err);
    });
    parser.on('close', () => res());
  });
  done.catch(() => {});
  for await (const chunk of input as AsyncIterable<Buffer>) {
    if (stop() || failed) break;
    // After the end marker the rest is only drained (through the caller's checksum): node-tar
    // would keep concatenating it, quadratic in its length.
    if (sawEndOfArchive(parser) === true) continue;
    if (!parser.write(chunk)) {
      await Promise.race([new Promise((r) => parser.once('drain', r)), done.catch(() => {})]);
    }
  }
  if (stop()) return;
  if (!failed) parser.end();
  await done;
}

/**
 * mkdir -p of an entry's parent that refuses to pass through a link (`mkdir -p` would follow
 * one). ArchiveLayout already refuses that by path; this also holds where two spellings name
 * one directory (case-insensitive or normalizing file systems).
 */
export async function makeParents(staging: string, rel: string, target: string): Promise<void> {
  let here = staging;
  const parts = rel.split('/');
  for (let i = 0; i < parts.length - 1; i++) {
    here = join(here, parts[i]!);
    const st = await lstat(here).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    });
    if (!st) await mkdir(here);
    else if (!st.isDirectory()) {
      throw new UnsafeArchiveError(`refusing to restore into ${printable(target)}: "${printable(rel)}" would be created through the ${st.isSymbolicLink() ? 'symbolic link' : 'file'} "${printable(parts.slice(0, i + 1).join('/'))}"; nothing was put in place`);
    }
  }
}
