import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../helpers/backup-fixtures.js';
import { runCli, untimed } from '../helpers/cli.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver.js';

/** Buckets end to end through the CLI: s3rver as the source and (another instance) as the target. */
const MiB = 1024 * 1024;
const N = 2000;
let src: S3rverHandle;
let dst: S3rverHandle;
let srcClient: S3Client;
let dstClient: S3Client;
let dir: string;
const objects = new Map<string, { body: Buffer; contentType: string; metadata?: Record<string, string> }>();
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const client = (s: S3rverHandle) => new S3Client({ endpoint: s.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } });
const env = () => ({ SRC_ACCESS_KEY_ID: src.accessKeyId, SRC_SECRET_ACCESS_KEY: src.secretAccessKey, DST_ACCESS_KEY_ID: dst.accessKeyId, DST_SECRET_ACCESS_KEY: dst.secretAccessKey });
const source = (prefix = 'clients') => `s3://${src.bucket}/${prefix}?endpoint=${src.endpoint}&credentials=SRC`;
const target = (prefix: string) => `s3://${dst.bucket}/${prefix}?endpoint=${dst.endpoint}&credentials=DST`;
const repo = () => join(dir, 'repo');
const backup = (...extra: string[]) => runCli(['backup', '--bucket', source(), '--to', repo(), '--unencrypted', '--state-dir', join(dir, 'state'), ...extra], { env: env() });

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}
async function put(key: string, o: { body: Buffer; contentType: string; metadata?: Record<string, string> }) {
  objects.set(key, o);
  if (o.body.length > 5 * MiB) {
    await new Upload({ client: srcClient, params: { Bucket: src.bucket, Key: `clients/${key}`, Body: o.body, ContentType: o.contentType, Metadata: o.metadata }, partSize: 5 * MiB }).done();
  } else {
    await srcClient.send(new PutObjectCommand({ Bucket: src.bucket, Key: `clients/${key}`, Body: o.body, ContentType: o.contentType, Metadata: o.metadata }));
  }
}
async function packStored(): Promise<boolean> {
  const entries = await readdir(join(repo(), 'data'), { recursive: true }).catch(() => [] as string[]);
  return entries.some((e) => e.endsWith('.pack'));
}
async function duBytes(p: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(p, { withFileTypes: true, recursive: true })) if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  return total;
}

beforeAll(async () => {
  [src, dst] = await Promise.all([startS3rver({ accessKeyId: 'SRCKEY', secretAccessKey: 'srcsecret-xyz' }), startS3rver({ accessKeyId: 'DSTKEY', secretAccessKey: 'dstsecret-xyz' })]);
  srcClient = client(src);
  dstClient = client(dst);
  dir = await mkdtemp(join(tmpdir(), 'strongbox-bucket-'));
  const keys: string[] = [];
  for (let i = 0; i < N; i++) keys.push(`client-${String(i % 40).padStart(2, '0')}/doc ${i}.txt`);
  keys.push('ünïcödé/ファイル.txt', 'a+b=c.txt', '100% done.txt', 'folder/', 'big/one.bin', 'big/two.bin', 'big/three.bin');
  await pool(keys, 32, (k) =>
    put(k, {
      body: k === 'folder/' ? Buffer.alloc(0) : k.startsWith('big/') ? randomBytes(6 * MiB) : randomBytes(200 + (k.length * 13) % 1500),
      contentType: k.endsWith('.txt') ? 'text/plain; charset=utf-8' : 'application/octet-stream',
      ...(k.includes('5') ? { metadata: { client: k.split('/')[0]!, reviewed: 'yes' } } : {}),
    }),
  );
}, 120_000);
afterAll(async () => {
  await Promise.all([src?.stop(), dst?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function checkRestored(prefix: string, keys: string[]) {
  // 16 at a time: one by one, the 2,000 GetObjects of the whole bucket took a quarter of the suite.
  await pool(keys, 16, async (key) => {
    const o = objects.get(key)!;
    const out = await dstClient.send(new GetObjectCommand({ Bucket: dst.bucket, Key: `${prefix}/${key}` }));
    expect(sha(Buffer.from(await out.Body!.transformToByteArray())), key).toBe(sha(o.body));
    expect(out.ContentType, key).toBe(o.contentType);
    expect(out.Metadata ?? {}, key).toEqual(o.metadata ?? {});
  });
}

describe('bucket backups', () => {
  it('backs up every object (after a run killed with -9 that left nothing listed), then only what changed; restores a bucket, a prefix and one object', async () => {
    // kill -9 once the run has stored its first pack: nothing listed, and the next run succeeds.
    const killed = startCli(['backup', '--bucket', source(), '--to', repo(), '--init', '--unencrypted', '--state-dir', join(dir, 'state')], env());
    const deadline = Date.now() + 60_000;
    while (!(await packStored()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    process.kill(killed.pid, 'SIGKILL');
    expect((await killed.done).code, 'killed before it finished').not.toBe(0);
    const none = await runCli(['list', '--from', repo()]);
    expect(none.stdout.trim()).toBe('');

    await src.stats(true);
    const first = await backup('--init');
    expect(first.code, first.stderr).toBe(0);
    expect((await src.stats()).getObject).toBe(objects.size);
    expect(first.stderr).not.toContain('srcsecret-xyz');

    // 1 % changed.
    const changed = [...objects.keys()].filter((k) => k.startsWith('client-')).slice(0, N / 100);
    let changedBytes = 0;
    await pool(changed, 16, (k) => {
      const body = randomBytes(objects.get(k)!.body.length);
      changedBytes += body.length;
      return put(k, { ...objects.get(k)!, body });
    });
    const before = await duBytes(join(repo(), 'data'));
    await src.stats(true);
    const second = await backup();
    expect(second.code, second.stderr).toBe(0);
    expect((await src.stats()).getObject).toBe(changed.length);
    const growth = (await duBytes(join(repo(), 'data'))) - before;
    expect(growth).toBeLessThan(changedBytes * 1.2 + 4096);

    // The whole bucket into an empty one, byte-exact with content types and metadata.
    const whole = await runCli(['restore', '--from', repo(), '--bucket-target', target('all')], { env: env() });
    expect(whole.code, whole.stderr).toBe(0);
    await checkRestored('all', [...objects.keys()]);

    // A prefix: --dry-run first lists it and writes nothing. The dry run and the rerun below look
    // at every target key (a HEAD each), so they run on the prefix, not on all 2,000 objects.
    const seven = [...objects.keys()].filter((k) => k.startsWith('client-07/'));
    await dst.stats(true);
    const dry = await runCli(['restore', '--from', repo(), '--bucket-target', target('part'), '--path', 'client-07/**', '--dry-run'], { env: env() });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would write ${seven[0]}`);
    expect(dry.stdout).toContain(`${seven.length} to write, 0 to replace, 0 unchanged (dry run: nothing was written)`);
    expect((await dst.stats()).putObject).toBe(0);
    await expect(dstClient.send(new GetObjectCommand({ Bucket: dst.bucket, Key: `part/${seven[0]}` }))).rejects.toThrow();
    const part = await runCli(['restore', '--from', repo(), '--bucket-target', target('part'), '--path', 'client-07/**'], { env: env() });
    expect(part.code, part.stderr).toBe(0);
    await checkRestored('part', seven);
    // Again: all there with the same content, nothing written, no --force needed.
    await dst.stats(true);
    const again = await runCli(['restore', '--from', repo(), '--bucket-target', target('part'), '--path', 'client-07/**'], { env: env() });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`0 written, 0 replaced, ${seven.length} unchanged`);
    expect((await dst.stats()).putObject).toBe(0);

    // One object.
    const one = await runCli(['restore', '--from', repo(), '--bucket-target', target('one'), '--path', 'ünïcödé/ファイル.txt'], { env: env() });
    expect(one.code, one.stderr).toBe(0);
    await checkRestored('one', ['ünïcödé/ファイル.txt']);

    // A differing object at the target is refused without --force.
    await dstClient.send(new PutObjectCommand({ Bucket: dst.bucket, Key: 'one/ünïcödé/ファイル.txt', Body: 'edited' }));
    const refused = await runCli(['restore', '--from', repo(), '--bucket-target', target('one'), '--path', 'ünïcödé/ファイル.txt'], { env: env() });
    expect(refused.code).toBe(7);
    expect(untimed(refused.stderr)).toContain('ファイル.txt');
  });

  it('refuses a mass delete at the source (both counts), unless --allow-shrink; refuses an empty listing', async () => {
    const gone = [...objects.keys()].filter((k) => k.startsWith('client-')).slice(0, Math.ceil(N * 0.6));
    for (let i = 0; i < gone.length; i += 1000) {
      await srcClient.send(new DeleteObjectsCommand({ Bucket: src.bucket, Delete: { Objects: gone.slice(i, i + 1000).map((k) => ({ Key: `clients/${k}` })) } }));
    }
    const refused = await backup();
    expect(refused.code, refused.stderr).toBe(7);
    const total = objects.size;
    expect(untimed(refused.stderr)).toContain(String(total));
    expect(untimed(refused.stderr)).toContain(String(total - gone.length));
    const allowed = await backup('--allow-shrink');
    expect(allowed.code, allowed.stderr).toBe(0);

    const empty = await runCli(['backup', '--bucket', source('nothing-here'), '--to', repo(), '--unencrypted'], { env: env() });
    expect(empty.code, empty.stderr).toBe(7);
  });
});
