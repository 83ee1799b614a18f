import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { UsageError } from '../shared/errors.js';

/**
 * Provider presets. AWS S3 gets the SDK's defaults. Every other store gets
 * `requestChecksumCalculation`/`responseChecksumValidation: 'WHEN_REQUIRED'`: since
 * @aws-sdk/client-s3 3.729.0 the SDK adds CRC32 checksum headers (x-amz-checksum-crc32,
 * x-amz-sdk-checksum-algorithm) to every upload by default, and B2, R2 (before it learned
 * CRC32), MinIO releases of that time and other S3-compatible stores reject them
 * (e.g. R2: "501 NotImplemented: Header 'x-amz-checksum-crc32' ... not implemented").
 * Strongbox does not depend on those checksums: it hashes every artifact itself and confirms
 * the stored bytes before the manifest is written.
 */
export const S3_PRESETS = ['aws', 'b2', 'r2', 'minio', 'generic'] as const;
export type S3Preset = (typeof S3_PRESETS)[number];

export interface S3Location {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing '/'; '' for the bucket root. */
  prefix?: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  preset?: S3Preset | string;
}

export interface ResolvedS3Config {
  preset: S3Preset;
  /** Options for `new S3Client(...)`; credentials are left to the SDK's default chain. */
  client: S3ClientConfig & {
    region?: string;
    endpoint?: string;
    forcePathStyle: boolean;
    requestChecksumCalculation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
    responseChecksumValidation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
  };
}

/** Picks the preset from the endpoint's host when none was given. */
export function detectPreset(endpoint: string | undefined): S3Preset {
  if (!endpoint) return 'aws';
  const host = parseEndpoint(endpoint).hostname.toLowerCase();
  if (host === 'amazonaws.com' || host.endsWith('.amazonaws.com')) return 'aws';
  if (host.endsWith('.backblazeb2.com')) return 'b2';
  if (host.endsWith('.r2.cloudflarestorage.com')) return 'r2';
  return 'generic';
}

/**
 * Turns a location and the user's flags into S3Client options. `env` is consulted only for a
 * region the flags leave open (AWS_REGION / AWS_DEFAULT_REGION), so that a non-AWS endpoint does
 * not lose a region the user configured the usual way.
 */
export function resolveS3Config(loc: S3Location, env: Record<string, string | undefined> = {}): ResolvedS3Config {
  const endpoint = loc.endpoint ? normalizeEndpoint(loc.endpoint) : undefined;
  const preset = checkPreset(loc.preset) ?? detectPreset(endpoint);
  if (!endpoint && preset !== 'aws') {
    throw new UsageError(`the ${preset} preset needs an endpoint`, `${ENDPOINT_HINT[preset]}, or endpoint=… in the location's query`);
  }
  const envRegion = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  let region = loc.region || undefined;
  if (!region && preset === 'r2') region = 'auto';
  if (!region && preset === 'b2' && endpoint) region = b2Region(endpoint);
  if (!region && preset === 'aws' && endpoint) region = awsRegion(endpoint);
  // Other stores mostly ignore the region, but SigV4 needs one. (AWS without one is left to
  // the SDK's chain, which fails with "Region is missing" if that finds none either.)
  if (!region && endpoint && preset !== 'aws') region = envRegion ?? 'us-east-1';

  const client: ResolvedS3Config['client'] = {
    // Without region or endpoint the SDK's own chain (AWS_REGION, profile) decides.
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: loc.forcePathStyle ?? (preset === 'minio' || preset === 'generic'),
  };
  if (preset !== 'aws') {
    client.requestChecksumCalculation = 'WHEN_REQUIRED';
    client.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  return { preset, client };
}

const ENDPOINT_HINT: Record<S3Preset, string> = {
  aws: '',
  b2: 'pass --endpoint https://s3.<region>.backblazeb2.com (shown on the bucket page)',
  r2: 'pass --endpoint https://<account-id>.r2.cloudflarestorage.com',
  minio: 'pass --endpoint http://host:9000 (the MinIO API address)',
  generic: "pass --endpoint with the store's S3 API address",
};

function checkPreset(preset: string | undefined): S3Preset | undefined {
  if (preset === undefined || preset === '') return undefined;
  const p = preset.toLowerCase();
  if ((S3_PRESETS as readonly string[]).includes(p)) return p as S3Preset;
  throw new UsageError(`unknown S3 preset "${preset}"`, `use one of: ${S3_PRESETS.join(', ')}`);
}

/** `s3.us-west-004.backblazeb2.com` → `us-west-004`. */
function b2Region(endpoint: string): string | undefined {
  const m = /^s3\.([a-z0-9-]+)\.backblazeb2\.com$/.exec(parseEndpoint(endpoint).hostname.toLowerCase());
  return m?.[1];
}

/** `s3.eu-west-1.amazonaws.com`, `bucket.s3-us-west-2.amazonaws.com`, `…vpce.amazonaws.com` → the region. */
function awsRegion(endpoint: string): string | undefined {
  const host = parseEndpoint(endpoint).hostname.toLowerCase();
  if (host === 's3.amazonaws.com') return 'us-east-1';
  for (const label of host.split('.')) {
    const candidate = label.replace(/^s3-/, '');
    if (/^[a-z]{2}(-gov)?-[a-z]+-\d+$/.test(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Accepts `https://host[:port][/path]` or a bare `host[:port]` (https assumed). Refuses
 * credentials in the URL without repeating them: they would end up in logs.
 */
export function normalizeEndpoint(raw: string): string {
  const value = raw.trim();
  const url = parseEndpoint(value);
  // Not repeated: a query is where a presigned URL carries its signature.
  if (url.search || url.hash) throw new UsageError(`the S3 endpoint ${url.protocol}//${url.host} must not have a query or fragment (the rest is not shown)`, 'give the bare address, e.g. https://s3.us-west-004.backblazeb2.com');
  return url.toString().replace(/\/$/, '');
}

function parseEndpoint(value: string): URL {
  // Checked before anything could echo the value: a password may contain any character.
  if (value.includes('@')) {
    throw new UsageError(
      'the S3 endpoint must not contain credentials (user:password@host); the value is not shown',
      'give the bare address, e.g. https://minio.example.com:9000, and pass credentials as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY',
    );
  }
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`);
  } catch {
    throw new UsageError(`the S3 endpoint "${value}" is not a valid URL`, 'use e.g. https://s3.us-west-004.backblazeb2.com or http://127.0.0.1:9000');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`the S3 endpoint "${value}" must start with https:// or http://`);
  }
  return url;
}
