import type { ObjectVersion, _Object } from '@aws-sdk/client-s3';
import type { CollectionEntry } from '../collection.js';
import type { OpenedBucket } from './connection.js';
import { compareVersionedNames, versionedName } from './order.js';

export interface ListOptions {
  /** ListObjectVersions instead of ListObjectsV2: non-current versions too. */
  allVersions?: boolean;
  /** `--compare checksum`: no fingerprints, every object is read. */
  checksum?: boolean;
  signal?: AbortSignal;
  /** Keys per page (S3's maximum and default is 1,000); tests page smaller. */
  pageSize?: number;
}

/** What makes two listings of an object the same content: size and ETag. */
export function fingerprint(size: number, etag: string | undefined): string | undefined {
  return etag ? `${size}:${etag}` : undefined;
}

/**
 * The objects under the bucket's prefix, page by page (one page in memory at a time), in S3's
 * order (UTF-8 bytes). Names are keys relative to the prefix; the prefix's own folder marker
 * (the key equal to the prefix) has no name and is left out.
 */
export async function* listEntries(b: OpenedBucket, opts: ListOptions = {}): AsyncGenerator<CollectionEntry> {
  if (opts.allVersions) {
    yield* listVersions(b, opts);
    return;
  }
  const { client, sdk } = await b.store.s3();
  let token: string | undefined;
  let startAfter: string | undefined;
  for (;;) {
    let out;
    try {
      out = await client.send(
        new sdk.ListObjectsV2Command({
          Bucket: b.bucket,
          ...(b.prefix ? { Prefix: b.prefix } : {}),
          ...(opts.pageSize ? { MaxKeys: opts.pageSize } : {}),
          ...(token ? { ContinuationToken: token } : {}),
          ...(startAfter ? { StartAfter: startAfter } : {}),
        }),
        { abortSignal: opts.signal },
      );
    } catch (err) {
      throw b.store.failure(`listing ${b.display}`, err);
    }
    const contents = out.Contents ?? [];
    for (const o of contents) {
      const e = objectEntry(b, o, opts);
      if (e) yield e;
    }
    if (!out.IsTruncated) return;
    token = out.NextContinuationToken;
    // A store that truncates without a token still pages correctly by key.
    startAfter = token ? undefined : contents.at(-1)?.Key;
    if (!token && !startAfter) return;
  }
}

function objectEntry(b: OpenedBucket, o: _Object, opts: ListOptions): CollectionEntry | undefined {
  if (!o.Key || !o.Key.startsWith(b.prefix)) return undefined;
  const name = o.Key.slice(b.prefix.length);
  if (!name) return undefined;
  const size = o.Size ?? 0;
  const etag = o.ETag;
  return {
    name,
    hasContent: true,
    size,
    ...(opts.checksum ? {} : { fingerprint: fingerprint(size, etag) }),
    record: {
      ...(etag ? { etag } : {}),
      ...(o.LastModified ? { lastModified: o.LastModified.toISOString() } : {}),
      ...(o.StorageClass ? { storageClass: o.StorageClass } : {}),
    },
  };
}

/**
 * Every version of every key, delete markers left out. S3 lists one key's versions together,
 * newest first; they are held per key (a key's versions, not the listing) and handed on in
 * compareVersionedNames order: the current version as `key`, the others as `key?versionId=ID`.
 */
async function* listVersions(b: OpenedBucket, opts: ListOptions): AsyncGenerator<CollectionEntry> {
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  let group: CollectionEntry[] = [];
  let groupKey: string | undefined;
  const flush = function* () {
    group.sort((x, y) => compareVersionedNames(x.name, y.name));
    yield* group;
    group = [];
  };
  const { client, sdk } = await b.store.s3();
  for (;;) {
    let out;
    try {
      out = await client.send(
        new sdk.ListObjectVersionsCommand({
          Bucket: b.bucket,
          ...(b.prefix ? { Prefix: b.prefix } : {}),
          ...(opts.pageSize ? { MaxKeys: opts.pageSize } : {}),
          ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
          ...(versionMarker !== undefined ? { VersionIdMarker: versionMarker } : {}),
        }),
        { abortSignal: opts.signal },
      );
    } catch (err) {
      throw b.store.failure(`listing the versions of ${b.display}`, err);
    }
    for (const v of out.Versions ?? []) {
      if (!v.Key || !v.Key.startsWith(b.prefix) || v.Key === b.prefix) continue;
      const key = v.Key.slice(b.prefix.length);
      if (key !== groupKey) {
        yield* flush();
        groupKey = key;
      }
      group.push(versionEntry(key, v, opts));
    }
    if (!out.IsTruncated) break;
    keyMarker = out.NextKeyMarker;
    versionMarker = out.NextVersionIdMarker;
    if (keyMarker === undefined) break;
  }
  yield* flush();
}

function versionEntry(key: string, v: ObjectVersion, opts: ListOptions): CollectionEntry {
  const size = v.Size ?? 0;
  const isLatest = v.IsLatest === true;
  // Unversioned objects of a bucket that had versioning turned on later have the id "null".
  const versionId = v.VersionId ?? 'null';
  return {
    name: versionedName(key, versionId, isLatest),
    hasContent: true,
    size,
    // A version never changes: its id is its fingerprint (with the ETag, for stores that reuse ids such as "null").
    ...(opts.checksum ? {} : { fingerprint: `${fingerprint(size, v.ETag) ?? size}:${versionId}` }),
    record: {
      key,
      versionId,
      isLatest,
      ...(v.ETag ? { etag: v.ETag } : {}),
      ...(v.LastModified ? { lastModified: v.LastModified.toISOString() } : {}),
      ...(v.StorageClass ? { storageClass: v.StorageClass } : {}),
    },
  };
}
