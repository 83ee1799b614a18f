import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RefusedError } from '../../src/shared/errors.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { bucketAdapter } from '../../src/sources/bucket/index.js';
import { openBucket, resolveBucketConnection } from '../../src/sources/bucket/connection.js';
import { listEntries } from '../../src/sources/bucket/list.js';
import { compareKeys } from '../../src/sources/bucket/order.js';
import { MemberSkipped, type CollectionEntry, type IndexMemberLike, type RestoreMember } from '../../src/sources/collection.js';
import type { SourceSpec } from '../../src/sources/adapter.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver.js';

/** The bucket adapter on its own against s3rver: listing, reading, skipping, writing members back. */
const MiB = 1024 * 1024;
let src: S3rverHandle;
let dst: S3rverHandle;
let srcClient: S3Client;
let dstClient: S3Client;
const objects = new Map<string, { body: Buffer; contentType?: string; metadata?: Record<string, string> }>();

const KEYS = ['plain.txt', 'with space.txt', 'ünïcödé/ファイル.txt', 'a+b.txt', '100%.txt', 'folder/', 'folder/inside.json', 'deep/a/b/c.bin', 'emoji-😀.txt', 'z'];

function client(s: S3rverHandle): S3Client {
  return new S3Client({ endpoint: s.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } });
}
function spec(prefix = 'data'): SourceSpec {
  return { kind: 'bucket', location: `s3://${src.bucket}/${prefix}`, options: { bucket: { endpoint: src.endpoint, credentials: { accessKeyId: src.accessKeyId, secretAccessKey: src.secretAccessKey } } } };
}
const ctx = { reporter: silentReporter, leaveOut: [] };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  [src, dst] = await Promise.all([startS3rver(), startS3rver()]);
  srcClient = client(src);
  dstClient = client(dst);
  for (const [i, k] of KEYS.entries()) {
    objects.set(k, { body: k.endsWith('/') ? Buffer.alloc(0) : randomBytes(100 + i * 37), contentType: i % 2 ? 'text/plain; charset=utf-8' : undefined, metadata: i % 3 === 0 ? { owner: `client-${i}`, note: 'x y' } : undefined });
  }
  objects.set('big.bin', { body: randomBytes(11 * MiB), contentType: 'application/x-big', metadata: { kind: 'large' } });
  await Promise.all(
    [...objects].map(([k, o]) =>
      k === 'big.bin'
        ? new Upload({ client: srcClient, params: { Bucket: src.bucket, Key: `data/${k}`, Body: o.body, ContentType: o.contentType, Metadata: o.metadata }, partSize: 5 * MiB }).done()
        : srcClient.send(new PutObjectCommand({ Bucket: src.bucket, Key: `data/${k}`, Body: o.body, ContentType: o.contentType, Metadata: o.metadata })),
    ),
  );
  // Outside the prefix: never listed.
  await srcClient.send(new PutObjectCommand({ Bucket: src.bucket, Key: 'other/x.txt', Body: 'no' }));
  await srcClient.send(new PutObjectCommand({ Bucket: src.bucket, Key: 'data', Body: 'the prefix as a key' }));
});
afterAll(async () => {
  await Promise.all([src?.stop(), dst?.stop()]);
});

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('bucket source', () => {
  it('lists every key under the prefix, relative to it, in S3 order, across pages', async () => {
    const reader = await bucketAdapter.collection!.open(spec(), ctx);
    const names = (await all(reader.entries())).map((e) => e.name);
    const expected = [...objects.keys()].sort(compareKeys);
    expect(names).toEqual(expected);
    // Small pages: the same listing.
    const paged = (await all(listEntries(openBucket(spec().location, spec().options!.bucket), { pageSize: 3 }))).map((e) => e.name);
    expect(paged).toEqual(expected);
    expect(reader.details).toMatchObject({ bucket: src.bucket, prefix: 'data' });
  });

  it('fingerprints size and ETag; --compare checksum gives none', async () => {
    const reader = await bucketAdapter.collection!.open(spec(), ctx);
    const big = (await all(reader.entries())).find((e) => e.name === 'big.bin')!;
    expect(big.size).toBe(11 * MiB);
    expect(big.fingerprint).toMatch(/^11534336:"[0-9a-f-]+"$/);
    const plain = await bucketAdapter.collection!.open({ ...spec(), options: { ...spec().options, compare: 'checksum' } }, ctx);
    expect((await all(plain.entries())).every((e) => e.fingerprint === undefined)).toBe(true);
  });

  it('opens an object with its content type and metadata', async () => {
    const reader = await bucketAdapter.collection!.open(spec(), ctx);
    const entries = await all(reader.entries());
    for (const name of ['with space.txt', 'ünïcödé/ファイル.txt', 'a+b.txt', '100%.txt', 'big.bin', 'folder/']) {
      const e = entries.find((x) => x.name === name)!;
      const c = await reader.open(e, new AbortController().signal);
      const body = Buffer.concat(await all(c.stream as AsyncIterable<Buffer>));
      const o = objects.get(name)!;
      expect(sha(body), name).toBe(sha(o.body));
      expect(c.record?.contentType).toBe(o.contentType ?? 'application/octet-stream');
      expect(c.record?.metadata).toEqual(o.metadata);
    }
  });

  it('skips an object deleted or replaced after it was listed', async () => {
    await srcClient.send(new PutObjectCommand({ Bucket: src.bucket, Key: 'data/vanish.txt', Body: 'v' }));
    await srcClient.send(new PutObjectCommand({ Bucket: src.bucket, Key: 'data/change.txt', Body: 'before' }));
    const reader = await bucketAdapter.collection!.open(spec(), ctx);
    const entries = await all(reader.entries());
    await srcClient.send(new DeleteObjectCommand({ Bucket: src.bucket, Key: 'data/vanish.txt' }));
    await srcClient.send(new PutObjectCommand({ Bucket: src.bucket, Key: 'data/change.txt', Body: 'after!' }));
    const open = (n: string) => reader.open(entries.find((e) => e.name === n)!, new AbortController().signal);
    await expect(open('vanish.txt')).rejects.toThrow(MemberSkipped);
    await expect(open('vanish.txt')).rejects.toThrow(/deleted since it was listed/);
    await expect(open('change.txt')).rejects.toThrow(/changed since it was listed/);
    await srcClient.send(new DeleteObjectCommand({ Bucket: src.bucket, Key: 'data/change.txt' }));
  });

  it('refuses the plain stream methods', async () => {
    await expect(bucketAdapter.dump(spec(), ctx)).rejects.toThrow(/collection/);
    expect(bucketAdapter.artifactName(spec())).toBe(`bucket-${src.bucket}-data`);
  });
});

/** Members as a restore hands them over, made by hand from the source (re-iterable, as the index is re-read). */
function membersOf(entries: { member: IndexMemberLike; body?: Buffer }[]): AsyncIterable<RestoreMember> {
  return {
    async *[Symbol.asyncIterator]() {
      for (const e of entries) yield { member: e.member, open: () => (e.body ? Readable.from([e.body]) : undefined) };
    },
  };
}
async function restoreSet(): Promise<{ member: IndexMemberLike; body: Buffer }[]> {
  const reader = await bucketAdapter.collection!.open(spec(), ctx);
  const out = [];
  for (const e of await all(reader.entries()) as CollectionEntry[]) {
    const c = await reader.open(e, new AbortController().signal);
    const body = Buffer.concat(await all(c.stream as AsyncIterable<Buffer>));
    out.push({ member: { name: e.name, size: e.size, sha256: sha(body), ...e.record, ...c.record }, body });
  }
  return out;
}

describe('bucket target', () => {
  const target = () => `s3://${dst.bucket}/restored?credentials=DST`;
  const tctx = (extra: { force?: boolean; dryRun?: boolean } = {}) => ({
    reporter: silentReporter,
    force: !!extra.force,
    dryRun: !!extra.dryRun,
    bucket: resolveBucketConnection(target(), { endpoint: dst.endpoint }, { DST_ACCESS_KEY_ID: dst.accessKeyId, DST_SECRET_ACCESS_KEY: dst.secretAccessKey }),
  });

  it('writes every member byte-exact with content type and metadata; a second run leaves all alone', async () => {
    const set = await restoreSet();
    const dry = await bucketAdapter.collection!.restoreMembers!(membersOf(set), target(), {} as never, tctx({ dryRun: true }));
    expect(dry.written).toBe(set.length);
    expect(dry.listed.map((l) => l.name)).toEqual(set.map((s) => s.member.name));

    const r = await bucketAdapter.collection!.restoreMembers!(membersOf(set), target(), {} as never, tctx());
    expect(r).toMatchObject({ written: set.length, same: 0, replaced: 0 });
    for (const { member, body } of set) {
      const out = await dstClient.send(new GetObjectCommand({ Bucket: dst.bucket, Key: `restored/${member.name}` }));
      const got = Buffer.from(await out.Body!.transformToByteArray());
      expect(sha(got), member.name).toBe(sha(body));
      expect(out.ContentType).toBe(member.contentType);
      expect(out.Metadata ?? {}).toEqual(member.metadata ?? {});
    }
    const again = await bucketAdapter.collection!.restoreMembers!(membersOf(set), target(), {} as never, tctx());
    expect(again).toMatchObject({ written: 0, same: set.length, replaced: 0 });
  });

  it('refuses to overwrite an object that differs, naming it; --force replaces it', async () => {
    const set = await restoreSet();
    await dstClient.send(new PutObjectCommand({ Bucket: dst.bucket, Key: 'restored/with space.txt', Body: 'someone else wrote this' }));
    const before = await dstClient.send(new HeadObjectCommand({ Bucket: dst.bucket, Key: 'restored/plain.txt' }));
    const err = await bucketAdapter.collection!.restoreMembers!(membersOf(set), target(), {} as never, tctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as RefusedError).exitCode).toBe(7);
    expect((err as Error).message).toMatch(/1 object\(s\).*with space\.txt.*nothing was written/);
    const r = await bucketAdapter.collection!.restoreMembers!(membersOf(set), target(), {} as never, tctx({ force: true }));
    expect(r).toMatchObject({ written: 0, replaced: 1, same: set.length - 1 });
    const after = await dstClient.send(new HeadObjectCommand({ Bucket: dst.bucket, Key: 'restored/plain.txt' }));
    expect(after.LastModified).toEqual(before.LastModified);
  });

  it('writes one object of a few versions: the current one', async () => {
    const v = (isLatest: boolean, body: string, lastModified: string) => ({
      member: { name: isLatest ? 'doc.txt' : `doc.txt?versionId=${body}`, key: 'doc.txt', isLatest, lastModified, size: body.length, sha256: sha(Buffer.from(body)), versionId: body },
      body: Buffer.from(body),
    });
    const r = await bucketAdapter.collection!.restoreMembers!(membersOf([v(true, 'newest', '2026-01-03T00:00:00.000Z'), v(false, 'older1', '2026-01-02T00:00:00.000Z')]), `s3://${dst.bucket}/versions?credentials=DST`, {} as never, tctx());
    expect(r.written).toBe(1);
    const out = await dstClient.send(new GetObjectCommand({ Bucket: dst.bucket, Key: 'versions/doc.txt' }));
    expect(await out.Body!.transformToString()).toBe('newest');
    // Only an older version selected: that one is written to the key.
    const r2 = await bucketAdapter.collection!.restoreMembers!(membersOf([v(false, 'older1', '2026-01-02T00:00:00.000Z')]), `s3://${dst.bucket}/old?credentials=DST`, {} as never, tctx());
    expect(r2.written).toBe(1);
    expect(await (await dstClient.send(new GetObjectCommand({ Bucket: dst.bucket, Key: 'old/doc.txt' }))).Body!.transformToString()).toBe('older1');
  });

  it('maps an object to a file of a tree', () => {
    const f = bucketAdapter.collection!.asFile!({ name: 'a/b.txt', size: 3, lastModified: '2026-01-01T00:00:00.000Z', etag: '"x"', contentType: 't' });
    expect(f).toMatchObject({ name: 'a/b.txt', type: 'file', mode: 0o644, mtime: '2026-01-01T00:00:00.000Z' });
    expect(bucketAdapter.collection!.asFile!({ name: 'folder/', size: 0 })).toMatchObject({ name: 'folder', type: 'dir' });
  });
});
