import type { Readable } from 'node:stream';
import type { DumpContext, RestoreArtifact, SourceDetails, SourceSpec, TargetContext } from './types.js';

/**
 * Collections: sources stored member by member (the objects of a bucket, the files of an
 * incremental tree) instead of as one stream. The core (src/core/collection/) stores each
 * member's content once in shared packs, named by a keyed hash of the content, and writes an
 * encrypted index per backup; a source only lists members and opens their content, and a
 * target only receives verified members. The on-storage format is in src/core/collection/format.ts.
 */

/** One member as the source lists it, in the reader's order. */
export interface CollectionEntry {
  /** The relative '/'-separated path (files) or object key (buckets): unique within the collection. */
  name: string;
  /** True when the member has content to store (a file, an object); false for folders and links. */
  hasContent: boolean;
  /** Content bytes as listed (0 without content). What is read may differ if it changes meanwhile. */
  size: number;
  /**
   * Equal fingerprints of the same name in two backups mean "unchanged": the member is then
   * referenced, not read again (files: size, mtime, ctime, inode; objects: size + ETag). Absent
   * (`--compare checksum`): always read, and deduplicated by content.
   */
  fingerprint?: string;
  /**
   * What the index records besides name, size, sha256 and blob: mode, uid, gid, mtime, link
   * (files); etag, versionId, lastModified, storageClass (objects). JSON values only.
   */
  record: Record<string, unknown>;
}

/** A member's content as opened for reading. */
export interface CollectionContent {
  stream: Readable;
  /** Fields known only once the content is read (an object's content type and user metadata); merged into the record. */
  record?: Record<string, unknown>;
}

/** Thrown by `open` (or by its stream) when a member vanished or changed while the backup ran: it is reported as skipped, never a failure of the backup. */
export class MemberSkipped extends Error {
  constructor(readonly member: string, readonly reason: string) {
    super(`${member}: ${reason}`);
    this.name = 'MemberSkipped';
  }
}

/** A source opened for a collection backup. */
export interface CollectionReader {
  /** Facts for the manifest (never credentials), as SourceDump.details. */
  details: SourceDetails;
  /**
   * The record of the collection itself, if it has one (files: the backed-up folder's type, mode,
   * uid, gid, mtime), as of when it was opened. Kept in the index header, not as a member; a tree
   * restore gets it first, as a member named '' (the target folder).
   */
  root?: Record<string, unknown>;
  /** Every member, sorted by `compare`, streaming (never the whole listing in memory). */
  entries(): AsyncIterable<CollectionEntry>;
  /** The order of `entries` (and of the index and state written from it). */
  compare(a: string, b: string): number;
  open(entry: CollectionEntry, signal: AbortSignal): Promise<CollectionContent>;
  /** How many members may be read at once (bounded download concurrency). */
  concurrency: number;
}

/** A member of a backed-up collection as a restore receives it. */
export interface RestoreMember {
  /** The index line (see src/core/collection/format.ts IndexMember): name, size, sha256 and the recorded fields. */
  member: IndexMemberLike;
  /**
   * Its content, verified while read: the stream errors (a VerificationError) if the bytes do
   * not match the index's SHA-256 and size, so a target that writes it must only commit after
   * the stream ended. Undefined for members without content (folders, links).
   */
  open(): Readable | undefined;
}

/** The parts of an index line that targets read (the full type lives in the core's format.ts). */
export interface IndexMemberLike {
  name: string;
  size: number;
  sha256?: string;
  [field: string]: unknown;
}

export interface CollectionRestoreOptions {
  /** List what would be written, write nothing. */
  dryRun: boolean;
}

/** What a collection restore did (or, with dryRun, would do). */
export interface CollectionRestoreResult {
  written: number;
  /** Already there with the same content: left alone. */
  same: number;
  /** There with other content: replaced (only with --force; without it the restore refuses before writing). */
  replaced: number;
  /** Up to a few hundred names per outcome, for --dry-run listings. */
  listed: { name: string; action: 'write' | 'replace' | 'same' }[];
}

/** What a source adapter offers for collections (src/sources/adapter.ts SourceAdapter.collection). */
export interface CollectionSupport {
  /** Whether this spec is stored as a collection (buckets: always; files: with --incremental). */
  wanted(spec: SourceSpec): boolean;
  open(spec: SourceSpec, ctx: DumpContext): Promise<CollectionReader>;
  /**
   * The delete shield (buckets): a listing that is empty, or down more than 50 % in members or
   * bytes against the previous backup of the series, fails the backup unless --allow-shrink.
   */
  shield?: boolean;
  /**
   * Writes members into a target of this kind (a bucket). Targets that are file trees get a tar
   * stream instead (SourceAdapter.restore), so every rule of today's tree restore applies.
   */
  restoreMembers?(members: AsyncIterable<RestoreMember>, target: string, artifact: RestoreArtifact, ctx: TargetContext & CollectionRestoreOptions): Promise<CollectionRestoreResult>;
  /** A member of this kind as a file of a tree (an object's key as its path), for `--files-target`. */
  asFile?(member: IndexMemberLike): IndexMemberLike;
}
