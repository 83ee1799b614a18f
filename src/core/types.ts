import type { ArtifactKind, RowCountMode, RowCounts, SourceDetails } from '../sources/adapter.js';

import type { Compression } from '../codecs/compress.js';
import type { Alert } from '../shared/alert.js';
import type { CollectionInfo } from './collection/format.js';

export type { Compression };

/** Major.minor of the on-storage format. Readers refuse an unknown major version. */
export const FORMAT_VERSION = '1.0';
/** Manifests holding a collection artifact say 1.1 (readers of 1.0 take a collection's index for a plain stream). */
export const COLLECTION_FORMAT_VERSION = '1.1';
export const MANIFEST_NAME = 'manifest.json';
/** The SSH signature of the manifest's exact bytes; stored before the manifest. */
export const SIGNATURE_NAME = 'manifest.json.sig';
/** The SSH signature namespace (`ssh-keygen -Y … -n strongbox`). */
export const SIGNATURE_NAMESPACE = 'strongbox';

export interface ArtifactRecord {
  /** Unique within the backup, e.g. `postgres-appdb`, `files-uploads`; `--only NAME` selects it. */
  name: string;
  kind: ArtifactKind;
  /** Object key relative to the backup folder, e.g. `postgres-appdb.dump.zst.age`. */
  key: string;
  source: SourceDetails;
  /** Rows per table as the dump's own snapshot saw them (databases); a restore must find the same. */
  rowCounts?: RowCounts;
  /** How they were counted: `exact`, or `estimate` (the engine's statistics, not compared on restore). */
  rowCountMode?: RowCountMode;
  compression: { algorithm: Compression; level?: number };
  encryption: { scheme: 'age' | 'none' };
  plaintext: { size: number; sha256: string };
  stored: { size: number; sha256: string };
  /**
   * A collection (bucket objects, an incremental tree): `key`, `plaintext` and `stored` then
   * describe its index, and this its members and packs (src/core/collection/format.ts).
   */
  collection?: CollectionInfo;
}

export interface Origin {
  host: string;
  repository?: string;
  workflow?: string;
  runId?: string;
  runAttempt?: string;
  sha?: string;
  ref?: string;
  actor?: string;
  eventName?: string;
  /**
   * The code whose data this is: the release running against the database when the backup
   * was taken (`--deployed-sha`). A pre-deploy snapshot is taken by the run deploying the
   * *next* release, so `sha` names that release, not the one to redeploy on rollback.
   */
  deployedSha?: string;
  deployedRef?: string;
}

export interface Manifest {
  format: string;
  id: string;
  labels: string[];
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  tool: { name: 'strongbox'; version: string };
  origin: Origin;
  encryption: {
    scheme: 'age' | 'none';
    /** SHA-256 fingerprints (first 16 hex digits) of the age recipients; 'scrypt' marks a passphrase. */
    recipients: string[];
  };
  artifacts: ArtifactRecord[];
  /** What the team records with the backup (`metadata:` in strongbox.yml, `--meta`); absent when none. */
  metadata?: Record<string, string>;
  /** Anomalies found against the series' history when the backup was taken; absent when none. */
  alerts?: Alert[];
}
