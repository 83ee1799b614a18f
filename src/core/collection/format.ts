/**
 * The on-storage format of collections (design §4), beside the single-stream artifacts:
 *
 *   data/<aa>/<pack-id>.pack        a pack: age( zstd( blob ‖ blob ‖ … ) ), shared by every backup
 *                                   that refers to one of its blobs; <pack-id> is 32 random hex
 *                                   digits, <aa> its first two. A pack is written whole and
 *                                   confirmed (stat + read-back SHA-256) before any manifest
 *                                   refers to it; packs nobody refers to are prune's to collect.
 *   <backup-id>/<name>.index.jsonl.zst.age
 *                                   the index: one JSON line per member (IndexMember), after a
 *                                   header line (IndexHeader); encrypted like the data. The
 *                                   manifest's artifact record (key, plaintext, stored) is this object.
 *   <backup-id>/<name>.refs.jsonl.zst
 *                                   the refs, NOT encrypted: which packs (RefsPack) and which
 *                                   blobs in them (RefsBlob) the backup uses. What prune (no key)
 *                                   collects by, what verify without a key checks, and what a
 *                                   backup without its state deduplicates against. It holds
 *                                   keyed blob ids, pack ids, offsets and lengths: no names.
 *   <backup-id>/manifest.json       written last, as for every backup; its artifact record
 *                                   carries `collection` (CollectionInfo).
 *
 * A blob is one member's content, whole (no chunking): offset/length address it in the pack's
 * plaintext (after age and zstd are undone). Members with content ≥ LARGE_MEMBER bytes get a
 * pack of their own (offset 0), so reading one never decrypts others' data; smaller ones are
 * packed together until a pack holds PACK_TARGET plaintext bytes.
 *
 * Blob ids are HMAC-SHA256(contentKey, content) in hex, so someone who reads the storage
 * cannot confirm that a known file is there (content-key.ts says where the key comes from).
 *
 * Restoring one member by hand (README "Restore without Strongbox"):
 *   age -d -i key.txt ID/NAME.index.jsonl.zst.age | zstd -d | jq -c 'select(.name=="a/b.txt") | .blob'
 *   age -d -i key.txt data/${pack:0:2}/$pack.pack | zstd -d | tail -c +$((offset+1)) | head -c $length > b.txt
 */

/**
 * Readers refuse any other format, so it changes only when an older reader would restore
 * something wrong; fields it ignores (IndexHeader.root, a member's nlink/hardlink) keep it.
 */
export const INDEX_FORMAT = 'strongbox-index/1';
export const REFS_FORMAT = 'strongbox-refs/1';
export const STATE_FORMAT = 'strongbox-state/1';

/** Plaintext bytes after which a pack is closed. */
export const PACK_TARGET = 16 * 1024 * 1024;
/** Members at least this big get a pack of their own. */
export const LARGE_MEMBER = 4 * 1024 * 1024;

export const DATA_PREFIX = 'data/';
export const PACK_SUFFIX = '.pack';
export const INDEX_EXTENSION = '.index.jsonl';
export const REFS_EXTENSION = '.refs.jsonl';

const PACK_ID = /^[0-9a-f]{32}$/;
const BLOB_ID = /^[0-9a-f]{64}$/;

export function isPackId(id: string): boolean {
  return PACK_ID.test(id);
}

export function isBlobId(id: string): boolean {
  return BLOB_ID.test(id);
}

/** The key of a pack at a destination root: `data/ab/ab12….pack`. */
export function packKey(packId: string): string {
  if (!isPackId(packId)) throw new Error(`not a pack id: ${packId}`);
  return `${DATA_PREFIX}${packId.slice(0, 2)}/${packId}${PACK_SUFFIX}`;
}

/** The pack id of a key under data/, or undefined for anything else there (a temp file, a stray object). */
export function packIdOfKey(key: string): string | undefined {
  const m = /^data\/([0-9a-f]{2})\/([0-9a-f]{32})\.pack$/.exec(key);
  return m && m[2]!.startsWith(m[1]!) ? m[2] : undefined;
}

/** Where a member's content is: a blob in a pack. */
export interface BlobRef {
  /** HMAC-SHA256(contentKey, content), hex. */
  id: string;
  pack: string;
  /** Byte offset of the blob in the pack's plaintext. */
  offset: number;
  /** Its length: the member's size. */
  length: number;
}

/** The first line of an index. */
export interface IndexHeader {
  format: typeof INDEX_FORMAT;
  /** The artifact kind: `files` or `bucket`. */
  kind: string;
  artifact: string;
  /**
   * The record of the collection itself (CollectionReader.root; files: the root folder's type,
   * mode, uid, gid, mtime). Absent in indexes written before it existed, and for buckets: a
   * restore then treats the target folder as it always did.
   */
  root?: Record<string, unknown>;
}

/**
 * One member. Common fields first; the rest is the source's record (CollectionEntry.record):
 *   files:   type ('file' | 'dir' | 'symlink'), mode, uid, gid, mtime (ISO, ms), link (symlinks);
 *            files whose inode has more than one name: nlink, and on every name after the first
 *            in index order, hardlink (the first's name). Such a member still has its own blob
 *            (the same one, by deduplication): a reader may ignore both fields and write a copy.
 *   objects: etag, lastModified (ISO), versionId, isLatest, contentType, metadata, storageClass,
 *            cacheControl, contentEncoding, contentDisposition
 */
export interface IndexMember {
  name: string;
  size: number;
  /** Plaintext SHA-256 of the content; absent without content. */
  sha256?: string;
  blob?: BlobRef;
  [field: string]: unknown;
}

/** The first line of a refs object. */
export interface RefsHeader {
  format: typeof REFS_FORMAT;
  kind: string;
  artifact: string;
  /** Id of the content key the blob ids were made with (content-key.ts). */
  contentKey: string;
}

/** A pack the backup refers to, with what verify without a key checks. */
export interface RefsPack {
  t: 'pack';
  id: string;
  /** Stored bytes and their SHA-256 (as at the destination). */
  size: number;
  sha256: string;
  /** Plaintext bytes (the sum of its blobs' lengths). */
  plain: number;
}

/** A blob the backup refers to (one line per member with content; the same blob may repeat). */
export interface RefsBlob extends BlobRef {
  t: 'blob';
}

export type RefsLine = RefsPack | RefsBlob;

/** The manifest's record of a collection (ArtifactRecord.collection). */
export interface CollectionInfo {
  /** Members in the index, and the sum of their sizes: the "object count" teams used to check by hand. */
  members: number;
  bytes: number;
  /** Members stored as new content in this backup, and their bytes. */
  newMembers: number;
  newBytes: number;
  /** Members referenced from earlier backups' packs (unchanged, or the same content elsewhere). */
  reused: number;
  /** Members listed but skipped (vanished or changed while read); never in the index. */
  skipped: number;
  /** Distinct packs the backup refers to, their stored bytes, and how many of them this backup wrote. */
  packs: number;
  packBytes: number;
  newPacks: number;
  /**
   * The refs object (a plain file name in the backup folder), recorded as an artifact's stream
   * is, so openPlaintext/checkStored read it; never encrypted.
   */
  refs: { key: string; compression: { algorithm: 'zstd' | 'gzip' | 'none'; level?: number }; plaintext: { size: number; sha256: string }; stored: { size: number; sha256: string } };
  /** Id of the content key (content-key.ts). */
  contentKey: string;
}

/** The first line of the state file the CLI keeps in --state-dir and the actions in @actions/cache. */
export interface StateHeader {
  format: typeof STATE_FORMAT;
  /** The backup the state describes (committed before the state was written). */
  backupId: string;
  artifact: string;
  kind: string;
  contentKey: string;
}

/**
 * The state's lines after the header: the packs first (RefsPack), then one line per member in
 * the reader's order: the member's fingerprint and its full index line.
 */
export interface StateMember {
  t: 'member';
  fp?: string;
  m: IndexMember;
}

export type StateLine = RefsPack | StateMember;
