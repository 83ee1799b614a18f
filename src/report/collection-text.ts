import type { CollectionFigures } from '../core/collection/summary.js';
import { formatBytes } from '../shared/format.js';

/** `1661 members, 2.0 GiB: 12 new (3.1 MiB), 1649 reused` (+ `, 2 skipped`). */
export function describeMembers(f: CollectionFigures): string {
  return `${f.members} member(s), ${formatBytes(f.bytes)}: ${f.newMembers} new (${formatBytes(f.newBytes)}), ${f.reused} reused${f.skipped ? `, ${f.skipped} skipped` : ''}`;
}

/** `130 pack(s), 1.9 GiB stored, 2 new`. */
export function describePacks(f: CollectionFigures): string {
  return `${f.packs} pack(s), ${formatBytes(f.packBytes)} stored, ${f.newPacks} written by this backup`;
}
