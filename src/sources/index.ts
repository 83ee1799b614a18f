import { UsageError } from '../shared/errors.js';
import { printable } from '../shared/text.js';
import type { ArtifactKind, SourceAdapter } from './adapter.js';
import { bucketAdapter } from './bucket/index.js';
import { filesAdapter } from './files/index.js';
import { mysqlAdapter } from './mysql/index.js';
import { postgresAdapter } from './postgres/index.js';
import { sqliteAdapter } from './sqlite/index.js';

/**
 * Every kind of source, once (as restic's location registry lists its backends). The order
 * is the order a restore fills its targets in: databases first, file trees last.
 */
export const sourceAdapters: readonly SourceAdapter[] = [postgresAdapter, mysqlAdapter, sqliteAdapter, filesAdapter, bucketAdapter];

export function findSourceAdapter(kind: ArtifactKind): SourceAdapter | undefined {
  return sourceAdapters.find((a) => a.kind === kind);
}

/** The adapter of a kind; an unknown one (a backup from a newer Strongbox) is a clear refusal. */
export function sourceAdapter(kind: ArtifactKind): SourceAdapter {
  const a = findSourceAdapter(kind);
  if (!a) {
    throw new UsageError(
      `this version of Strongbox cannot handle "${printable(kind)}" artifacts (it knows ${sourceAdapters.map((x) => x.kind).join(', ')})`,
      'upgrade Strongbox to restore this backup',
    );
  }
  return a;
}

export type { ArtifactKind, SourceAdapter, SourceSpec } from './adapter.js';
