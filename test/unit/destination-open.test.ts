import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/shared/errors.js';
import { openDestination } from '../../src/destinations/index.js';
import { LocalDestination } from '../../src/destinations/local.js';
import { S3Destination } from '../../src/destinations/s3.js';

const noEnv = { env: {} };

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('openDestination', () => {
  it('opens local paths and file:// URLs as folders', () => {
    const rel = openDestination('backups/db', noEnv);
    expect(rel).toBeInstanceOf(LocalDestination);
    expect(rel.display).toBe(path.resolve('backups/db'));
    expect(openDestination('/mnt/nas/db', noEnv).display).toBe('/mnt/nas/db');
    expect(openDestination('file:///mnt/nas/my%20db', noEnv).display).toBe('/mnt/nas/my db');
    expect(openDestination('file://localhost/mnt/nas', noEnv).display).toBe('/mnt/nas');
    // A local path may contain '@'; only URLs are suspected of holding credentials.
    expect(openDestination('/mnt/user@nas/db', noEnv).display).toBe('/mnt/user@nas/db');
  });

  it('ignores S3 flags for local paths, since one set of flags serves every --to', () => {
    expect(openDestination('/mnt/nas', { endpoint: 'http://127.0.0.1:9000', pathStyle: true, env: {} })).toBeInstanceOf(LocalDestination);
  });

  it('opens s3://bucket/prefix with the prefix normalised', () => {
    const d = openDestination('s3://my-bucket/team/db/', noEnv) as S3Destination;
    expect(d).toBeInstanceOf(S3Destination);
    expect(d.bucket).toBe('my-bucket');
    expect(d.prefix).toBe('team/db/');
    expect(d.display).toBe('s3://my-bucket/team/db');
    expect(d.preset).toBe('aws');
    const root = openDestination('s3://my-bucket', noEnv) as S3Destination;
    expect(root.prefix).toBe('');
    expect(root.display).toBe('s3://my-bucket');
  });

  it('passes endpoint, region, path style and preset on', async () => {
    const d = openDestination('s3://b/p', { endpoint: 'https://s3.us-west-004.backblazeb2.com', env: {} }) as S3Destination;
    expect(d.preset).toBe('b2');
    expect(await (await d.client()).config.region()).toBe('us-west-004');
    expect(await (await d.client()).config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    const m = openDestination('s3://b/p', { endpoint: 'http://10.0.0.5:9000', preset: 'minio', region: 'eu-west-1', env: {} }) as S3Destination;
    expect(m.preset).toBe('minio');
    expect((await m.client()).config.forcePathStyle).toBe(true);
    expect(await (await m.client()).config.region()).toBe('eu-west-1');
  });

  it("matches the preset to an endpoint set through AWS_ENDPOINT_URL_S3, which the SDK would use anyway", () => {
    const d = openDestination('s3://b/p', { env: { AWS_ENDPOINT_URL_S3: 'https://acct.r2.cloudflarestorage.com' } }) as S3Destination;
    expect(d.preset).toBe('r2');
  });

  it.each([
    's3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI-K7MDENG@bucket/prefix',
    's3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG@bucket/prefix',
    's3://AKIAIOSFODNN7EXAMPLE@bucket',
    'https://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI@bucket.s3.amazonaws.com/x',
    'file://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI@localhost/x',
  ])('refuses credentials in %s without repeating them', (url) => {
    const err = usageError(() => openDestination(url, noEnv));
    const text = `${err.message} ${err.hint}`;
    expect(text).toMatch(/credentials/);
    expect(text).not.toMatch(/AKIAIOSFODNN7EXAMPLE|wJalrXUtnFEMI|K7MDENG/);
  });

  it('refuses an endpoint with credentials without repeating them', () => {
    const err = usageError(() => openDestination('s3://b/p', { endpoint: 'https://minio:p%40ss-word@minio.local:9000', env: {} }));
    expect(`${err.message} ${err.hint}`).not.toMatch(/minio:p|ss-word/);
  });

  it.each([
    ['gs://bucket/x', /gs:\/\/bucket\/x.*unsupported scheme/],
    ['https://example.com/backups', /https:\/\/example.com\/backups.*unsupported scheme/],
    ['', /empty/],
    ['s3://', /names no bucket/],
    ['s3:///prefix', /names no bucket/],
    ['s3://bucket/a/../b', /not allowed/],
    ['s3://bucket/p?versionId=1', /query/],
    ['file://nas.local/share', /must be local/],
    ['~/backups', /not expanded/],
  ])('refuses %j with a message naming it', (url, pattern) => {
    expect(usageError(() => openDestination(url, noEnv)).message).toMatch(pattern);
  });
});
