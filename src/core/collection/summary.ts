import type { ArtifactRecord } from '../types.js';
import type { CollectionInfo } from './format.js';

/** A collection artifact's figures as reports show them (list, history, show, notifications): the manifest's counts, by name. */
export type CollectionFigures = { name: string } & Omit<CollectionInfo, 'refs' | 'contentKey'>;

// The manifest reader does not check `collection` (older readers ignore it): a figure that is
// not a number reads as 0 rather than breaking a report.
const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function collectionFigures(a: Pick<ArtifactRecord, 'name' | 'collection'>): CollectionFigures | undefined {
  const c = a.collection as Record<string, unknown> | undefined;
  if (!c || typeof c !== 'object') return undefined;
  return {
    name: a.name,
    members: n(c.members),
    bytes: n(c.bytes),
    newMembers: n(c.newMembers),
    newBytes: n(c.newBytes),
    reused: n(c.reused),
    skipped: n(c.skipped),
    packs: n(c.packs),
    packBytes: n(c.packBytes),
    newPacks: n(c.newPacks),
  };
}

/** Every collection artifact's figures in a manifest; [] without any. */
export function collectionsOf(m: { artifacts: Pick<ArtifactRecord, 'name' | 'collection'>[] }): CollectionFigures[] {
  return m.artifacts.flatMap((a) => {
    const f = collectionFigures(a);
    return f ? [f] : [];
  });
}
