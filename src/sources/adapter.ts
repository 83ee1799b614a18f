import type { Readable } from 'node:stream';
import type { Reporter } from '../shared/reporter.js';
import type { CollectionRestoreResult, CollectionSupport, IndexMemberLike, RestoreMember } from './collection.js';

/**
 * What the core needs from one kind of source. Each kind lives in its own folder
 * (`src/sources/<kind>/`) and is listed once, in `src/sources/index.ts`; the core never
 * imports a concrete source. Adding a source is one folder, one registry line, and its
 * flags/inputs at the edges.
 */

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

export interface SourceAdapter {
  kind: ArtifactKind;
  /** Sources stored member by member (buckets; incremental trees), src/sources/collection.ts. */
  collection?: CollectionSupport;
  /** Flags naming its source and target, for messages (`--postgres`, `--postgres-target`). */
  sourceFlag: string;
  targetFlag: string;
  /** What its targets are called in messages: "database", "directory", "SQLite file". */
  targetNoun: string;
  /** How to say that --force replaces a non-empty target, and what it replaces. */
  replaceHint: string;
  /** Extension of the plaintext object, e.g. `.dump`, `.tar`, `.sql`. */
  extension: string;
  /**
   * Every secret a location (URL) may carry, decoded, for masking before anything is printed;
   * none for paths. A location holding one in argv gets a warning with `credentialsHint`.
   */
  locationSecrets?(location: string): string[];
  /** Where a password belongs instead of the URL (`PGPASSWORD or ~/.pgpass`, `MYSQL_PWD`). */
  credentialsHint?: string;
  /** The default artifact name, e.g. `postgres-appdb`; the core numbers duplicates. */
  artifactName(spec: SourceSpec): string;
  /** Refuses a source that cannot be backed up (a missing path, a malformed URL) before anything is written. */
  checkSource?(spec: SourceSpec, ctx: DumpContext): void | Promise<void>;
  dump(spec: SourceSpec, ctx: DumpContext): Promise<SourceDump>;
  /**
   * Roughly how many plaintext bytes the dump will produce, for the progress line's ETA: cheap
   * (a stat walk, the server's own size statistics), never a second read of the data. Resolves
   * undefined when it cannot tell; progress then shows bytes and rate only.
   */
  estimateSize?(spec: SourceSpec, ctx: DumpContext): Promise<SizeEstimate | undefined>;
  /**
   * What identifies the source across backups, from the manifest's details (a path, a
   * host/database): retention keeps series apart by it. Empty when not recorded.
   */
  sourceIdentity(details: SourceDetails): string;

  /** A target as the core keeps it (paths made absolute). */
  normalizeTarget(target: string): string;
  /** A target for messages: no password, printable. */
  displayTarget(target: string): string;
  /** The name `rollback --confirm` must repeat (the database name, the folder name). */
  confirmName(target: string): string;
  /** Refuses a target that cannot be restored into at all, before anything is written (exit 7). */
  checkTarget(target: string, ctx: TargetContext): Promise<void>;
  /** False when the target holds data a restore would replace (then --force is needed). */
  isTargetEmpty(target: string, ctx: TargetContext): Promise<boolean>;
  /**
   * What a rollback's safety backup takes of the target; undefined when there is nothing yet.
   * Refuses (exit 7) a target a rollback cannot replace (a file where a directory should be).
   */
  safetySource(target: string): Promise<SourceSpec | undefined>;
  /**
   * True when the engine applies statements as it reads them (effects no rollback undoes):
   * the core then downloads the artifact to a private file, proves it against the manifest,
   * and restores from that copy. False when the adapter stages the whole restore and swaps
   * it in only after the stream ended verified.
   */
  verifyBeforeRestore: boolean;
  /**
   * Restores the plaintext into the target, all or nothing: a restore that fails, is killed
   * or finds row counts different from `artifact.rowCounts` leaves the target as it was.
   */
  restore(input: Readable, target: string, artifact: RestoreArtifact, ctx: TargetContext): Promise<void>;
  /**
   * Writes the selected entries of the plaintext INTO the target, keeping the rest of it
   * (`restore --path`, `--dry-run`): equal ones left alone, differing ones refused unless
   * ctx.force, every conflict found before anything is written. File trees only.
   */
  restoreInto?(input: Readable, target: string, artifact: RestoreArtifact, ctx: TargetContext & RestoreIntoContext): Promise<CollectionRestoreResult>;
  /** The plaintext `restore` reads, made from a collection's members (files: a tar stream), for targets of this kind. */
  fromMembers?(members: AsyncIterable<RestoreMember>, asFile?: (m: IndexMemberLike) => IndexMemberLike): Readable;
  /** Rows a query returns against the target (`rollback --check-sql`); databases only. */
  countQueryRows?(target: string, sql: string, ctx: TargetContext): Promise<number>;

  /**
   * Restore drills (servers only). The database a scratch URL names, or undefined when it
   * names only a server (then the drill picks a fresh name).
   */
  scratchName?(url: string): string | undefined;
  /**
   * Makes database `name` on the server `url` names ready for a drill: `created` false when it
   * existed already (the drill then refuses it: it could not leave it as found). Returns its URL.
   */
  createScratch?(url: string, name: string, ctx: TargetContext): Promise<{ target: string; created: boolean }>;
  /**
   * Restore drills: compares a restored target with what the manifest recorded beyond row
   * counts (which restore compares itself): a file tree's entries and bytes.
   */
  compareRestored?(target: string, artifact: RestoreArtifact): Promise<{ compared: string; differences: string[] }>;
  /** Drops a database createScratch created, whatever the restore left in it. */
  dropScratch?(target: string, ctx: TargetContext): Promise<void>;
  /** The databases on the server `url` names whose names start with `prefix` (a killed drill's leftovers). */
  listScratch?(url: string, prefix: string, ctx: TargetContext): Promise<string[]>;
}
