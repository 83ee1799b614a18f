import { UsageError } from '../shared/errors.js';
import { printable } from '../shared/text.js';
import { LocalDestination } from './local.js';
import { S3Destination } from './s3.js';
import type { Destination } from './types.js';

export { LocalDestination } from './local.js';
export { S3Destination } from './s3.js';
export type { Destination, ObjectInfo } from './types.js';

export interface DestinationOptions {
  /** S3 API address for non-AWS stores, e.g. https://s3.us-west-004.backblazeb2.com. */
  endpoint?: string;
  region?: string;
  /** Path-style requests (http://host/bucket/key), as MinIO and most self-hosted stores need. */
  pathStyle?: boolean;
  /** aws | b2 | r2 | minio | generic; detected from the endpoint when absent. */
  preset?: string;
  /** Multipart part size in bytes (default 16 MiB, so objects up to 156 GiB). */
  partSize?: number;
  /**
   * Where AWS_REGION / AWS_ENDPOINT_URL_S3 are looked up (default process.env). The SDK would
   * use AWS_ENDPOINT_URL_S3 on its own; reading it here lets the preset match that endpoint.
   */
  env?: Record<string, string | undefined>;
}

const URL_HINT = 'use a folder path, file:///path, or s3://bucket/prefix';

/**
 * Opens a destination from what a user typed: a local path, `file:///path` or
 * `s3://bucket/prefix`. Credentials never come from the URL; one that holds some is refused
 * without being repeated.
 */
export function openDestination(url: string, opts: DestinationOptions = {}): Destination {
  const value = (url ?? '').trim();
  if (!value) throw new UsageError('the destination is empty', URL_HINT);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();

  if (scheme === undefined) {
    // Windows drive paths (C:\…) and everything without "scheme://" are local paths. S3 flags
    // are ignored here: one set of flags serves every --to, local or not.
    if (value === '~' || value.startsWith('~/')) {
      throw new UsageError(`the destination "${printable(value)}" starts with ~, which is not expanded here`, 'use an absolute path or $HOME');
    }
    return new LocalDestination(value);
  }

  // Checked before anything else could echo the value: a secret may hold any character.
  if (hasUserInfo(value)) {
    throw new UsageError(
      `the destination ${scheme}://… contains "@", taken for embedded credentials (user:password@); the value is not shown`,
      'remove them from the URL and pass them as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY secrets, or use OIDC (aws-actions/configure-aws-credentials)',
    );
  }

  if (scheme === 'file') {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new UsageError(`the destination "${printable(value)}" is not a valid file URL`, URL_HINT);
    }
    if (parsed.hostname && parsed.hostname !== 'localhost') {
      throw new UsageError(`the destination "${printable(value)}" names host ${printable(parsed.hostname)}; file URLs must be local`, 'mount the share and give its local path');
    }
    if (parsed.search || parsed.hash) throw new UsageError(`the destination "${printable(value)}" must not have a query or fragment`, URL_HINT);
    return new LocalDestination(decodeURIComponent(parsed.pathname));
  }

  if (scheme === 's3') {
    const rest = value.slice('s3://'.length);
    if (/[?#]/.test(rest)) throw new UsageError(`the destination "${printable(value)}" must not have a query or fragment`, URL_HINT);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1);
    if (!bucket) throw new UsageError(`the destination "${printable(value)}" names no bucket`, URL_HINT);
    const env = opts.env ?? process.env;
    return new S3Destination({
      bucket,
      prefix,
      endpoint: opts.endpoint || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined,
      region: opts.region,
      forcePathStyle: opts.pathStyle,
      preset: opts.preset,
      partSize: opts.partSize,
      env,
    });
  }

  throw new UsageError(`the destination "${printable(value)}" has an unsupported scheme ${scheme}://`, URL_HINT);
}

/** True for `scheme://user[:password]@…`, also when the secret holds '/' or ':' characters. */
function hasUserInfo(value: string): boolean {
  return value.includes('@');
}
