import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { errName, httpStatus } from '../../destinations/s3.js';
import { MemberSkipped, type CollectionContent, type CollectionEntry } from '../collection.js';
import type { OpenedBucket } from './connection.js';

/**
 * GetObject of a listed object, pinned to what the listing saw: `If-Match` the listed ETag (or
 * the listed version). An object deleted since (404) or changed since (412, or another ETag from
 * a store that ignores If-Match) is skipped, not a failure: the next backup takes it.
 */
export async function openObject(b: OpenedBucket, entry: CollectionEntry, signal: AbortSignal): Promise<CollectionContent> {
  const key = b.prefix + (typeof entry.record.key === 'string' ? entry.record.key : entry.name);
  const etag = typeof entry.record.etag === 'string' ? entry.record.etag : undefined;
  const versionId = typeof entry.record.versionId === 'string' && entry.record.versionId !== 'null' ? entry.record.versionId : undefined;
  const { client, sdk } = await b.store.s3();
  let out: GetObjectCommandOutput;
  try {
    out = await client.send(
      new sdk.GetObjectCommand({ Bucket: b.bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}), ...(etag ? { IfMatch: etag } : {}) }),
      { abortSignal: signal },
    );
  } catch (err) {
    const status = httpStatus(err);
    const name = errName(err);
    if (status === 404 || name === 'NoSuchKey' || name === 'NoSuchVersion') throw new MemberSkipped(entry.name, 'deleted since it was listed');
    if (status === 412 || name === 'PreconditionFailed') throw new MemberSkipped(entry.name, 'changed since it was listed');
    throw b.store.failure(`download of ${b.store.url}/${key}`, err);
  }
  const body = out.Body as Readable;
  if (etag && out.ETag && out.ETag !== etag) {
    body.destroy();
    throw new MemberSkipped(entry.name, 'changed since it was listed');
  }
  return { stream: body, record: headersRecord(out) };
}

/** The headers the index keeps (content type, user metadata, caching and encoding), as restore writes them back. */
export function headersRecord(out: Pick<GetObjectCommandOutput, 'ContentType' | 'Metadata' | 'CacheControl' | 'ContentEncoding' | 'ContentDisposition' | 'ContentLanguage' | 'Expires' | 'StorageClass' | 'LastModified' | 'ETag' | 'VersionId'>): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  if (out.ContentType) r.contentType = out.ContentType;
  if (out.Metadata && Object.keys(out.Metadata).length) r.metadata = { ...out.Metadata };
  if (out.CacheControl) r.cacheControl = out.CacheControl;
  if (out.ContentEncoding) r.contentEncoding = out.ContentEncoding;
  if (out.ContentDisposition) r.contentDisposition = out.ContentDisposition;
  if (out.ContentLanguage) r.contentLanguage = out.ContentLanguage;
  if (out.Expires instanceof Date && !Number.isNaN(out.Expires.getTime())) r.expires = out.Expires.toISOString();
  if (out.StorageClass) r.storageClass = out.StorageClass;
  if (out.LastModified) r.lastModified = out.LastModified.toISOString();
  if (out.ETag) r.etag = out.ETag;
  if (out.VersionId && out.VersionId !== 'null') r.versionId = out.VersionId;
  return r;
}
