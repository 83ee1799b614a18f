import { UsageError } from '../shared/errors.js';
import { sensitiveEnv } from '../shared/sensitive-env.js';
import { printable } from '../shared/text.js';
import { parseSize } from '../shared/size.js';
import { URL_HINT, type DestinationFactory, type DestinationOptions, type Env } from './location.js';
import { MAX_PART_SIZE, MIN_PART_SIZE, partSizeSetting, S3Destination, type S3Credentials, type S3DestinationOptions } from './s3.js';

/** The settings an S3 location may carry in its query: `s3://bucket/prefix?endpoint=…&credentials=NAME`. */
export interface S3LocationSettings {
  endpoint?: string;
  region?: string;
  preset?: string;
  pathStyle?: boolean;
  /** An environment variable prefix: NAME_ACCESS_KEY_ID, NAME_SECRET_ACCESS_KEY, NAME_SESSION_TOKEN. */
  credentials?: string;
  /** Multipart part size of uploads to this location, in bytes (`part-size=64MiB`). */
  partSize?: number;
}

export interface ParsedS3Url {
  bucket: string;
  prefix: string;
  /** `s3://bucket/prefix`, the part of the URL that may be shown. */
  shown: string;
  settings: S3LocationSettings;
}

const PARAMETERS = ['endpoint', 'region', 'preset', 'path-style', 'credentials', 'part-size'] as const;
type Parameter = (typeof PARAMETERS)[number];

const CREDENTIALS_HINT =
  'put credentials=NAME in the location and export NAME_ACCESS_KEY_ID and NAME_SECRET_ACCESS_KEY (e.g. from repository secrets), ' +
  'or leave credentials out to use the AWS SDK chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, OIDC from aws-actions/configure-aws-credentials)';

/**
 * Names that carry secrets: access keys, tokens, passwords, presigned-URL parameters
 * (X-Amz-Signature, X-Amz-Credential, …, and the older Signature/AWSAccessKeyId). Compared
 * lower-cased with '_' read as '-'.
 */
const SECRET_NAME = /secret|passw|pwd|token|signature|^sig$|^x-amz-|access-?key|^key$|api-?key|^auth|private/;
/** What a parameter name looks like; anything else is not shown (it may be a pasted secret). */
const PLAIN_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,31}$/;
/** An AWS access key id pasted where a name goes. */
const KEY_ID = /^(AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Splits `s3://bucket/prefix?query` into its parts and checks the query. Nothing that may be a
 * secret is ever repeated in an error: not the query, not a value, not a name that does not
 * look like a parameter name.
 */
export function parseS3Url(value: string): ParsedS3Url {
  const rest = value.slice('s3://'.length);
  const cut = rest.search(/[?#]/);
  const path = cut < 0 ? rest : rest.slice(0, cut);
  const slash = path.indexOf('/');
  const bucket = slash < 0 ? path : path.slice(0, slash);
  const prefix = slash < 0 ? '' : path.slice(slash + 1);
  const shown = printable(`s3://${path}`);
  if (rest.includes('#')) {
    throw new UsageError(`the location ${shown} has a fragment (#…), which is not shown; S3 locations take settings only as ?name=value`, URL_HINT);
  }
  if (!bucket) throw new UsageError(`the location ${shown} names no bucket`, URL_HINT);
  return { bucket, prefix, shown, settings: cut < 0 ? {} : parseQuery(rest.slice(cut + 1), shown) };
}

function parseQuery(query: string, shown: string): S3LocationSettings {
  const pieces = query.split('&').filter((p) => p !== '');
  const entries = pieces.map((piece) => {
    const eq = piece.indexOf('=');
    // URLSearchParams decodes as browsers do ('+' is a space, %XX); a bad escape stays as typed.
    const [name, value] = [...new URLSearchParams(eq < 0 ? `${piece}=` : piece)][0] ?? ['', ''];
    return { name, value, hasValue: eq >= 0 };
  });
  // Secrets first, whatever else is wrong: the refusal must come before any other message.
  for (const { name } of entries) {
    const norm = name.toLowerCase().replaceAll('_', '-');
    if (SECRET_NAME.test(norm)) {
      const named = PLAIN_NAME.test(name) ? ` (parameter ${name})` : '';
      throw new UsageError(`the location ${shown} holds a secret in its query${named}; the URL is not shown, and secrets are never taken from it`, CREDENTIALS_HINT);
    }
    if (!PLAIN_NAME.test(name) || KEY_ID.test(name)) {
      throw new UsageError(
        `the location ${shown} has a query part that is no parameter name (not shown: it may be a secret)`,
        `settings are ?name=value with names ${PARAMETERS.join(', ')}; ${CREDENTIALS_HINT}`,
      );
    }
  }
  const seen = new Map<Parameter, string>();
  for (const { name, value, hasValue } of entries) {
    if (!(PARAMETERS as readonly string[]).includes(name)) {
      throw new UsageError(`the location ${shown} has an unknown query parameter "${name}" (its value is not shown)`, `known parameters: ${PARAMETERS.join(', ')}`);
    }
    const p = name as Parameter;
    if (seen.has(p)) throw new UsageError(`the location ${shown} gives ${p} twice`, `give each parameter once`);
    if (!hasValue || value.trim() === '') {
      throw new UsageError(`the location ${shown} has an empty ${p}`, `give ${p}=VALUE, or leave the parameter out${p === 'credentials' ? ' to use the AWS SDK chain' : ''}`);
    }
    seen.set(p, value.trim());
  }
  const settings: S3LocationSettings = {};
  if (seen.has('endpoint')) settings.endpoint = seen.get('endpoint');
  if (seen.has('region')) settings.region = seen.get('region');
  if (seen.has('preset')) settings.preset = seen.get('preset');
  const pathStyle = seen.get('path-style');
  if (pathStyle !== undefined) {
    const v = pathStyle.toLowerCase();
    if (v !== 'true' && v !== 'false') throw new UsageError(`the location ${shown} has path-style=${printable(pathStyle)}; it must be true or false`);
    settings.pathStyle = v === 'true';
  }
  const credentials = seen.get('credentials');
  if (credentials !== undefined) {
    if (!ENV_NAME.test(credentials)) {
      throw new UsageError(`the location ${shown} has credentials=… that is no environment variable prefix (not shown)`, `credentials=NAME, NAME made of letters, digits and _, reads NAME_ACCESS_KEY_ID and NAME_SECRET_ACCESS_KEY`);
    }
    settings.credentials = credentials;
  }
  const partSize = seen.get('part-size');
  if (partSize !== undefined) settings.partSize = parsePartSize(partSize, shown);
  return settings;
}

/**
 * `part-size=64MiB`: S3 takes parts of 5 MiB to 5 GiB and at most 10,000 of them, so the part
 * size bounds the largest object; the uploader holds up to (4 + 1) parts in memory.
 */
function parsePartSize(value: string, shown: string): number {
  const bytes = parseSize(value, `part-size of ${shown}`);
  if (bytes < MIN_PART_SIZE || bytes > MAX_PART_SIZE) {
    throw new UsageError(`part-size of ${shown} is ${printable(value)}, outside S3's limits of 5MiB to 5GiB`, 'e.g. part-size=64MiB (objects up to 625 GiB)');
  }
  return bytes;
}

/**
 * Reads NAME_ACCESS_KEY_ID, NAME_SECRET_ACCESS_KEY and the optional NAME_SESSION_TOKEN. Every
 * one is kept from child processes; a missing one is named, its value never shown.
 */
export function readCredentials(name: string, env: Env, shown: string): S3Credentials {
  const vars = { id: `${name}_ACCESS_KEY_ID`, secret: `${name}_SECRET_ACCESS_KEY`, token: `${name}_SESSION_TOKEN` };
  for (const v of Object.values(vars)) sensitiveEnv.add(v);
  const need = (variable: string): string => {
    const v = env[variable];
    if (v === undefined || v.trim() === '') {
      throw new UsageError(
        `environment variable ${variable} is ${v === undefined ? 'unset' : 'empty'} (credentials=${name} of ${shown})`,
        `export ${vars.id} and ${vars.secret} for this store (an unset repository secret expands to ""), or check the NAME in credentials=`,
      );
    }
    return v.trim();
  };
  const creds: S3Credentials = { accessKeyId: need(vars.id), secretAccessKey: need(vars.secret) };
  const token = env[vars.token]?.trim();
  if (token) creds.sessionToken = token;
  return creds;
}

/** The query of every setting in effect, so a printed command works without the flags. */
function locationQuery(s: S3LocationSettings): string {
  const q = new URLSearchParams();
  if (s.endpoint) q.set('endpoint', s.endpoint);
  if (s.region) q.set('region', s.region);
  if (s.preset) q.set('preset', s.preset);
  if (s.pathStyle !== undefined) q.set('path-style', String(s.pathStyle));
  if (s.credentials) q.set('credentials', s.credentials);
  if (s.partSize) q.set('part-size', partSizeSetting(s.partSize));
  const query = q.toString().replace(/%3A/gi, ':').replace(/%2F/gi, '/');
  return query ? `?${query}` : '';
}

/**
 * The S3Destination options a location stands for: its own settings win, per key, over the
 * global flags; `credentials=NAME` is read from `env` here. Also used by the bucket source and
 * target (src/sources/bucket/), which talk to the same kind of store.
 */
export function s3Options(value: string, globals: DestinationOptions, env: Env): S3DestinationOptions {
  const { bucket, prefix, shown, settings: own } = parseS3Url(value);
  const endpoint = own.endpoint ?? (globals.endpoint || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined);
  const region = own.region ?? (globals.region || undefined);
  const preset = own.preset ?? (globals.preset || undefined);
  // The flag can only turn path style on; unset, the preset decides.
  const pathStyle = own.pathStyle ?? (globals.pathStyle ? true : undefined);
  return {
    bucket,
    prefix,
    endpoint,
    region,
    preset,
    forcePathStyle: pathStyle,
    locationQuery: locationQuery({ endpoint, region, preset, pathStyle, credentials: own.credentials, partSize: own.partSize }),
    ...(own.credentials
      ? { credentials: readCredentials(own.credentials, env, shown), credentialsSource: `${own.credentials}_ACCESS_KEY_ID / ${own.credentials}_SECRET_ACCESS_KEY (credentials=${own.credentials})` }
      : {}),
    partSize: own.partSize ?? globals.partSize,
    env,
  };
}

/** `s3://bucket/prefix[?settings]`: a location's own settings win, per key, over the global flags. */
export const s3Factory: DestinationFactory = {
  scheme: 's3',
  form: 's3://bucket/prefix?endpoint=…&region=…&preset=…&path-style=true&credentials=NAME',
  open(value: string, globals: DestinationOptions, env: Env) {
    return new S3Destination(s3Options(value, globals, env));
  },
};
