import { UsageError } from '../shared/errors.js';
import { printable } from '../shared/text.js';
import { URL_HINT, withoutQuery, type DestinationOptions, type Env } from './location.js';
import { destinationFactories, findDestinationFactory } from './registry.js';
import type { Destination } from './types.js';

export { LocalDestination } from './local.js';
export { S3Destination } from './s3.js';
export type { Destination, ObjectInfo } from './types.js';
export { objectName } from './types.js';
export type { DestinationFactory, DestinationOptions } from './location.js';
export { destinationFactories } from './registry.js';

/**
 * Opens a destination from what a user typed: a local path, `file:///path` or
 * `s3://bucket/prefix[?endpoint=…&region=…&preset=…&path-style=…&credentials=NAME]`, through
 * the scheme registry. `globals` (the storage flags) fill what an S3 location leaves unset.
 * Credentials never come from the URL: one that holds some is refused without being repeated.
 */
export function openDestination(url: string, globals: DestinationOptions = {}, env: Env = globals.env ?? process.env): Destination {
  const value = (url ?? '').trim();
  if (!value) throw new UsageError('the destination is empty', URL_HINT);
  // Windows drive paths (C:\…) and everything without "scheme://" are local paths.
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase() ?? '';

  // Checked before anything else could echo the value: a secret may hold any character.
  if (scheme && hasUserInfo(value)) {
    throw new UsageError(
      `the destination ${scheme}://… contains "@", taken for embedded credentials (user:password@); the value is not shown`,
      'remove them from the URL; for S3 put credentials=NAME in the location and export NAME_ACCESS_KEY_ID / NAME_SECRET_ACCESS_KEY, or use the AWS_* variables or OIDC (aws-actions/configure-aws-credentials)',
    );
  }
  const factory = findDestinationFactory(scheme);
  if (!factory) {
    throw new UsageError(
      `the destination "${printable(withoutQuery(value))}" has an unsupported scheme ${printable(scheme)}://`,
      `use one of: ${destinationFactories.map((f) => f.form).join(', ')}`,
    );
  }
  return factory.open(value, globals, env);
}

/** True for `scheme://user[:password]@…`, also when the secret holds '/' or ':' characters. */
function hasUserInfo(value: string): boolean {
  return value.includes('@');
}
