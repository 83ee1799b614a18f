import type { GetObjectCommandOutput, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { Readable, Transform, addAbortSignal } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError, StrongboxError, UsageError, errorMessage } from '../shared/errors.js';
import { printable } from '../shared/text.js';
import { checkPrefix, keySegments } from './keys.js';
import { resolveS3Config, type S3Location, type S3Preset } from './s3-presets.js';
import { libStorage, s3Sdk, type S3Sdk } from './s3-sdk.js';
import type { Destination, ObjectInfo, PutOptions } from './types.js';

const MiB = 1024 * 1024;
/** S3's limits: parts of 5 MiB to 5 GiB, at most 10,000 of them per object. */
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;
/** S3's largest object. */
export const MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB;

/** A part size as `part-size=` takes it: whole MiB where it is one, bytes otherwise. */
export function partSizeSetting(bytes: number): string {
  return bytes % MiB === 0 ? `${bytes / MiB}MiB` : String(bytes);
}

/** Part and object sizes in hints, exact to two decimals (156.25 GiB). */
function formatMiB(bytes: number): string {
  return bytes >= 1024 * MiB ? `${+(bytes / 1024 / MiB).toFixed(2)} GiB` : `${+(bytes / MiB).toFixed(2)} MiB`;
}

/**
 * 16 MiB parts allow objects up to 16 MiB × 10,000 = 156.25 GiB; a larger artifact needs a
 * larger `partSize` (the location's `part-size=64MiB` → 625 GiB). The uploader holds at most
 * (queueSize + 1) parts in memory: 80 MiB with the defaults, whatever the object's size.
 */
export const DEFAULT_PART_SIZE = 16 * MiB;
export const DEFAULT_QUEUE_SIZE = 4;

/** Static credentials (from `credentials=NAME`); without them the SDK's default chain applies. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3DestinationOptions extends S3Location {
  /** Static credentials for this location only; otherwise the SDK's default chain. */
  credentials?: S3Credentials;
  /** Where they came from, for hints, e.g. `R2_ACCESS_KEY_ID / R2_SECRET_ACCESS_KEY (credentials=R2)`. */
  credentialsSource?: string;
  /** `?endpoint=…&credentials=NAME`: the settings to print with `s3://bucket/prefix` in commands (s3-location.ts builds it). */
  locationQuery?: string;
  /** Multipart part size in bytes (5 MiB – 5 GiB). The largest object is partSize × 10,000. */
  partSize?: number;
  /** Parts uploaded at once. */
  queueSize?: number;
  /** How often a download that broke off is resumed with a Range request before it fails. */
  getRetries?: number;
  /** Where AWS_REGION is looked up for endpoints given without a region (default process.env). */
  env?: Record<string, string | undefined>;
  /** A ready client (tests); otherwise one is built from the preset. */
  client?: S3Client;
}

/**
 * An S3 bucket and prefix on AWS or an S3-compatible store. Credentials are the location's own
 * (`credentials=NAME`, read by s3-location.ts) or else the SDK's default chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, profiles, the web identity token
 * that aws-actions/configure-aws-credentials sets up).
 *
 * put streams through lib-storage's Upload: a single PutObject when the body fits in one part,
 * otherwise a multipart upload with bounded parts and concurrency. S3 makes an object visible
 * only when PutObject or CompleteMultipartUpload succeeds, so a key is never half-written; a
 * failed multipart upload is aborted here so its parts neither linger nor cost money.
 */
export class S3Destination implements Destination {
  /**
   * `s3://bucket/prefix`, followed by the endpoint's host when there is one
   * (`s3://backups/db (acct.r2.cloudflarestorage.com)`), so two stores holding the same bucket
   * and prefix are told apart in every message and ordered apart for locking. Never credentials.
   */
  readonly display: string;
  /** The credential values this location holds (none with the SDK chain), for the edges to mask. */
  readonly secrets: string[];
  readonly location: string;
  readonly bucket: string;
  /** '' or a prefix ending in '/'. */
  readonly prefix: string;
  readonly preset: S3Preset;
  /** The SDK client's settings; the client itself (and the SDK) is loaded by the first request. */
  readonly clientConfig: S3ClientConfig;
  private clientReady?: Promise<S3Client>;
  private readonly endpoint?: string;
  /** `s3://bucket/prefix` without the endpoint; object names read `s3://b/p/key (host)`. */
  readonly url: string;
  /** The endpoint's host (and port) shown in `display`; undefined for AWS's default endpoints. */
  readonly endpointHost?: string;
  private readonly at: string;
  private readonly credentialsSource: string;
  readonly partSize: number;
  private readonly queueSize: number;
  private readonly getRetries: number;

  constructor(opts: S3DestinationOptions) {
    this.bucket = checkBucket(opts.bucket);
    const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    // Shown in messages only: a control character in the prefix must not break a log line.
    this.url = printable(prefix ? `s3://${this.bucket}/${prefix}` : `s3://${this.bucket}`);
    const resolved = resolveS3Config(opts, opts.env ?? process.env);
    this.preset = resolved.preset;
    this.endpoint = resolved.client.endpoint;
    this.endpointHost = this.endpoint ? printable(new URL(this.endpoint).host) : undefined;
    this.at = this.endpointHost ? ` (${this.endpointHost})` : '';
    this.display = this.url + this.at;
    this.location = this.url + (opts.locationQuery ?? '');
    if (prefix) keySegments(prefix, this.display);
    this.prefix = prefix ? `${prefix}/` : '';
    const c = opts.credentials;
    this.secrets = c ? [c.accessKeyId, c.secretAccessKey, ...(c.sessionToken ? [c.sessionToken] : [])] : [];
    this.credentialsSource = opts.credentialsSource ?? (c ? 'the credentials given' : 'AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)');
    this.partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isInteger(this.partSize) || this.partSize < MIN_PART_SIZE || this.partSize > MAX_PART_SIZE) {
      throw new UsageError(`S3 part size ${opts.partSize} is outside S3's limits of 5 MiB to 5 GiB`);
    }
    this.queueSize = Math.max(1, Math.floor(opts.queueSize ?? DEFAULT_QUEUE_SIZE));
    this.getRetries = Math.max(0, opts.getRetries ?? 3);
    this.clientConfig = {
      ...resolved.client,
      ...(c ? { credentials: { ...c } } : {}),
      // Fail a connect that hangs, and a transfer whose socket stays silent for 5 minutes,
      // instead of waiting forever; the SDK retries both.
      requestHandler: { connectionTimeout: 30_000, socketTimeout: 300_000 },
    };
    if (opts.client) this.clientReady = Promise.resolve(opts.client);
  }

  /** The SDK client, built on first use (loading the SDK then). */
  client(): Promise<S3Client> {
    return (this.clientReady ??= s3Sdk().then(({ S3Client }) => new S3Client(this.clientConfig)));
  }

  /** The client and the SDK's commands, for a request. */
  async s3(): Promise<{ client: S3Client; sdk: S3Sdk }> {
    const [client, sdk] = await Promise.all([this.client(), s3Sdk()]);
    return { client, sdk };
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<{ size: number }> {
    const Key = this.keyFor(key);
    let size = 0;
    let sourceError: unknown;
    body.on('error', (err) => (sourceError ??= err));
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        done(null, chunk);
      },
    });
    // Errors of the body and aborts travel through `counter` to the uploader, which then stops;
    // when the uploader gives up, `counter` is destroyed and the pipeline stops the body.
    pipeline(body, counter, { signal: opts.signal }).catch(() => {});
    const [{ Upload }, client] = await Promise.all([libStorage(), this.client()]);
    const upload = new Upload({
      client,
      params: { Bucket: this.bucket, Key, Body: counter },
      partSize: this.partSize,
      queueSize: this.queueSize,
      // We abort the multipart upload ourselves: the library's own abort replaces the upload's
      // error with the abort's error when the abort fails too (e.g. no s3:AbortMultipartUpload
      // permission), and the user would be told the wrong cause.
      leavePartsOnError: true,
    });
    try {
      await upload.done();
    } catch (err) {
      const abortNote = await this.abortMultipart(Key, upload.uploadId);
      // The source failed or the caller aborted: that is the cause to report, unchanged.
      if (err === sourceError && !abortNote.failed) throw err;
      throw this.failure(`upload to ${this.where(key)}`, err, abortNote.text);
    }
    return { size };
  }

  async putBytes(key: string, data: Uint8Array): Promise<void> {
    const Key = this.keyFor(key);
    const { client, sdk } = await this.s3();
    try {
      await client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key, Body: data, ContentLength: data.length }));
    } catch (err) {
      throw this.failure(`upload to ${this.where(key)}`, err);
    }
  }

  /**
   * PutObject with `If-None-Match: *`: AWS S3, R2 and MinIO answer 412 when the key exists,
   * atomically. A store that ignores the header overwrites instead (last writer wins); the HEAD
   * before it narrows that window to a race between two writers, and the lock module re-reads
   * what it wrote to confirm ownership.
   */
  async putBytesIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    const Key = this.keyFor(key);
    if (await this.stat(key)) return false;
    const { client, sdk } = await this.s3();
    const put = (conditional: boolean) =>
      client.send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key,
          Body: data,
          ContentLength: data.length,
          ...(conditional ? { IfNoneMatch: '*' } : {}),
        }),
      );
    try {
      await put(true);
      return true;
    } catch (err) {
      const status = httpStatus(err);
      // 412: the key exists. 409: another conditional write of this key is in flight; one of
      // the two wins, so report "taken" and let the caller look.
      if (status === 412 || status === 409 || errName(err) === 'PreconditionFailed') return false;
      if (status !== 501 && errName(err) !== 'NotImplemented') throw this.failure(`upload to ${this.where(key)}`, err);
    }
    // The store refuses the header outright: fall back to the HEAD check above.
    try {
      await put(false);
      return true;
    } catch (err) {
      throw this.failure(`upload to ${this.where(key)}`, err);
    }
  }

  async get(key: string, opts: { signal?: AbortSignal } = {}): Promise<Readable> {
    const Key = this.keyFor(key);
    opts.signal?.throwIfAborted();
    const { client, sdk } = await this.s3();
    let first: GetObjectCommandOutput;
    try {
      first = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key }), { abortSignal: opts.signal });
    } catch (err) {
      if (isNoSuchKey(err)) throw this.notFound(key);
      throw this.failure(`download of ${this.where(key)}`, err);
    }
    const stream = Readable.from(this.resumingBody(key, first, opts.signal), { objectMode: false, highWaterMark: MiB });
    return opts.signal ? addAbortSignal(opts.signal, stream) : stream;
  }

  async getBytes(key: string): Promise<Uint8Array | undefined> {
    const Key = this.keyFor(key);
    const { client, sdk } = await this.s3();
    try {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key }));
      return await out.Body!.transformToByteArray();
    } catch (err) {
      if (isNoSuchKey(err)) return undefined;
      throw this.failure(`download of ${this.where(key)}`, err);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.keyFor(key);
    const { client, sdk } = await this.s3();
    try {
      const out = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { key, size: out.ContentLength ?? 0, lastModified: out.LastModified };
    } catch (err) {
      // HEAD responses have no body, so a missing key and a missing bucket both read as 404;
      // the repository marker check turns that into "no repository here".
      if (httpStatus(err) === 404 || isNoSuchKey(err)) return undefined;
      throw this.failure(`reading ${this.where(key)}`, err);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix, this.display);
    const { client, sdk } = await this.s3();
    let token: string | undefined;
    let startAfter: string | undefined;
    for (;;) {
      let out;
      try {
        out = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ...(token ? { ContinuationToken: token } : {}),
            ...(startAfter ? { StartAfter: startAfter } : {}),
          }),
        );
      } catch (err) {
        throw this.failure(`listing ${this.where(prefix)}`, err);
      }
      const contents = out.Contents ?? [];
      for (const o of contents) {
        const key = o.Key?.slice(this.prefix.length);
        // Keys ending in '/' are folder placeholders made by web consoles, not objects.
        if (!key || key.endsWith('/')) continue;
        yield { key, size: o.Size ?? 0, lastModified: o.LastModified };
      }
      if (!out.IsTruncated) return;
      token = out.NextContinuationToken;
      // A store that truncates without a token still pages correctly by key.
      startAfter = token ? undefined : contents.at(-1)?.Key;
      if (!token && !startAfter) return;
    }
  }

  async delete(key: string): Promise<void> {
    const Key = this.keyFor(key);
    const { client, sdk } = await this.s3();
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (err) {
      if (isNoSuchKey(err)) return;
      throw this.failure(`deleting ${this.where(key)}`, err);
    }
  }

  // --- internals ---

  private keyFor(key: string): string {
    keySegments(key, this.display);
    return this.prefix + key;
  }

  where(key: string): string {
    return `${this.url}/${printable(key)}${this.at}`;
  }

  private notFound(key: string): NotFoundError {
    return new NotFoundError(`object ${this.where(key)} not found`);
  }

  private async abortMultipart(Key: string, uploadId: string | undefined): Promise<{ text: string; failed: boolean }> {
    if (!uploadId) return { text: '', failed: false };
    try {
      const { client, sdk } = await this.s3();
      await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId }));
      return { text: '; the multipart upload was aborted, nothing was stored', failed: false };
    } catch (err) {
      return {
        text:
          `; aborting multipart upload ${uploadId} failed as well (${describe(err)}), so its parts stay stored ` +
          'and billed until removed (aws s3api abort-multipart-upload, or a lifecycle rule for incomplete multipart uploads)',
        failed: true,
      };
    }
  }

  /**
   * The object's bytes; when the connection breaks off mid-way, the rest is fetched again with a
   * Range request pinned to the same ETag, so a long restore survives a flaky network.
   */
  private async *resumingBody(key: string, first: GetObjectCommandOutput, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const Key = this.prefix + key;
    const total = first.ContentLength;
    let res = first;
    let offset = 0;
    let attempts = 0;
    try {
      for (;;) {
        const body = res.Body as Readable;
        try {
          for await (const chunk of body) {
            offset += (chunk as Buffer).length;
            yield chunk as Buffer;
          }
          if (total === undefined || offset >= total) return;
          throw new Error(`the connection closed after ${offset} of ${total} bytes`);
        } catch (err) {
          body.destroy();
          if (signal?.aborted) throw err;
          if (attempts >= this.getRetries) throw this.readFailure(key, offset, total, attempts, err);
        }
        attempts++;
        await sleep(250 * 2 ** attempts, undefined, { signal });
        try {
          const { client, sdk } = await this.s3();
          res = await client.send(
            new sdk.GetObjectCommand({ Bucket: this.bucket, Key, Range: `bytes=${offset}-`, IfMatch: first.ETag }),
            { abortSignal: signal },
          );
        } catch (err) {
          if (httpStatus(err) === 412) {
            throw new StrongboxError(`${this.where(key)} changed while it was being downloaded`, { hint: 'run again', cause: err });
          }
          throw this.readFailure(key, offset, total, attempts, err);
        }
        if (!res.ContentRange?.startsWith(`bytes ${offset}-`)) {
          (res.Body as Readable | undefined)?.destroy();
          throw this.readFailure(key, offset, total, attempts, new Error('the store ignored the Range request, so the download cannot resume'));
        }
      }
    } finally {
      (res.Body as Readable | undefined)?.destroy();
    }
  }

  private readFailure(key: string, offset: number, total: number | undefined, attempts: number, err: unknown): StrongboxError {
    if (err instanceof StrongboxError) return err;
    const of = total === undefined ? '' : ` of ${total}`;
    const resumed = attempts ? ` (resumed ${attempts} time${attempts > 1 ? 's' : ''})` : '';
    return new StrongboxError(`download of ${this.where(key)} broke off after ${offset}${of} bytes${resumed}: ${describe(err)}`, {
      hint: 'check the network connection to the store, then run again',
      cause: err,
    });
  }

  /** A message naming the object, the store's error, and what to do about it; never credentials. */
  failure(action: string, err: unknown, extra = ''): StrongboxError {
    const name = errName(err);
    const status = httpStatus(err);
    const msg = errorMessage(err);
    const text = `${action} failed: ${printable(describe(err))}${extra}`;
    if (name === 'NoSuchBucket') {
      return new NotFoundError(`${action} failed: bucket ${this.bucket} does not exist ${this.endpoint ? `at ${this.endpoint}` : 'in AWS S3'}`, 'check the bucket name and the endpoint and region (the location\'s ?endpoint=/?region=, or --endpoint/--region)');
    }
    let hint: string | undefined;
    const code = (err as { code?: string } | undefined)?.code;
    if (name === 'CredentialsProviderError' || /could not load credentials/i.test(msg)) {
      hint = 'no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use aws-actions/configure-aws-credentials (OIDC), or give the location credentials=NAME with NAME_ACCESS_KEY_ID / NAME_SECRET_ACCESS_KEY';
    } else if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'InvalidToken' || name === 'ExpiredToken') {
      hint = `the credentials were refused: check ${this.credentialsSource} for this store`;
    } else if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301 || /region is missing/i.test(msg)) {
      hint = 'the bucket lives in another region, or none is set: pass --region (or set AWS_REGION)';
    } else if (name === 'AccessDenied' || status === 403) {
      // A HEAD answer has no body, so a wrong key and a missing permission look alike.
      hint = `check that ${this.credentialsSource} belong to this store, and that they may use bucket ${this.bucket}: Strongbox needs s3:PutObject, s3:GetObject, s3:ListBucket, s3:DeleteObject and s3:AbortMultipartUpload`;
    } else if (this.preset === 'aws' && this.endpoint && (status === 501 || status === 400) && /checksum|x-amz-sdk|x-amz-trailer|aws-chunked|not implemented/i.test(msg)) {
      hint = "this store rejects the SDK's default checksum headers: pass --preset generic (or b2, r2, minio)";
    } else if (/exceeded \d+ parts/i.test(msg) || name === 'EntityTooLarge') {
      const bigger = Math.min(MAX_PART_SIZE, 4 * this.partSize);
      const holds = (part: number) => formatMiB(Math.min(MAX_OBJECT_SIZE, MAX_PARTS * part));
      hint =
        bigger === this.partSize
          ? `the object is larger than ${MAX_PARTS} parts of ${formatMiB(this.partSize)} (${holds(this.partSize)}), the most S3 takes in one object`
          : `the object is larger than ${MAX_PARTS} parts of ${formatMiB(this.partSize)} (${holds(this.partSize)}): ` +
            `add part-size=${partSizeSetting(bigger)} to the location (objects up to ${holds(bigger)}), e.g. s3://${this.bucket}/…?part-size=${partSizeSetting(bigger)}`;
    } else if (name === 'SlowDown' || status === 503) {
      hint = 'the store is throttling requests; run again later';
    } else if (code && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EPIPE)$/.test(code) || name === 'TimeoutError') {
      hint = `could not reach ${this.endpoint ?? 'AWS S3'}: check --endpoint and the network`;
    } else if (status !== undefined && status >= 500) {
      hint = 'the store failed; run again, and check its status page if it keeps failing';
    }
    return new StrongboxError(text, { hint, cause: err });
  }
}

function checkBucket(bucket: string): string {
  // Loose on purpose: S3-compatible stores differ in what they allow; they reject the rest.
  if (!bucket || /[\s/\\@]/.test(bucket)) {
    throw new UsageError(`"${printable(bucket)}" is not a bucket name`, 'use s3://bucket/prefix');
  }
  return bucket;
}

export function errName(err: unknown): string {
  return (err as { name?: string; Code?: string } | undefined)?.Code ?? (err as Error | undefined)?.name ?? '';
}

export function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isNoSuchKey(err: unknown): boolean {
  return errName(err) === 'NoSuchKey';
}

/** `NoSuchKey (HTTP 404): The specified key does not exist.`; the SDK's messages hold no secrets. */
export function describe(err: unknown): string {
  const name = errName(err);
  const status = httpStatus(err);
  const msg = errorMessage(err);
  const head = [name && name !== 'Error' ? name : '', status ? `(HTTP ${status})` : ''].filter(Boolean).join(' ');
  if (!head) return msg;
  if (!msg || msg === name || msg === 'UnknownError') return head;
  return `${head}: ${msg}`;
}
