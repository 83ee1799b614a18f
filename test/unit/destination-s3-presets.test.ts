import { S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/shared/errors.js';
import { S3Destination } from '../../src/destinations/s3.js';
import { detectPreset, normalizeEndpoint, resolveS3Config } from '../../src/destinations/s3-presets.js';

describe('S3 provider presets', () => {
  it('leaves AWS S3 to the SDK defaults (checksums on, region from the SDK chain)', () => {
    const { preset, client } = resolveS3Config({ bucket: 'b' });
    expect(preset).toBe('aws');
    expect(client).toEqual({ forcePathStyle: false });
  });

  it('detects Backblaze B2 from the endpoint, takes the region from its host, and turns default checksums off', () => {
    const { preset, client } = resolveS3Config({ bucket: 'b', endpoint: 'https://s3.us-west-004.backblazeb2.com' });
    expect(preset).toBe('b2');
    expect(client).toEqual({
      endpoint: 'https://s3.us-west-004.backblazeb2.com',
      region: 'us-west-004',
      forcePathStyle: false,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  it('detects Cloudflare R2 and uses region auto', () => {
    const { preset, client } = resolveS3Config({ bucket: 'b', endpoint: 'https://0123abcd.r2.cloudflarestorage.com' });
    expect(preset).toBe('r2');
    expect(client).toMatchObject({ region: 'auto', forcePathStyle: false, requestChecksumCalculation: 'WHEN_REQUIRED' });
  });

  it('uses path-style and us-east-1 for MinIO and unknown stores', () => {
    expect(resolveS3Config({ bucket: 'b', endpoint: 'http://127.0.0.1:9000', preset: 'minio' })).toEqual({
      preset: 'minio',
      client: {
        endpoint: 'http://127.0.0.1:9000',
        region: 'us-east-1',
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      },
    });
    expect(resolveS3Config({ bucket: 'b', endpoint: 'https://objects.example.net' })).toMatchObject({
      preset: 'generic',
      client: { forcePathStyle: true, region: 'us-east-1', responseChecksumValidation: 'WHEN_REQUIRED' },
    });
  });

  it('lets flags and AWS_REGION win over preset defaults', () => {
    expect(resolveS3Config({ bucket: 'b', endpoint: 'https://s3.us-west-004.backblazeb2.com', forcePathStyle: true }).client.forcePathStyle).toBe(true);
    expect(resolveS3Config({ bucket: 'b', endpoint: 'http://minio:9000', forcePathStyle: false }).client.forcePathStyle).toBe(false);
    expect(resolveS3Config({ bucket: 'b', endpoint: 'http://minio:9000', region: 'eu-1' }).client.region).toBe('eu-1');
    expect(resolveS3Config({ bucket: 'b', endpoint: 'http://minio:9000' }, { AWS_REGION: 'eu-2' }).client.region).toBe('eu-2');
    // An explicit preset beats detection: B2 behind a proxy, say.
    expect(resolveS3Config({ bucket: 'b', endpoint: 'https://proxy.example', preset: 'B2' }).preset).toBe('b2');
  });

  it('keeps AWS checksums and reads the region from an AWS endpoint', () => {
    expect(resolveS3Config({ bucket: 'b', endpoint: 'https://s3.eu-west-1.amazonaws.com' })).toEqual({
      preset: 'aws',
      client: { endpoint: 'https://s3.eu-west-1.amazonaws.com', region: 'eu-west-1', forcePathStyle: false },
    });
    expect(resolveS3Config({ bucket: 'b', endpoint: 'https://bucket.vpce-0a1b.s3.us-gov-west-1.vpce.amazonaws.com' }).client.region).toBe('us-gov-west-1');
    expect(resolveS3Config({ bucket: 'b', endpoint: 'https://s3.amazonaws.com' }).client.region).toBe('us-east-1');
  });

  it('accepts a bare host as endpoint (https assumed)', () => {
    expect(resolveS3Config({ bucket: 'b', endpoint: 's3.eu-central-003.backblazeb2.com' }).client).toMatchObject({
      endpoint: 'https://s3.eu-central-003.backblazeb2.com',
      region: 'eu-central-003',
    });
  });

  it('refuses unknown presets, presets without endpoint, and bad endpoints', () => {
    expect(() => resolveS3Config({ bucket: 'b', preset: 'gcs' })).toThrow(UsageError);
    expect(() => resolveS3Config({ bucket: 'b', preset: 'gcs' })).toThrow(expect.objectContaining({ hint: 'use one of: aws, b2, r2, minio, generic' }));
    expect(() => resolveS3Config({ bucket: 'b', preset: 'r2' })).toThrow(/r2 preset needs an endpoint/);
    expect(() => resolveS3Config({ bucket: 'b', endpoint: 'ftp://host' })).toThrow(/https:\/\/ or http:\/\//);
  });

  it('refuses an endpoint with credentials in it without repeating them', () => {
    for (const endpoint of ['https://AKIAEXAMPLE:s3cr3t-Value@minio.example:9000', 'AKIAEXAMPLE:s3cr/3t-Value@minio.example']) {
      const err = (() => {
        try {
          resolveS3Config({ bucket: 'b', endpoint });
        } catch (e) {
          return e as UsageError;
        }
      })();
      expect(err).toBeInstanceOf(UsageError);
      expect(`${err!.message} ${err!.hint}`).not.toMatch(/AKIAEXAMPLE|s3cr|3t-Value/);
    }
    expect(() => detectPreset('https://user:pw@x.backblazeb2.com')).toThrow(UsageError);
  });

  it('builds clients the SDK accepts with these option names', async () => {
    const { client } = resolveS3Config({ bucket: 'b', endpoint: 'https://0123abcd.r2.cloudflarestorage.com' });
    const s3 = new S3Client(client);
    expect(await s3.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await s3.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    expect(await s3.config.region()).toBe('auto');
    expect(s3.config.forcePathStyle).toBe(false);
  });
});

/**
 * Fault matrix #24 on the wire: since @aws-sdk/client-s3 3.729 every upload carries CRC32
 * checksum headers by default, which B2, R2 and others reject. A fake S3 records the headers
 * of a small upload and of a multipart upload.
 */
describe('checksum headers sent per preset', () => {
  async function headersOfUploads(endpoint: string | undefined): Promise<string[]> {
    const seen = new Set<string>();
    const { client } = resolveS3Config({ bucket: 'bucket-name', endpoint });
    const s3 = new S3Client({
      ...client,
      region: client.region ?? 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: fakeS3((headers) => Object.keys(headers).forEach((h) => seen.add(h.toLowerCase()))),
    });
    const dest = new S3Destination({ bucket: 'bucket-name', endpoint, client: s3, partSize: 5 * 1024 * 1024 });
    await dest.putBytes('small', Buffer.from('manifest'));
    await dest.put('large', Readable.from([Buffer.alloc(11 * 1024 * 1024, 1)]));
    return [...seen].filter((h) => /checksum|x-amz-trailer/.test(h)).sort();
  }

  it('AWS S3 gets the SDK default CRC32 checksums', async () => {
    // (This also shows the fake sees the headers, so the empty lists below mean something.)
    expect(await headersOfUploads(undefined)).toEqual(expect.arrayContaining(['x-amz-checksum-crc32', 'x-amz-sdk-checksum-algorithm']));
  });

  it.each(['https://s3.us-west-004.backblazeb2.com', 'https://acct.r2.cloudflarestorage.com', 'http://127.0.0.1:9000'])(
    '%s gets none of them',
    async (endpoint) => {
      expect(await headersOfUploads(endpoint)).toEqual([]);
    },
  );
});

/** A request handler answering like S3 for PutObject and the multipart calls. */
function fakeS3(onRequest: (headers: Record<string, string>) => void) {
  return {
    async handle(req: { method: string; query?: Record<string, unknown>; headers: Record<string, string>; body?: unknown }) {
      onRequest(req.headers);
      if (req.body instanceof Readable) for await (const _ of req.body); // drain streamed bodies
      const q = req.query ?? {};
      let body = '';
      if (req.method === 'POST' && 'uploads' in q) {
        body = '<InitiateMultipartUploadResult><Bucket>bucket-name</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>';
      } else if (req.method === 'POST' && 'uploadId' in q) {
        body = '<CompleteMultipartUploadResult><ETag>"done"</ETag></CompleteMultipartUploadResult>';
      }
      return { response: { statusCode: 200, headers: { etag: '"e"' }, body: Readable.from(body ? [Buffer.from(body)] : []) } };
    },
  } as unknown as S3Client['config']['requestHandler'];
}

describe('an endpoint with a query (a presigned URL pasted as endpoint)', () => {
  it('is refused without repeating the query, also when it arrives percent-encoded in a location URL', async () => {
    const { openDestination } = await import('../../src/destinations/index.js');
    for (const attempt of [
      () => normalizeEndpoint('http://127.0.0.1:9?X-Amz-Signature=SuperSecret123'),
      () => openDestination('s3://b/p?endpoint=http://127.0.0.1:9%3FX-Amz-Signature%3DSuperSecret123', {}, {}),
    ]) {
      let message = '';
      try {
        attempt();
      } catch (err) {
        message = `${(err as Error).message} ${(err as { hint?: string }).hint ?? ''}`;
      }
      expect(message).toMatch(/must not have a query or fragment/);
      expect(message).not.toContain('SuperSecret123');
    }
  });
});
