import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, StrongboxError } from '../../src/shared/errors.js';
import { openDestination } from '../../src/destinations/index.js';
import { S3Destination, type S3DestinationOptions } from '../../src/destinations/s3.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver.js';

const MiB = 1024 * 1024;
let s3: S3rverHandle;
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  s3 = await startS3rver();
  for (const [k, v] of Object.entries(s3.env)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
});
afterAll(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await s3?.stop();
});
beforeEach(async () => {
  await s3.setFaults({});
});

let prefixCounter = 0;
/** A destination on a fresh prefix, with 5 MiB parts (S3's minimum) so a few MiB make a multipart upload. */
function freshDest(opts: Partial<S3DestinationOptions> = {}): S3Destination & { commands: string[] } {
  const settings: S3DestinationOptions = {
    bucket: s3.bucket,
    prefix: `backups/t${++prefixCounter}`,
    endpoint: s3.endpoint,
    partSize: 5 * MiB,
    queueSize: 2,
    ...opts,
  };
  // A client of our own, built from the destination's settings, to count the commands it sends.
  const client = new S3Client(new S3Destination(settings).clientConfig);
  const dest = new S3Destination({ ...settings, client });
  const commands: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      commands.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize' },
  );
  return Object.assign(dest, { commands });
}

async function pendingUploads(dest: S3Destination): Promise<string[]> {
  const out = await (await dest.client()).send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: dest.prefix }));
  return (out.Uploads ?? []).map((u) => u.Key!);
}

/** s3rver keeps parts of unfinished multipart uploads in this folder. */
async function uploadFolders(): Promise<string[]> {
  return readdir(path.join(s3.directory, s3.bucket, '._S3rver_uploads')).catch(() => []);
}

async function keys(dest: S3Destination, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const o of dest.list(prefix)) out.push(o.key);
  return out;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Streams `data` in 64 KiB chunks, as a compressor would hand it over. */
function chunked(data: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024);
    })(),
  );
}

describe('S3Destination against s3rver', () => {
  it('round-trips put, get, stat, list and delete below its prefix', async () => {
    const dest = openDestination(`s3://${s3.bucket}/rt/prefix`, { endpoint: s3.endpoint }) as S3Destination;
    expect(dest.preset).toBe('generic');
    // The endpoint's host tells two stores with the same bucket and prefix apart.
    expect(dest.display).toBe(`s3://${s3.bucket}/rt/prefix (${new URL(s3.endpoint).host})`);
    const other = openDestination(`s3://${s3.bucket}/rt/prefix-other`, { endpoint: s3.endpoint });
    await other.putBytes('x', Buffer.from('not mine'));

    expect(await dest.put('b1/db.dump', Readable.from([Buffer.from('hello '), Buffer.from('world')]))).toEqual({ size: 11 });
    await dest.putBytes('b1/manifest.json', Buffer.from('{}'));
    await dest.put('b1/empty', Readable.from([]));
    await dest.putBytes('b2/manifest.json', Buffer.from('{"id":2}'));

    expect((await buffer(await dest.get('b1/db.dump'))).toString()).toBe('hello world');
    expect(Buffer.from((await dest.getBytes('b2/manifest.json'))!).toString()).toBe('{"id":2}');
    expect(await dest.stat('b1/db.dump')).toMatchObject({ key: 'b1/db.dump', size: 11 });
    expect((await dest.stat('b1/db.dump'))!.lastModified).toBeInstanceOf(Date);
    expect(await dest.stat('b1/empty')).toMatchObject({ size: 0 });
    expect(await dest.stat('b1/missing')).toBeUndefined();
    expect(await dest.getBytes('b1/missing')).toBeUndefined();

    expect(await keys(dest)).toEqual(['b1/db.dump', 'b1/empty', 'b1/manifest.json', 'b2/manifest.json']);
    expect(await keys(dest, 'b1/')).toEqual(['b1/db.dump', 'b1/empty', 'b1/manifest.json']);
    expect(await keys(dest, 'b2')).toEqual(['b2/manifest.json']);

    await dest.delete('b1/db.dump');
    await dest.delete('b1/db.dump'); // missing: still fine
    expect(await dest.stat('b1/db.dump')).toBeUndefined();
    expect(await keys(dest, 'b1/')).toEqual(['b1/empty', 'b1/manifest.json']);
  });

  it('uploads a large stream as a multipart upload, byte-exact, with nothing left pending', async () => {
    const dest = freshDest();
    const data = randomBytes(17 * MiB + 12345); // 4 parts of 5 MiB, the last one short
    expect(await dest.put('b1/big.dump', chunked(data))).toEqual({ size: data.length });
    expect(dest.commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(4);
    expect(dest.commands).toContain('CompleteMultipartUploadCommand');
    expect(await dest.stat('b1/big.dump')).toMatchObject({ size: data.length });
    expect(sha256(await buffer(await dest.get('b1/big.dump')))).toBe(sha256(data));
    expect(await pendingUploads(dest)).toEqual([]);
  });

  it("uploads in the parts a location's part-size asks for", async () => {
    const url = (size: string) => `s3://${s3.bucket}/backups/t${++prefixCounter}?endpoint=${s3.endpoint}&part-size=${size}`;
    // The store fails part 3 for good: 12 MiB in 5 MiB parts has one, in 16 MiB parts (the default) none.
    await s3.setFaults({ failParts: [3] });
    const data = randomBytes(12 * MiB);
    const small = openDestination(url('5MiB'), {}, process.env);
    expect(await small.put('b1/x', chunked(data)).catch((e: unknown) => String(e))).toMatch(/upload to .*b1\/x.*failed/s);
    const large = openDestination(url('16MiB'), {}, process.env);
    expect(await large.put('b1/x', chunked(data))).toEqual({ size: data.length });
    expect(sha256(await buffer(await large.get('b1/x')))).toBe(sha256(data));
  });

  it('aborts the multipart upload when a part fails for good: no object, no parts left, a clear error', async () => {
    const dest = freshDest();
    await s3.setFaults({ failParts: [2] });
    const err = await dest.put('b1/big.dump', chunked(randomBytes(12 * MiB))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    const msg = (err as Error).message;
    expect(msg).toContain(`s3://${s3.bucket}/${dest.prefix}b1/big.dump`);
    expect(msg).toContain('HTTP 500');
    expect(msg).toContain('multipart upload was aborted');
    // The SDK retried the failing part before giving up.
    expect(dest.commands.filter((c) => c === 'UploadPartCommand').length).toBeGreaterThanOrEqual(2);
    expect(dest.commands).toContain('AbortMultipartUploadCommand');
    expect(dest.commands).not.toContain('CompleteMultipartUploadCommand');
    expect(await dest.stat('b1/big.dump')).toBeUndefined();
    expect(await pendingUploads(dest)).toEqual([]);
    expect(await uploadFolders()).toEqual([]);
  });

  it('passes a failing source on as it is, after aborting the multipart upload', async () => {
    const dest = freshDest();
    const boom = new Error('pg_dump exited with code 1');
    const source = Readable.from(
      (async function* () {
        yield randomBytes(11 * MiB);
        // Fail only once parts went out, so there is a multipart upload to abort.
        for (let i = 0; i < 500 && !dest.commands.includes('UploadPartCommand'); i++) await new Promise((r) => setTimeout(r, 10));
        throw boom;
      })(),
    );
    await expect(dest.put('b1/db.dump', source)).rejects.toBe(boom);
    expect(dest.commands).toContain('AbortMultipartUploadCommand');
    expect(await dest.stat('b1/db.dump')).toBeUndefined();
    expect(await pendingUploads(dest)).toEqual([]);
  });

  it('stops and cleans up when the AbortSignal fires mid-upload', async () => {
    const dest = freshDest();
    const abort = new AbortController();
    const source = new Readable({
      read() {
        setTimeout(() => this.push(randomBytes(256 * 1024)), 1);
      },
    });
    const put = dest.put('b1/endless.dump', source, { signal: abort.signal });
    // Abort once at least one part went out, so there is a multipart upload to clean up.
    for (let i = 0; i < 500 && !dest.commands.includes('UploadPartCommand'); i++) await new Promise((r) => setTimeout(r, 10));
    abort.abort();
    await expect(put).rejects.toMatchObject({ name: 'AbortError' });
    expect(source.destroyed).toBe(true);
    expect(dest.commands).toContain('AbortMultipartUploadCommand');
    expect(await dest.stat('b1/endless.dump')).toBeUndefined();
    expect(await pendingUploads(dest)).toEqual([]);
  });

  it('reports a missing key as NotFoundError naming the full s3:// address', async () => {
    const dest = freshDest();
    const err = await dest.get('b9/manifest.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toContain(`s3://${s3.bucket}/${dest.prefix}b9/manifest.json`);
  });

  it('names a bucket that does not exist', async () => {
    const dest = new S3Destination({ bucket: 'no-such-bucket', prefix: 'x', endpoint: s3.endpoint });
    const err = await dest.putBytes('a', Buffer.from('1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toContain('bucket no-such-bucket does not exist');
  });

  it('fails a manifest write answered with HTTP 500 after the SDK retries, naming the object', async () => {
    const dest = freshDest();
    await s3.setFaults({ failPutKeys: 'manifest\\.json$' });
    const err = await dest.putBytes('b1/manifest.json', Buffer.from('{}')).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/upload to s3:\/\/.*b1\/manifest\.json \(127\.0\.0\.1:\d+\) failed: InternalError \(HTTP 500\)/);
    expect(dest.commands.filter((c) => c === 'PutObjectCommand')).toHaveLength(1); // one command, retried inside the SDK
    expect(await dest.stat('b1/manifest.json')).toBeUndefined();
  });

  it('says which credentials are refused, without showing the secret', async () => {
    const secret = 'wrong-secret-value-1234';
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: secret },
    });
    const dest = new S3Destination({ bucket: s3.bucket, endpoint: s3.endpoint, client });
    const err = (await dest.putBytes('a', Buffer.from('1')).catch((e: unknown) => e)) as StrongboxError;
    expect(err.message).toContain('InvalidAccessKeyId');
    expect(err.hint).toMatch(/credentials were refused/);
    expect(`${err.message} ${err.hint}`).not.toContain(secret);
  });

  it('writes a lock object only if absent, through If-None-Match where the store honours it', async () => {
    const dest = freshDest();
    expect(await dest.putBytesIfAbsent('locks/a.json', Buffer.from('first'))).toBe(true);
    expect(await dest.putBytesIfAbsent('locks/a.json', Buffer.from('second'))).toBe(false);
    expect(Buffer.from((await dest.getBytes('locks/a.json'))!).toString()).toBe('first');

    // Skip the HEAD pre-check to reach the conditional PUT itself: the store answers 412.
    const racing = Object.assign(freshDest({ prefix: dest.prefix }), { stat: async () => undefined });
    expect(await racing.putBytesIfAbsent('locks/a.json', Buffer.from('racer'))).toBe(false);
    expect(Buffer.from((await dest.getBytes('locks/a.json'))!).toString()).toBe('first');

    // A store that ignores the header lets the racing writer win: documented last-writer-wins.
    await s3.setFaults({ conditionalWrites: false });
    expect(await racing.putBytesIfAbsent('locks/a.json', Buffer.from('racer'))).toBe(true);
    expect(Buffer.from((await dest.getBytes('locks/a.json'))!).toString()).toBe('racer');
  });

  it('resumes a download whose connection is reset mid-stream', async () => {
    const dest = freshDest();
    const data = randomBytes(3 * MiB + 7);
    await dest.put('b1/db.dump', chunked(data));
    await s3.setFaults({ resetGetAfterBytes: MiB + 123, resetGetTimes: 2 });
    const back = await buffer(await dest.get('b1/db.dump'));
    expect(sha256(back)).toBe(sha256(data));
    expect(dest.commands.filter((c) => c === 'GetObjectCommand')).toHaveLength(3);
  });

  it('fails cleanly, naming the object and the bytes received, when resets keep coming', async () => {
    const dest = freshDest({ getRetries: 1 });
    await dest.put('b1/db.dump', chunked(randomBytes(2 * MiB)));
    await s3.setFaults({ resetGetAfterBytes: 300_000 });
    const stream = await dest.get('b1/db.dump');
    const err = (await buffer(stream).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(StrongboxError);
    expect(err.message).toMatch(new RegExp(`download of s3://.*b1/db\\.dump \\(127\\.0\\.0\\.1:\\d+\\) broke off after \\d+ of ${2 * MiB} bytes \\(resumed 1 time\\)`));
  });

  it('pages through more than 1000 keys', async () => {
    expect(s3.listPagination).toBe(true);
    const dest = freshDest();
    const names = Array.from({ length: 1003 }, (_, i) => `b1/obj-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(names.slice(i, i + 50).map((k) => dest.putBytes(k, Buffer.from(k))));
    }
    expect(await keys(dest, 'b1/')).toEqual(names);
    expect(dest.commands.filter((c) => c === 'ListObjectsV2Command')).toHaveLength(2);
  });
});
