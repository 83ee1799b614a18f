import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { errName, httpStatus } from '../../destinations/s3.js';
import { libStorage } from '../../destinations/s3-sdk.js';
import { RefusedError, StrongboxError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import type { TargetContext } from '../adapter.js';
import type { CollectionRestoreOptions, CollectionRestoreResult, IndexMemberLike, RestoreMember } from '../collection.js';
import { openBucket, targetConnection, type OpenedBucket } from './connection.js';

const MiB = 1024 * 1024;
/** Members below this are read whole and sent in one PutObject (with Content-MD5); larger ones stream through a multipart upload, one at a time. */
export const SINGLE_PUT_LIMIT = 8 * MiB;
const LISTED = 300;
const SHOWN = 5;

const enum Decision {
  Skip = 0,
  Write = 1,
  Replace = 2,
  Same = 3,
}

export interface BucketRestoreSettings {
  /** Objects checked or written at once (default 8). */
  concurrency?: number;
}

/** The object key a member goes to, relative to the target's prefix. */
export function memberKey(m: IndexMemberLike): string {
  return typeof m.key === 'string' ? m.key : m.name;
}

/**
 * Writes members into a bucket. Before anything is written every target key is looked at (HEAD):
 * an object already there with the same content is left alone, one with other content refuses
 * the whole restore (exit 7, naming the first few) unless --force. `members` is iterated twice
 * (once to check, once to write; each iteration re-reads the index), so memory holds one byte
 * per member, not the members. A one-shot iterable (a generator) is held in memory instead.
 *
 * With --all-versions backups, one object per key is written: the current version, or, when
 * only older versions were selected (--path naming `key?versionId=…`), the newest of those.
 */
export async function restoreMembersToBucket(
  members: AsyncIterable<RestoreMember>,
  target: string,
  ctx: TargetContext & CollectionRestoreOptions,
  settings: BucketRestoreSettings = {},
): Promise<CollectionRestoreResult> {
  const b = openBucket(target, targetConnection(target, ctx));
  const concurrency = Math.max(1, settings.concurrency ?? 8);
  const first = members[Symbol.asyncIterator]();
  const oneShot = (first as unknown) === members;
  const held: RestoreMember[] = [];
  const decisions = new Growable();
  const result: CollectionRestoreResult = { written: 0, same: 0, replaced: 0, listed: [] };
  const conflicts: string[] = [];
  let conflictCount = 0;

  // Pass 1: choose, look at the target, decide. Nothing is written.
  const pool = new Pool(concurrency);
  let total = 0;
  for await (const group of keyGroups(iterate(first), oneShot ? held : undefined)) {
    for (const { member, index, chosen } of group) {
      if (!chosen) continue;
      await pool.run(async () => {
        const d = await decide(b, member.member);
        decisions.set(index, d);
        if (d === Decision.Replace) {
          conflictCount++;
          if (conflicts.length < SHOWN) conflicts.push(memberKey(member.member));
        }
      });
    }
    total += group.length;
  }
  await pool.drain();

  if (conflictCount && !ctx.force) {
    const more = conflictCount > conflicts.length ? ` and ${conflictCount - conflicts.length} more` : '';
    throw new RefusedError(
      `${conflictCount} object(s) in ${b.display} differ from the backup (${conflicts.map((k) => printable(k)).join(', ')}${more}); nothing was written`,
      'rerun with --force to replace them, or restore into an empty bucket or another prefix',
    );
  }

  // Tally (and list, for --dry-run) in member order.
  const tally = (member: IndexMemberLike, d: Decision) => {
    const action = d === Decision.Write ? 'write' : d === Decision.Replace ? 'replace' : 'same';
    if (d === Decision.Write) result.written++;
    else if (d === Decision.Replace) result.replaced++;
    else result.same++;
    if (result.listed.length < LISTED) result.listed.push({ name: member.name, action });
  };

  if (ctx.dryRun) {
    const again = oneShot ? fromArray(held) : iterate(members[Symbol.asyncIterator]());
    let i = 0;
    for await (const m of again) {
      const d = decisions.get(i++);
      if (d !== Decision.Skip) tally(m.member, d);
    }
    return result;
  }

  // Pass 2: write what pass 1 decided.
  const second = oneShot ? fromArray(held) : iterate(members[Symbol.asyncIterator]());
  let i = 0;
  const writes = new Pool(concurrency);
  for await (const m of second) {
    const d = decisions.get(i++);
    if (d === Decision.Skip) continue;
    tally(m.member, d);
    if (d === Decision.Same) continue;
    const key = b.prefix + memberKey(m.member);
    const body = m.open();
    if (m.member.size < SINGLE_PUT_LIMIT) {
      // Read whole (the stream verifies the content as it ends), then sent while the next is read.
      const data = body ? await readAll(body) : Buffer.alloc(0);
      await writes.run(() => putSmall(b, key, data, m.member));
    } else {
      await writes.drain();
      await putLarge(b, key, body!, m.member);
    }
  }
  await writes.drain();
  if (i !== total) {
    throw new StrongboxError(`the backup's members were read twice and came out different (${total}, then ${i}); the target may be partly written`, { hint: 'run the restore again' });
  }
  ctx.reporter.info(`Wrote ${result.written + result.replaced} object(s) to ${b.display}${result.replaced ? ` (${result.replaced} replaced)` : ''}, ${result.same} already there with the same content`);
  return result;
}

/** What the target holds at a member's key: nothing (write), the same content (same), or other content (replace). */
async function decide(b: OpenedBucket, m: IndexMemberLike): Promise<Decision> {
  const Key = b.prefix + memberKey(m);
  const { client, sdk } = await b.store.s3();
  let head;
  try {
    head = await client.send(new sdk.HeadObjectCommand({ Bucket: b.bucket, Key }));
  } catch (err) {
    if (httpStatus(err) === 404 || errName(err) === 'NotFound' || errName(err) === 'NoSuchKey') return Decision.Write;
    throw b.store.failure(`reading ${b.store.url}/${printable(memberKey(m))}`, err);
  }
  if ((head.ContentLength ?? -1) !== m.size) return Decision.Replace;
  if (typeof m.etag === 'string' && head.ETag === m.etag) return Decision.Same;
  if (m.size === 0) return Decision.Same;
  // Same size, another ETag (another part size, SSE-KMS, or other bytes): read it back and compare SHA-256.
  if (typeof m.sha256 !== 'string') return Decision.Replace;
  try {
    const out = await client.send(new sdk.GetObjectCommand({ Bucket: b.bucket, Key }));
    const hash = createHash('sha256');
    for await (const chunk of out.Body as Readable) hash.update(chunk as Buffer);
    return hash.digest('hex') === m.sha256 ? Decision.Same : Decision.Replace;
  } catch (err) {
    throw b.store.failure(`reading ${b.store.url}/${printable(memberKey(m))}`, err);
  }
}

function headers(m: IndexMemberLike) {
  const s = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const meta = m.metadata && typeof m.metadata === 'object' ? (m.metadata as Record<string, string>) : undefined;
  const expires = s(m.expires);
  return {
    ...(s(m.contentType) ? { ContentType: s(m.contentType) } : {}),
    ...(meta && Object.keys(meta).length ? { Metadata: { ...meta } } : {}),
    ...(s(m.cacheControl) ? { CacheControl: s(m.cacheControl) } : {}),
    ...(s(m.contentEncoding) ? { ContentEncoding: s(m.contentEncoding) } : {}),
    ...(s(m.contentDisposition) ? { ContentDisposition: s(m.contentDisposition) } : {}),
    ...(s(m.contentLanguage) ? { ContentLanguage: s(m.contentLanguage) } : {}),
    ...(expires ? { Expires: new Date(expires) } : {}),
  };
}

async function putSmall(b: OpenedBucket, Key: string, data: Buffer, m: IndexMemberLike): Promise<void> {
  const md5 = createHash('md5').update(data).digest();
  const { client, sdk } = await b.store.s3();
  try {
    await client.send(
      new sdk.PutObjectCommand({ Bucket: b.bucket, Key, Body: data, ContentLength: data.length, ContentMD5: md5.toString('base64'), ...headers(m) }),
    );
  } catch (err) {
    throw b.store.failure(`upload to ${b.store.url}/${printable(memberKey(m))}`, err);
  }
}

async function putLarge(b: OpenedBucket, Key: string, body: Readable, m: IndexMemberLike): Promise<void> {
  // lib-storage completes the multipart upload only after the body ended, i.e. after the content
  // was verified; a verification error aborts the upload and nothing appears at the key.
  const [{ Upload }, client] = await Promise.all([libStorage(), b.store.client()]);
  const upload = new Upload({ client, params: { Bucket: b.bucket, Key, Body: body, ...headers(m) }, partSize: b.store.partSize, queueSize: 4 });
  try {
    await upload.done();
  } catch (err) {
    if (err instanceof StrongboxError) throw err;
    throw b.store.failure(`upload to ${b.store.url}/${printable(memberKey(m))}`, err);
  }
}

interface Placed {
  member: RestoreMember;
  index: number;
  chosen: boolean;
}

/**
 * Members grouped by target key (the versions of one key are adjacent), with the one to write
 * marked: the current version, else the newest by lastModified.
 */
async function* keyGroups(source: AsyncIterable<RestoreMember>, hold?: RestoreMember[]): AsyncGenerator<Placed[]> {
  let group: Placed[] = [];
  let key: string | undefined;
  let index = 0;
  const finish = (): Placed[] => {
    const done = group;
    group = [];
    if (!done.length) return done;
    let pick = done.find((p) => p.member.member.isLatest !== false);
    if (!pick) {
      pick = done.reduce((a, c) => (String(c.member.member.lastModified ?? '') > String(a.member.member.lastModified ?? '') ? c : a));
    }
    pick.chosen = true;
    return done;
  };
  for await (const member of source) {
    hold?.push(member);
    const k = memberKey(member.member);
    if (k !== key) {
      const done = finish();
      if (done.length) yield done;
      key = k;
    }
    group.push({ member, index: index++, chosen: false });
  }
  const done = finish();
  if (done.length) yield done;
}

async function* iterate<T>(it: AsyncIterator<T>): AsyncGenerator<T> {
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield r.value;
  }
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** One byte per member, grown by doubling. */
class Growable {
  private bytes = new Uint8Array(1024);
  set(i: number, v: Decision): void {
    while (i >= this.bytes.length) {
      const next = new Uint8Array(this.bytes.length * 2);
      next.set(this.bytes);
      this.bytes = next;
    }
    this.bytes[i] = v;
  }
  get(i: number): Decision {
    return (i < this.bytes.length ? this.bytes[i] : 0) as Decision;
  }
}

/** At most `limit` tasks at once; the first failure is thrown by the next run() or drain(). */
export class Pool {
  private running = new Set<Promise<void>>();
  private failed: unknown;
  private hasFailed = false;
  constructor(private readonly limit: number) {}
  async run(task: () => Promise<void>): Promise<void> {
    this.check();
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.check();
    const p: Promise<void> = task()
      .catch((err: unknown) => {
        if (!this.hasFailed) {
          this.hasFailed = true;
          this.failed = err;
        }
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }
  async drain(): Promise<void> {
    await Promise.all(this.running);
    this.check();
  }
  private check(): void {
    if (this.hasFailed) throw this.failed;
  }
}
