import { S3Destination } from '../../destinations/s3.js';
import { parseS3Url, s3Options } from '../../destinations/s3-location.js';
import type { DestinationOptions, Env } from '../../destinations/location.js';
import { UsageError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import type { BucketConnection, TargetContext } from '../adapter.js';

export const BUCKET_FORM = 's3://bucket/prefix?endpoint=…&region=…&preset=…&credentials=NAME';

/** An S3 bucket and prefix, read as a source or written as a target. Names are keys relative to `prefix`. */
export interface OpenedBucket {
  /** Reused for its client, its error messages (`failure`) and its display; never for key rules (a source's keys may be anything). */
  store: S3Destination;
  bucket: string;
  /** '' or a prefix ending in '/'. */
  prefix: string;
  display: string;
}

export function checkBucketUrl(location: string, flag: string): void {
  if (!/^s3:\/\//i.test(location.trim())) {
    throw new UsageError(`${flag} "${printable(location.replace(/[?#].*$/s, ''))}" is not an S3 location`, `give ${BUCKET_FORM}`);
  }
  parseS3Url(location.trim().replace(/^s3:/i, 's3:'));
}

/**
 * What the edges resolve for a bucket location: its settings over the storage flags, and the
 * credentials=NAME variables read from `env`. The result holds secrets (mask `credentials`).
 */
export function resolveBucketConnection(location: string, globals: DestinationOptions, env: Env, flag = '--bucket'): BucketConnection {
  checkBucketUrl(location, flag);
  const o = s3Options(location.trim(), globals, env);
  return {
    endpoint: o.endpoint,
    region: o.region,
    preset: o.preset,
    forcePathStyle: o.forcePathStyle,
    ...(o.credentials ? { credentials: o.credentials, credentialsSource: o.credentialsSource } : {}),
    ...(o.partSize ? { partSize: o.partSize } : {}),
    env: pick(env, ['AWS_REGION', 'AWS_DEFAULT_REGION']),
  };
}

/** The secrets a connection holds, for masking. */
export function connectionSecrets(c: BucketConnection | undefined): string[] {
  const k = c?.credentials;
  return k ? [k.accessKeyId, k.secretAccessKey, ...(k.sessionToken ? [k.sessionToken] : [])] : [];
}

/** Parts of a member a restore uploads when the location sets no `part-size` (members up to 78 GiB). */
export const MEMBER_PART_SIZE = 8 * 1024 * 1024;

export function openBucket(location: string, connection: BucketConnection | undefined): OpenedBucket {
  const { bucket, prefix } = parseS3Url(location.trim());
  const c = connection ?? {};
  const store = new S3Destination({
    bucket,
    prefix,
    endpoint: c.endpoint,
    region: c.region,
    preset: c.preset,
    forcePathStyle: c.forcePathStyle,
    ...(c.credentials ? { credentials: c.credentials, credentialsSource: c.credentialsSource } : {}),
    // A restore uploads large members in parts of this size (8 MiB, as the AWS CLI, unless set).
    partSize: c.partSize ?? MEMBER_PART_SIZE,
    env: c.env ?? {},
  });
  return { store, bucket: store.bucket, prefix: store.prefix, display: store.display };
}

function pick(env: Env, names: string[]): Env {
  const out: Env = {};
  for (const n of names) if (env[n] !== undefined) out[n] = env[n];
  return out;
}

/** A target's connection: the one the edges resolved, else the URL's own settings and the SDK's credential chain. */
export function targetConnection(target: string, ctx: Pick<TargetContext, 'bucket'>): BucketConnection {
  return ctx.bucket ?? resolveBucketConnection(target, {}, {}, '--bucket-target');
}
