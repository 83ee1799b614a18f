import { describe, expect, it } from 'vitest';
import { openDestinations } from '../../src/config/settings.js';
import { openDestination, type DestinationOptions } from '../../src/destinations/index.js';
import { LocalDestination } from '../../src/destinations/local.js';
import { destinationFactories } from '../../src/destinations/registry.js';
import { S3Destination } from '../../src/destinations/s3.js';
import { parseS3Url } from '../../src/destinations/s3-location.js';
import { MEMBER_PART_SIZE, openBucket, resolveBucketConnection } from '../../src/sources/bucket/connection.js';
import { UsageError } from '../../src/shared/errors.js';
import { ConsoleReporter } from '../../src/shared/reporter.js';
import { childEnvironment } from '../../src/shared/sensitive-env.js';

const R2 = 'https://acct.r2.cloudflarestorage.com';
const B2 = 'https://s3.us-west-004.backblazeb2.com';
const MARK = 'Sekr1tV4lue';
const CREDS = { R2_ACCESS_KEY_ID: 'R2KEYID0001', R2_SECRET_ACCESS_KEY: `r2-${MARK}/+x` };

function s3(url: string, globals: DestinationOptions = {}, env: Record<string, string | undefined> = {}): S3Destination {
  const d = openDestination(url, globals, env);
  expect(d).toBeInstanceOf(S3Destination);
  return d as S3Destination;
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return `${(err as UsageError).message}\n${(err as UsageError).hint ?? ''}`;
  }
  throw new Error('expected a UsageError');
}

describe('the destination registry', () => {
  it('serves plain paths, file:// and s3:// by scheme, once each', () => {
    expect(destinationFactories.map((f) => f.scheme)).toEqual(['', 'file', 's3']);
    expect(openDestination('/srv/b', {}, {})).toBeInstanceOf(LocalDestination);
    expect(openDestination('FILE:///srv/b', {}, {})).toBeInstanceOf(LocalDestination);
    expect(openDestination('S3://b/p', {}, {})).toBeInstanceOf(S3Destination);
  });

  it('names every supported form when the scheme is unknown, never a query', () => {
    const text = refusal(() => openDestination(`https://b.s3.amazonaws.com/x?X-Amz-Signature=${MARK}`, {}, {}));
    expect(text).toMatch(/unsupported scheme https:\/\//);
    expect(text).toMatch(/file:\/\/\/path.*s3:\/\/bucket\/prefix\?endpoint=/);
    expect(text).not.toContain(MARK);
  });
});

describe('S3 location settings', () => {
  it.each([
    // [url, preset, region, path style, display]
    [`s3://db/nightly?endpoint=${R2}`, 'r2', 'auto', false, 's3://db/nightly (acct.r2.cloudflarestorage.com)'],
    [`s3://db/nightly?endpoint=${encodeURIComponent(B2)}`, 'b2', 'us-west-004', false, 's3://db/nightly (s3.us-west-004.backblazeb2.com)'],
    ['s3://db?endpoint=http://10.0.0.5:9000&preset=minio&region=eu-west-1', 'minio', 'eu-west-1', true, 's3://db (10.0.0.5:9000)'],
    ['s3://db/p?endpoint=http://10.0.0.5:9000&path-style=false', 'generic', 'us-east-1', false, 's3://db/p (10.0.0.5:9000)'],
    ['s3://db/p?endpoint=http://10.0.0.5:9000&path-style=TRUE&', 'generic', 'us-east-1', true, 's3://db/p (10.0.0.5:9000)'],
    ['s3://db/p?region=eu-central-1', 'aws', 'eu-central-1', false, 's3://db/p'],
  ])('%s', async (url, preset, region, pathStyle, display) => {
    const d = s3(url);
    expect(d.preset).toBe(preset);
    expect(await (await d.client()).config.region()).toBe(region);
    expect((await d.client()).config.forcePathStyle).toBe(pathStyle);
    expect(d.display).toBe(display);
    expect(d.secrets).toEqual([]);
  });

  it.each([
    ['s3://b/p?endpoint=http://a:1&endpoint=http://b:2', /gives endpoint twice/],
    ['s3://b/p?region=x&region=x', /gives region twice/],
    ['s3://b/p?versionId=3', /unknown query parameter "versionId"/],
    ['s3://b/p?Endpoint=http://a:1', /unknown query parameter "Endpoint".*\n.*known parameters: endpoint, region, preset, path-style, credentials, part-size/],
    ['s3://b/p?part-size=4MiB', /part-size of s3:\/\/b\/p is 4MiB, outside S3's limits of 5MiB to 5GiB/],
    ['s3://b/p?part-size=6GiB', /outside S3's limits/],
    ['s3://b/p?part-size=lots', /part-size of s3:\/\/b\/p "lots" is not a size/],
    ['s3://b/p?endpoint=', /empty endpoint/],
    ['s3://b/p?region', /empty region/],
    ['s3://b/p?credentials=%20', /empty credentials/],
    ['s3://b/p?path-style=yes', /path-style=yes; it must be true or false/],
    ['s3://b/p?preset=wasabi&endpoint=http://a:1', /unknown S3 preset "wasabi"/],
    ['s3://b/p?preset=r2', /r2 preset needs an endpoint.*\n.*endpoint=… in the location/],
    ['s3://b/p?credentials=R2-PROD', /credentials=… that is no environment variable prefix/],
    ['s3://b/p#x', /fragment/],
    ['s3://?endpoint=http://a:1', /names no bucket/],
  ])('refuses %s', (url, pattern) => {
    expect(refusal(() => openDestination(url, {}, {}))).toMatch(pattern);
  });

  it.each([
    'secret', 'secret-access-key', 'secret_access_key', 'aws_secret_access_key', 'AWS_SECRET_ACCESS_KEY', 'access-key', 'access-key-id',
    'accessKeyId', 'AWSAccessKeyId', 'session-token', 'session_token', 'token', 'password', 'X-Amz-Signature', 'X-Amz-Credential',
    'X-Amz-Security-Token', 'Signature', 'key', 'api-key',
  ])('refuses a secret in parameter %s without showing the URL', (name) => {
    const text = refusal(() => openDestination(`s3://b/p?endpoint=http://a:1&${name}=${MARK}`, {}, {}));
    expect(text).toMatch(/holds a secret in its query/);
    expect(text).toMatch(/credentials=NAME.*NAME_ACCESS_KEY_ID.*NAME_SECRET_ACCESS_KEY/);
    expect(text).not.toContain(MARK);
    expect(text).not.toContain('http://a:1');
  });

  it.each([
    [`s3://b/p?foo=1&secret=${MARK}`, /holds a secret/],
    [`s3://b/p?endpoint=x&endpoint=y&token=${MARK}`, /holds a secret/],
    ['s3://b/p?AKIAIOSFODNN7EXAMPLE', /no parameter name \(not shown/],
    [`s3://b/p?${MARK}%2FK7MDENG%2Bq=1`, /no parameter name \(not shown/],
    [`s3://b/p?endpoint=https://minio:${MARK}@host:9000`, /contains "@".*not shown/],
    [`s3://AKIAX:${MARK}@b/p`, /contains "@".*not shown/],
    [`s3://b/p?credentials=${MARK}-x`, /no environment variable prefix \(not shown\)/],
  ])('refuses %s, first for its secret, never repeating it', (url, pattern) => {
    const text = refusal(() => openDestination(url, {}, {}));
    expect(text).toMatch(pattern);
    expect(text).not.toContain(MARK);
    expect(text).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  it('leaves the query of a plain path alone, and refuses any on file:// without showing it', () => {
    expect(openDestination('/srv/what?ever#x', {}, {}).display).toBe('/srv/what?ever#x');
    const text = refusal(() => openDestination(`file:///srv/b?token=${MARK}`, {}, {}));
    expect(text).toMatch(/file:\/\/\/srv\/b\?… must not have a query/);
    expect(text).not.toContain(MARK);
    expect(refusal(() => openDestination('file:///srv/b?endpoint=http://a:1', {}, {}))).toMatch(/take no settings/);
  });

  it('parses the location into bucket, prefix and settings', () => {
    expect(parseS3Url(`s3://db/team/x?endpoint=${R2}&credentials=R2&path-style=true`)).toEqual({
      bucket: 'db',
      prefix: 'team/x',
      shown: 's3://db/team/x',
      settings: { endpoint: R2, credentials: 'R2', pathStyle: true },
    });
  });
});

describe('part-size: the multipart part size of uploads to one location', () => {
  it('is read with a unit and printed back in the location a command shows', () => {
    expect(parseS3Url('s3://b/p?part-size=64MiB').settings).toEqual({ partSize: 64 * 1024 * 1024 });
    expect(parseS3Url('s3://b/p?part-size=100MB').settings).toEqual({ partSize: 100e6 });
    expect(s3('s3://b/p?endpoint=http://a:1&part-size=64mib').location).toBe('s3://b/p?endpoint=http://a:1&part-size=64MiB');
    expect(s3('s3://b/p?endpoint=http://a:1').location).toBe('s3://b/p?endpoint=http://a:1');
  });

  it('turns "too many parts" into the setting to add, sized for 4× larger objects', () => {
    const tooMany = new Error('Exceeded 10000 parts in multipart upload to Bucket: b Key: p/x.');
    const byDefault = s3('s3://b/p?endpoint=http://a:1').failure('upload to s3://b/p/x', tooMany);
    expect(byDefault.hint).toBe('the object is larger than 10000 parts of 16 MiB (156.25 GiB): add part-size=64MiB to the location (objects up to 625 GiB), e.g. s3://b/…?part-size=64MiB');
    const set = s3('s3://b/p?endpoint=http://a:1&part-size=64MiB').failure('upload to s3://b/p/x', tooMany);
    expect(set.hint).toMatch(/10000 parts of 64 MiB \(625 GiB\): add part-size=256MiB .*objects up to 2500 GiB/);
    // Near the top, S3's 5 TiB object limit bounds the promise; at 5 GiB parts no setting helps.
    expect(s3('s3://b/p?endpoint=http://a:1&part-size=2GiB').failure('upload', tooMany).hint).toMatch(/add part-size=5120MiB .*objects up to 5120 GiB/);
    expect(s3('s3://b/p?endpoint=http://a:1&part-size=5GiB').failure('upload', tooMany).hint).toBe(
      'the object is larger than 10000 parts of 5 GiB (5120 GiB), the most S3 takes in one object',
    );
  });

  it('applies to a bucket target too: a restore uploads large members in its parts (8 MiB unless set)', () => {
    const set = resolveBucketConnection('s3://b/p?endpoint=http://a:1&part-size=32MiB', {}, {}, '--bucket-target');
    expect(openBucket('s3://b/p', set).store.partSize).toBe(32 * 1024 * 1024);
    expect(openBucket('s3://b/p', resolveBucketConnection('s3://b/p?endpoint=http://a:1', {}, {})).store.partSize).toBe(MEMBER_PART_SIZE);
    expect(MEMBER_PART_SIZE).toBe(8 * 1024 * 1024);
  });
});

describe('precedence: the location, then the global flag, then the environment', () => {
  const env = { AWS_ENDPOINT_URL_S3: 'http://from-env:1' };
  it.each([
    // [url, globals, endpoint host shown]
    ['s3://b/p?endpoint=http://own:1', { endpoint: 'http://global:1' }, 'own:1'],
    ['s3://b/p', { endpoint: 'http://global:1' }, 'global:1'],
    ['s3://b/p', {}, 'from-env:1'],
    ['s3://b/p?endpoint=http://own:1', {}, 'own:1'],
  ])('endpoint of %s with %j', (url, globals, host) => {
    expect(s3(url, globals, env).display).toBe(`s3://b/p (${host})`);
  });

  it.each([
    ['s3://b/p?region=own-1', { region: 'global-1' }, 'own-1'],
    ['s3://b/p', { region: 'global-1' }, 'global-1'],
    ['s3://b/p', {}, 'us-east-1'],
  ])('region of %s with %j', async (url, globals, region) => {
    expect(await (await s3(url, globals, env).client()).config.region()).toBe(region);
  });

  it('preset and path style, per key', async () => {
    expect(s3('s3://b/p?preset=b2', { preset: 'minio' }, env).preset).toBe('b2');
    expect(s3('s3://b/p', { preset: 'minio' }, env).preset).toBe('minio');
    expect((await s3('s3://b/p?path-style=false', { pathStyle: true }, env).client()).config.forcePathStyle).toBe(false);
    expect((await s3('s3://b/p', { pathStyle: true, preset: 'r2' }, env).client()).config.forcePathStyle).toBe(true);
    // --path-style can only turn it on; without it the preset decides (generic: path style).
    expect((await s3('s3://b/p', { pathStyle: false }, env).client()).config.forcePathStyle).toBe(true);
    expect((await s3('s3://b/p?preset=r2', { pathStyle: false }, env).client()).config.forcePathStyle).toBe(false);
  });

  it('gives each location its own settings when globals are set too', () => {
    const g = { endpoint: 'http://global:1', region: 'global-1' };
    const a = s3(`s3://b/p?endpoint=${R2}`, g, {});
    const b = s3('s3://b/p', g, {});
    expect([a.display, b.display]).toEqual(['s3://b/p (acct.r2.cloudflarestorage.com)', 's3://b/p (global:1)']);
    expect(a.preset).toBe('r2');
    expect(b.preset).toBe('generic');
  });
});

describe('credentials=NAME', () => {
  it('reads NAME_ACCESS_KEY_ID and NAME_SECRET_ACCESS_KEY as static credentials, shown nowhere', async () => {
    const d = s3(`s3://b/p?endpoint=${R2}&credentials=R2`, {}, CREDS);
    const c = await (await d.client()).config.credentials();
    expect(c).toMatchObject({ accessKeyId: 'R2KEYID0001', secretAccessKey: CREDS.R2_SECRET_ACCESS_KEY });
    expect(c.sessionToken).toBeUndefined();
    expect(d.secrets).toEqual(['R2KEYID0001', CREDS.R2_SECRET_ACCESS_KEY]);
    expect(d.display).toBe('s3://b/p (acct.r2.cloudflarestorage.com)');
  });

  it('adds the optional NAME_SESSION_TOKEN', async () => {
    const d = s3('s3://b/p?credentials=R2', {}, { ...CREDS, R2_SESSION_TOKEN: `tok-${MARK}` });
    expect((await (await d.client()).config.credentials()).sessionToken).toBe(`tok-${MARK}`);
    expect(d.secrets).toContain(`tok-${MARK}`);
  });

  it.each([
    [{}, /environment variable R2_ACCESS_KEY_ID is unset \(credentials=R2 of s3:\/\/b\/p\)/],
    [{ R2_ACCESS_KEY_ID: 'R2KEYID0001' }, /R2_SECRET_ACCESS_KEY is unset/],
    [{ R2_ACCESS_KEY_ID: 'R2KEYID0001', R2_SECRET_ACCESS_KEY: ' ' }, /R2_SECRET_ACCESS_KEY is empty/],
    [{ R2_ACCESS_KEY_ID: '', R2_SECRET_ACCESS_KEY: CREDS.R2_SECRET_ACCESS_KEY }, /R2_ACCESS_KEY_ID is empty/],
  ])('refuses missing variables (%j), naming the variable, never a value', (env, pattern) => {
    const text = refusal(() => openDestination('s3://b/p?credentials=R2', {}, env));
    expect(text).toMatch(pattern);
    expect(text).not.toContain(MARK);
    expect(text).not.toContain('R2KEYID0001');
  });

  it('keeps the variables from every child process', () => {
    s3('s3://b/p?credentials=TIER2', {}, { TIER2_ACCESS_KEY_ID: 'id', TIER2_SECRET_ACCESS_KEY: 'secret' });
    const child = childEnvironment({ TIER2_ACCESS_KEY_ID: 'id', TIER2_SECRET_ACCESS_KEY: 'secret', TIER2_SESSION_TOKEN: 't', TIER2_OTHER: 'x' });
    expect(child).toEqual({ TIER2_OTHER: 'x' });
  });

  it('gives the location to retype in printed commands: the settings in effect and the NAME, never a value', () => {
    const d = s3(`s3://b/p?credentials=R2&path-style=false`, { endpoint: R2, region: 'auto', pathStyle: true }, CREDS);
    expect(d.location).toBe(`s3://b/p?endpoint=${R2}&region=auto&path-style=false&credentials=R2`);
    expect(s3('s3://b/p/', {}, {}).location).toBe('s3://b/p');
    expect(openDestination(d.location, {}, CREDS).display).toBe(d.display);
  });

  it('without credentials= leaves the SDK chain in charge (AWS_* variables, OIDC)', () => {
    expect(s3('s3://b/p', {}, CREDS).secrets).toEqual([]);
  });
});

describe('openDestinations (the config layer)', () => {
  it('masks the credentials of every location before anything is printed', () => {
    const lines: string[] = [];
    const reporter = new ConsoleReporter({ write: (l) => lines.push(l) });
    openDestinations(['/srv/a', `s3://b/p?endpoint=${R2}&credentials=R2`], {}, '--to', reporter, CREDS);
    reporter.info(`leaked? ${CREDS.R2_SECRET_ACCESS_KEY} ${CREDS.R2_ACCESS_KEY_ID} ${encodeURIComponent(CREDS.R2_SECRET_ACCESS_KEY)}`);
    expect(lines.join('\n')).not.toContain(MARK);
    expect(lines.join('\n')).not.toContain('R2KEYID0001');
  });

  it('refuses the same location twice, also spelled differently, but not the same bucket at two endpoints', () => {
    const reporter = new ConsoleReporter({ write: () => {} });
    const open = (urls: string[], globals: DestinationOptions = {}) => openDestinations(urls, globals, '--to', reporter, {});
    expect(refusal(() => open(['/srv/a', '/srv/a/']))).toMatch(/--to names \/srv\/a twice/);
    expect(refusal(() => open([`s3://b/p?endpoint=${R2}`, `s3://b/p/?region=auto&endpoint=${R2}/`]))).toMatch(/names s3:\/\/b\/p \(acct\.r2\.cloudflarestorage\.com\) twice/);
    expect(refusal(() => open(['s3://b/p', `s3://b/p?endpoint=${R2}`], { endpoint: R2 }))).toMatch(/twice/);
    expect(open([`s3://b/p?endpoint=${R2}`, `s3://b/p?endpoint=${B2}`, 's3://b/p']).map((d) => d.display)).toEqual([
      's3://b/p (acct.r2.cloudflarestorage.com)',
      's3://b/p (s3.us-west-004.backblazeb2.com)',
      's3://b/p',
    ]);
  });
});
