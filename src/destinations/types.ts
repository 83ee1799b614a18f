import type { Readable } from 'node:stream';

/** One stored object, with its key relative to the destination's root (always '/'-separated). */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModified?: Date;
}

/**
 * Where backups are stored: a local/NAS folder or an S3-compatible bucket and prefix.
 * Keys are relative to the destination root and use '/' separators on every platform.
 *
 * The contract every implementation keeps (the core relies on it for "no half-written backup
 * ever looks complete"):
 * - put/putBytes are atomic: after a failure or a kill, the key is either absent or complete.
 *   A failed multipart upload is aborted, a local temp file removed.
 * - get/getBytes on a missing key throw NotFoundError (or return undefined for getBytes).
 * - list is recursive below the prefix and never returns temp/partial objects.
 * - delete of a missing key succeeds.
 */
export interface Destination {
  /** Printable location with any credentials removed, e.g. `s3://bucket/prefix` or `/mnt/nas/db`. */
  readonly display: string;
  /** How an object is named in messages (`s3://b/p/key (host)`); without it, `${display}/${key}`. */
  where?(key: string): string;
  /** The repository's folder when it lives on this machine's file system (local/NAS). */
  readonly localPath?: string;
  /**
   * Credential values the destination holds (an S3 location's `credentials=NAME`), so the edges
   * can mask them in every log line; absent or empty when it holds none.
   */
  readonly secrets?: readonly string[];
  /**
   * What to type to open this destination again, for hints that print a command: an S3 URL
   * with the settings in effect and `credentials=NAME` (never a secret value). Absent: display.
   */
  readonly location?: string;
  /** `readBack: false`: nobody will check a read-back (`--confirm-upload size`), so a destination may skip making one. */
  put(key: string, body: Readable, opts?: PutOptions): Promise<PutResult>;
  putBytes(key: string, data: Uint8Array): Promise<void>;
  /**
   * Writes data only if key does not exist yet; returns false if it already existed.
   * Used for lock objects. Where the store offers no conditional write, implementations
   * document how close they get.
   */
  putBytesIfAbsent?(key: string, data: Uint8Array): Promise<boolean>;
  get(key: string, opts?: { signal?: AbortSignal }): Promise<Readable>;
  getBytes(key: string): Promise<Uint8Array | undefined>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  /**
   * Up to `limit` names of what the location holds at its root (folders and files; for S3 the
   * first keys under the prefix); [] when it is empty or does not exist yet. Checked before a
   * repository is created here, so `init` refuses what is usually a wrong path. Without it,
   * the core takes the first keys `list` returns. A missing bucket throws NotFoundError.
   */
  peek?(limit: number): Promise<string[]>;
  /**
   * Local folders: checked before a repository is created here (a missing parent, a declared
   * but unmounted mount point are refused); returns warnings. Then createRoot makes the
   * folder itself, and nothing else ever creates it or its parents.
   */
  checkNewRoot?(): Promise<string[]>;
  createRoot?(): Promise<void>;
  /**
   * Removes leftovers of writes that never finished (a killed run's temp files), older than
   * `before`; returns what was (or, with dryRun, would be) removed. Prune calls it under the
   * exclusive lock, so no running write is touched.
   */
  removeAbandonedWrites?(before: Date, dryRun: boolean): Promise<string[]>;
}

export interface PutOptions {
  signal?: AbortSignal;
  readBack?: boolean;
}

/** What a put stored. */
export interface PutResult {
  size: number;
  /**
   * The size and SHA-256 of the object as the destination read it back from its own storage
   * after writing it (a local folder does, trailing its writes); the read-back confirmation
   * checks these instead of reading the object again. Absent: the confirmation reads it.
   */
  readBack?: { size: number; sha256: string };
}

/** The printable name of object `key` at `dest`, for messages. */
export function objectName(dest: Pick<Destination, 'display' | 'where'>, key: string): string {
  return dest.where ? dest.where(key) : `${dest.display}/${key}`;
}
