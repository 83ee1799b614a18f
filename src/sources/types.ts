import type { Readable } from 'node:stream';

export type ArtifactKind = 'postgres' | 'files';

/** Facts about a source that go into the manifest (never credentials). */
export type SourceDetails = Record<string, string | number | boolean>;

/**
 * A running dump. `stream` is the plaintext; `completed` settles when the producer has
 * finished: it rejects if the dump failed or was killed (exit status, signal, stderr), so the
 * core never commits a backup whose producer did not succeed even if the bytes looked fine.
 */
export interface SourceDump {
  stream: Readable;
  completed: Promise<void>;
  details: SourceDetails;
}
