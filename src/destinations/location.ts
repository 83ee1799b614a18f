import type { Destination } from './types.js';

export type Env = Record<string, string | undefined>;

/**
 * The global storage flags (`--endpoint`, `--region`, `--path-style`, `--preset`, or the
 * actions' inputs of those names). They apply to every S3 location that does not set the same
 * key in its own query; local folders ignore them.
 */
export interface DestinationOptions {
  /** S3 API address for non-AWS stores, e.g. https://s3.us-west-004.backblazeb2.com. */
  endpoint?: string;
  region?: string;
  /** Path-style requests (http://host/bucket/key), as MinIO and most self-hosted stores need. Only `true` counts: the flag can only turn it on. */
  pathStyle?: boolean;
  /** aws | b2 | r2 | minio | generic; detected from the endpoint when absent. */
  preset?: string;
  /** Multipart part size in bytes (default 16 MiB, so objects up to 156 GiB). */
  partSize?: number;
  /**
   * Where AWS_REGION / AWS_ENDPOINT_URL_S3 and the `credentials=NAME` variables are looked up
   * (default process.env). The SDK would use AWS_ENDPOINT_URL_S3 on its own; reading it here
   * lets the preset match that endpoint.
   */
  env?: Env;
}

/**
 * One kind of store, chosen by the location's URL scheme (restic's location registry): adding a
 * store is a file with one of these and a line in registry.ts.
 */
export interface DestinationFactory {
  /** `s3` for `s3://…`; '' for a plain path (anything without `scheme://`). */
  readonly scheme: string;
  /** One line for `--help` texts and hints, e.g. `s3://bucket/prefix?endpoint=…`. */
  readonly form: string;
  /**
   * Opens the location the user typed (trimmed, never empty). Refuses what it cannot use with
   * a UsageError that never repeats a value that may be a secret.
   */
  open(value: string, globals: DestinationOptions, env: Env): Destination;
}

export const URL_HINT = 'use a folder path, file:///path, or s3://bucket/prefix[?endpoint=…&region=…&credentials=NAME]';

/** The part of a URL that may be shown: everything before its query or fragment. */
export function withoutQuery(value: string): string {
  const cut = value.search(/[?#]/);
  return cut < 0 ? value : `${value.slice(0, cut)}${value[cut] === '?' ? '?…' : '#…'}`;
}
