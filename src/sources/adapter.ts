import type { Readable } from 'node:stream';
import type { CollectionRestoreResult, CollectionSupport, IndexMemberLike, RestoreMember } from './collection.js';
import type { ArtifactKind, SourceDetails, SourceSpec, SourceOptions, BucketConnection, RowCountMode, RowCounts, SourceDump, SizeEstimate, LeaveOut, DumpContext, TargetContext, RestoreIntoContext, RestoreArtifact } from './types.js';

export type { ArtifactKind, SourceDetails, SourceSpec, SourceOptions, BucketConnection, RowCountMode, RowCounts, SourceDump, SizeEstimate, LeaveOut, DumpContext, TargetContext, RestoreIntoContext, RestoreArtifact } from './types.js';

/**
 * What the core needs from one kind of source. Each kind lives in its own folder
 * (`src/sources/<kind>/`) and is listed once, in `src/sources/index.ts`; the core never
 * imports a concrete source. Adding a source is one folder, one registry line, and its
 * flags/inputs at the edges.
 */
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
