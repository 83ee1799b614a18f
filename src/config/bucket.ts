import type { DestinationOptions, Env } from '../destinations/location.js';
import type { Reporter } from '../shared/reporter.js';
import type { BucketConnection, SourceOptions, SourceSpec } from '../sources/adapter.js';
import { connectionSecrets, resolveBucketConnection } from '../sources/bucket/index.js';

/**
 * A bucket source as the edges give it (`--bucket URL`, `- bucket: URL`, input bucket): its
 * settings over the storage flags, credentials=NAME read from `env` now and masked before
 * anything can print them. The source then never looks at the environment.
 */
export function bucketSource(location: string, storage: DestinationOptions, env: Env, reporter: Reporter, extra: Pick<SourceOptions, 'allVersions' | 'compare'> = {}): SourceSpec {
  const bucket = resolveBucketConnection(location, storage, env);
  for (const secret of connectionSecrets(bucket)) reporter.setSecret(secret);
  return {
    kind: 'bucket',
    location: location.trim(),
    options: { bucket, ...(extra.allVersions ? { allVersions: true } : {}), ...(extra.compare ? { compare: extra.compare } : {}) },
  };
}

/** `--bucket-target URL` (input bucket-target): its connection, credentials read from `env` and masked now. */
export function bucketTarget(location: string, storage: DestinationOptions, env: Env, reporter: Reporter): BucketConnection {
  const c = resolveBucketConnection(location, storage, env, '--bucket-target');
  for (const secret of connectionSecrets(c)) reporter.setSecret(secret);
  return c;
}
