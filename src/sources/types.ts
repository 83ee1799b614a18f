import type { Readable } from 'node:stream';
import type { Reporter } from '../shared/reporter.js';

/** The types a source adapter (adapter.ts, which re-exports them) and the collection contract (collection.ts) share. */

/** A kind of source, as the manifest records it (`artifact.kind`). */
export type ArtifactKind = string;

/** Facts about a source that go into the manifest (never credentials). */
export type SourceDetails = Record<string, string | number | boolean | string[]>;

/** What to back up, as the edges parsed it. `location` may hold a password: never print it. */
export interface SourceSpec {
  kind: ArtifactKind;
  /** A URL (databases) or a path (files, SQLite). */
  location: string;
  options?: SourceOptions;
}

/** Per-source options; each adapter reads the ones that concern it and ignores the rest. */
export interface SourceOptions {
  /** files: gitignore-style patterns left out of the tree. */
  exclude?: string[];
  /** postgres: pg_dump --schema / --exclude-schema / --table / --exclude-table / --exclude-table-data. */
  schemas?: string[];
  excludeSchemas?: string[];
  tables?: string[];
  excludeTables?: string[];
  excludeTableData?: string[];
  /** postgres: pg_dump --enable-row-security (a tenant role's dump under RLS). */
  rowSecurity?: boolean;
  /** Databases: how rows are counted into the manifest (default exact). */
  rowCounts?: RowCountMode;
  /** postgres: a folder holding pg_dump/pg_restore/psql to prefer. */
  pgBin?: string;
  /** files: store the tree as a collection (src/sources/collection.ts), unchanged files referenced, not re-read. */
  incremental?: boolean;
  /** Collections: what says a member is unchanged (`metadata`: files' size/mtime/ctime/inode, objects' size+ETag), or `checksum`: read everything. */
  compare?: 'metadata' | 'checksum';
  /** bucket: back up non-current versions too. */
  allVersions?: boolean;
  /** bucket: the store's settings as the edges resolved them (credentials=NAME read there, never here). */
  bucket?: BucketConnection;
}

/** How a bucket source reaches its store; `credentials` is a secret (the edges mask it). */
export interface BucketConnection {
  endpoint?: string;
  region?: string;
  preset?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Where the credentials came from, for hints: `R2_ACCESS_KEY_ID / … (credentials=R2)`. */
  credentialsSource?: string;
  /** AWS_REGION / AWS_DEFAULT_REGION as the edges saw them (a region for endpoints without one). */
  env?: Record<string, string | undefined>;
  /** Objects read (or written) at once; default 8. */
  concurrency?: number;
  /** The location's `part-size`: multipart part size of the members a restore uploads. */
  partSize?: number;
}

export type RowCountMode = 'exact' | 'estimate' | 'none';

/** Per-table row counts, keyed `schema.table` (or `table` where the engine has no schemas). */
export type RowCounts = Record<string, number>;

/**
 * A running dump. `stream` is the plaintext; `completed` settles when the producer has
 * finished: it rejects if the dump failed or was killed (exit status, signal, stderr), so the
 * core never commits a backup whose producer did not succeed even if the bytes looked fine.
 * `details` and `rowCounts` are read only after `completed` resolved, so an adapter may fill
 * them in while the dump runs.
 */
export interface SourceDump {
  stream: Readable;
  completed: Promise<void>;
  details: SourceDetails;
  /** Exact (or estimated, per `rowCountMode`) rows per table as seen by the dump's snapshot. */
  rowCounts?: RowCounts;
  rowCountMode?: RowCountMode;
}

export interface SizeEstimate {
  bytes: number;
  /** Files and folders, for a tree. */
  entries?: number;
}

/** A local repository that a file tree must leave out (by device + inode). */
export interface LeaveOut {
  dev: number;
  ino: number;
  what: string;
}

export interface DumpContext {
  reporter: Reporter;
  /** How long the dump waits for a lock held elsewhere (`--db-lock-timeout`). */
  lockTimeoutMs?: number;
  /** Local repositories that must not be backed up into themselves. */
  leaveOut: LeaveOut[];
}

export interface TargetContext {
  reporter: Reporter;
  /** The repository being restored from, so a target holding it is refused (local folders only). */
  repository?: { localPath?: string; display: string };
  /** --force: the target may hold data, which the restore replaces. */
  force: boolean;
  lockTimeoutMs?: number;
  pgBin?: string;
  /** The bucket target's connection as the edges resolved it (credentials=NAME read there; operations never read process.env). */
  bucket?: BucketConnection;
}

export interface RestoreIntoContext {
  /** List what would be written, write nothing into the target. */
  dryRun: boolean;
  /** Which entries (by name) to restore; default all. */
  select?: (name: string) => boolean;
  /** Called after the selection was read and before the target is compared or written. */
  beforeWrite?: () => void;
  /**
   * The same plaintext again from its start, verified again as it streams: for a second pass
   * when the selection needs what the first went past (a file tree's hard link whose first
   * name --path does not select). Absent for plaintext made from a collection's members.
   */
  reopen?: () => Promise<Readable>;
}

/** What a restore is given besides the plaintext: the manifest's record of the artifact. */
export interface RestoreArtifact {
  name: string;
  kind: ArtifactKind;
  source: SourceDetails;
  rowCounts?: RowCounts;
  rowCountMode?: RowCountMode;
}
