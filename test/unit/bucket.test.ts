import { describe, expect, it } from 'vitest';
import { s3Sdk } from '../../src/destinations/s3-sdk.js';
import { listEntries } from '../../src/sources/bucket/list.js';
import { compareKeys, compareVersionedNames } from '../../src/sources/bucket/order.js';
import type { OpenedBucket } from '../../src/sources/bucket/connection.js';

describe('bucket key order', () => {
  it('is UTF-8 byte order (what S3 lists in), not UTF-16 code units', () => {
    const keys = ['a', 'a b', 'a/b', 'a+b', 'a%b', 'ä', '\uffef', '😀', 'z', 'A', 'a/', ''];
    const bytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...keys].sort(compareKeys)).toEqual(bytes);
    // JavaScript's own order puts the emoji (surrogates) before U+FFEF; S3 after.
    expect(compareKeys('😀', '\uffef')).toBeGreaterThan(0);
  });

  it('keeps the versions of a key together, the current one first', () => {
    const names = ['a b', 'a?versionId=2', 'a', 'a?versionId=1', 'a/c'];
    expect([...names].sort(compareVersionedNames)).toEqual(['a', 'a?versionId=1', 'a?versionId=2', 'a b', 'a/c']);
  });
});

/** A store that answers ListObjectVersions from a list, a page at a time. */
function fakeVersions(pages: { Versions?: object[]; IsTruncated?: boolean; NextKeyMarker?: string; NextVersionIdMarker?: string }[]): OpenedBucket & { calls: object[] } {
  const calls: object[] = [];
  let i = 0;
  const client = { send: async (cmd: { input: object }) => (calls.push(cmd.input), pages[i++]) };
  return { store: { s3: async () => ({ client, sdk: await s3Sdk() }), failure: (m: string) => new Error(m) } as never, bucket: 'b', prefix: 'p/', display: 's3://b/p', calls } as never;
}

describe('bucket --all-versions listing', () => {
  it('names non-current versions key?versionId=ID, records versionId/isLatest/key, pages by markers', async () => {
    const lm = new Date('2026-01-01T00:00:00Z');
    const b = fakeVersions([
      {
        Versions: [
          { Key: 'p/doc', VersionId: 'v3', IsLatest: true, Size: 3, ETag: '"c"', LastModified: lm },
          { Key: 'p/doc', VersionId: 'v1', IsLatest: false, Size: 1, ETag: '"a"', LastModified: lm },
        ],
        IsTruncated: true,
        NextKeyMarker: 'p/doc',
        NextVersionIdMarker: 'v1',
      },
      // The same key continues on the next page; a key whose current version is a delete marker keeps its old versions.
      { Versions: [{ Key: 'p/doc', VersionId: 'v0', IsLatest: false, Size: 0, ETag: '"z"', LastModified: lm }, { Key: 'p/gone', VersionId: 'g1', IsLatest: false, Size: 2, ETag: '"g"', LastModified: lm }], IsTruncated: false },
    ]);
    const out = [];
    for await (const e of listEntries(b, { allVersions: true })) out.push(e);
    expect(out.map((e) => e.name)).toEqual(['doc', 'doc?versionId=v0', 'doc?versionId=v1', 'gone?versionId=g1']);
    expect(out[0]!.record).toMatchObject({ key: 'doc', versionId: 'v3', isLatest: true, etag: '"c"' });
    expect(out[3]!.record).toMatchObject({ key: 'gone', isLatest: false });
    expect(out[1]!.fingerprint).toBe('0:"z":v0');
    expect(b.calls[1]).toMatchObject({ KeyMarker: 'p/doc', VersionIdMarker: 'v1', Prefix: 'p/' });
  });
});
