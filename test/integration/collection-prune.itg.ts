import { PutObjectCommand, DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LARGE_MEMBER } from '../../src/core/collection/format.js';
import { startCli } from '../helpers/backup-fixtures.js';
import { runCli, untimed } from '../helpers/cli.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver.js';

/**
 * Collections pruned and copied through the real CLI on real repositories: `prune` collects the
 * packs only pruned backups used and keeps every pack a remaining backup uses (which still
 * verifies and restores byte-exact); a prune killed with -9 mid-collection leaves only garbage
 * the next prune collects; `copy` copies a collection's packs once. The grace period that keeps
 * young packs (a running backup may be writing them) is `--incomplete-grace`, set to 0s here.
 */
let work: string;
let tree: string;
let repo: string;
let key: string;
let recipient: string;
const BIG = LARGE_MEMBER + 100_000; // a pack of its own
const GRACE = ['--incomplete-grace', '0s'];

function du(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? du(p) : statSync(p).size;
  }
  return n;
}

/** Pack ids stored under data/ of a local repository. */
function packsOnDisk(root: string): Set<string> {
  const out = new Set<string>();
  const data = join(root, 'data');
  if (!existsSync(data)) return out;
  for (const d of readdirSync(data)) for (const f of readdirSync(join(data, d))) if (f.endsWith('.pack')) out.add(f.slice(0, -'.pack'.length));
  return out;
}

/** The packs a backup's refs name (the refs are plaintext zstd, readable without the key). */
function packsOf(root: string, id: string): Set<string> {
  const out = new Set<string>();
  for (const f of readdirSync(join(root, id)).filter((n) => n.endsWith('.refs.jsonl.zst'))) {
    const text = execFileSync('zstd', ['-dc', join(root, id, f)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    for (const l of text.split('\n').filter(Boolean)) {
      const line = JSON.parse(l) as { t?: string; id?: string; pack?: string };
      if (line.t === 'pack') out.add(line.id!);
      else if (line.pack) out.add(line.pack);
    }
  }
  return out;
}

/** Every entry below `root` with its type and full content hash: equal snapshots are byte-exact trees. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      if (st.isDirectory()) {
        out[r] = 'dir';
        walk(r);
      } else out[r] = `file ${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(readFileSync(join(root, r))).digest('hex')}`;
    }
  };
  walk('');
  return out;
}

async function cli(args: string[], env?: NodeJS.ProcessEnv) {
  const r = await runCli(args, { env });
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
  return { stdout: r.stdout, stderr: untimed(r.stderr) };
}
const backup = async (to = repo) => (await cli(['backup', '--files', tree, '--incremental', '--to', to, '--init', '--recipient', recipient])).stdout.trim();
const listed = async (from = repo) => (await cli(['list', '--from', from])).stdout.trim().split('\n').filter(Boolean);
const listedIds = async (from = repo) => (await listed(from)).map((l) => /\d{8}T\d{6}Z-[0-9a-f]{6}/.exec(l)![0]);
const verifyDeep = (id: string, from = repo) => cli(['verify', '--from', from, '--backup', id, '--deep', '--identity-file', key]);
async function restoreTo(id: string, from: string, name: string): Promise<string> {
  const target = join(work, name);
  await cli(['restore', '--from', from, '--backup', id, '--identity-file', key, '--files-target', target]);
  return target;
}
const union = (...sets: Set<string>[]) => new Set(sets.flatMap((s) => [...s]));
const minus = (a: Set<string>, b: Set<string>) => new Set([...a].filter((x) => !b.has(x)));
const smallFiles = (dir: string, n: number, seed: string) => {
  mkdirSync(join(tree, dir), { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(tree, dir, `${seed} ${i}.dat`), randomBytes(3_000 + i * 37));
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-collection-prune-'));
  tree = join(work, 'site');
  repo = join(work, 'repo');
  const kg = await runCli(['keygen']);
  key = join(work, 'key.txt');
  writeFileSync(key, kg.stdout.split('\n').filter((l) => l.startsWith('AGE-SECRET-KEY-') || l.startsWith('#')).join('\n') + '\n', { mode: 0o600 });
  recipient = /age1[0-9a-z]+/.exec(kg.stdout)![0];
  smallFiles('shared', 80, 'page'); // in every backup
  writeFileSync(join(tree, 'keep-big.bin'), randomBytes(BIG)); // in every backup, its own pack
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('collection prune and copy on real repositories', () => {
  let b3: string;

  it('prune --keep-last 1 collects the packs only pruned backups used, keeps every pack the kept one uses; it verifies and restores byte-exact', async () => {
    // b1: shared files, a big file only it holds, small files only it holds.
    writeFileSync(join(tree, 'old-big.bin'), randomBytes(BIG));
    smallFiles('b1-only', 20, 'one');
    const b1 = await backup();
    // b2: those gone, its own big file and small files, three shared files changed.
    rmSync(join(tree, 'old-big.bin'));
    rmSync(join(tree, 'b1-only'), { recursive: true });
    writeFileSync(join(tree, 'mid-big.bin'), randomBytes(BIG));
    smallFiles('b2-only', 20, 'two');
    for (let i = 0; i < 3; i++) writeFileSync(join(tree, 'shared', `page ${i}.dat`), randomBytes(4_000));
    const b2 = await backup();
    // b3: b2's own content gone again, the same shared files changed again, a new big file.
    rmSync(join(tree, 'mid-big.bin'));
    rmSync(join(tree, 'b2-only'), { recursive: true });
    writeFileSync(join(tree, 'new-big.bin'), randomBytes(BIG));
    for (let i = 0; i < 3; i++) writeFileSync(join(tree, 'shared', `page ${i}.dat`), randomBytes(4_000));
    smallFiles('b3-new', 5, 'three');
    b3 = await backup();

    const [p1, p2, p3] = [packsOf(repo, b1), packsOf(repo, b2), packsOf(repo, b3)];
    const prunedOnly = minus(union(p1, p2), p3);
    // old-big's, mid-big's and b2's small pack (b2-only + the changed files, all gone by b3).
    expect(prunedOnly.size).toBeGreaterThanOrEqual(3);
    expect([...p1].filter((p) => p3.has(p)).length, 'the shared files and keep-big stay in b1 packs').toBeGreaterThanOrEqual(2);
    expect(packsOnDisk(repo)).toEqual(union(p1, p2, p3));
    const sizeBefore = du(repo);

    const pruned = await cli(['prune', '--from', repo, '--keep-last', '1', ...GRACE, '--json']);
    const result = JSON.parse(pruned.stdout) as { removed: { id: string }[]; packsRemoved: number; packBytesRemoved: number; packs: { referenced: number; young: number; skipped?: string } };
    expect(result.removed.map((r) => r.id).sort()).toEqual([b1, b2].sort());
    expect(result.packs.skipped).toBeUndefined();
    expect(result.packsRemoved).toBe(prunedOnly.size);
    expect(result.packs).toMatchObject({ referenced: p3.size, young: 0 });
    expect(await listedIds()).toEqual([b3]);
    expect(readdirSync(repo).filter((n) => n === b1 || n === b2)).toEqual([]);
    // Exactly the kept backup's packs are left.
    expect(packsOnDisk(repo)).toEqual(p3);
    expect(du(repo)).toBeLessThan(sizeBefore - 2 * BIG);
    expect(sizeBefore - du(repo)).toBeGreaterThanOrEqual(result.packBytesRemoved);

    await verifyDeep(b3);
    expect(snapshot(await restoreTo(b3, repo, 'restored-b3'))).toEqual(snapshot(tree));
  }, 180_000);

  it('a prune killed with -9 while collecting packs leaves only garbage: the kept backup still verifies, the next prune collects the rest', async () => {
    // Two more backups, so the prune removes backups and their packs as well as the junk below.
    writeFileSync(join(tree, 'mid-big.bin'), randomBytes(BIG));
    const b4 = await backup();
    rmSync(join(tree, 'mid-big.bin'));
    writeFileSync(join(tree, 'shared', 'page 10.dat'), randomBytes(5_000));
    const b5 = await backup();
    const p5 = packsOf(repo, b5);
    expect(minus(packsOf(repo, b4), p5).size).toBeGreaterThanOrEqual(1);
    // Unreferenced packs, as killed backups leave them: enough that collecting them takes a while.
    const junk: string[] = [];
    for (let i = 0; i < 6_000; i++) {
      const id = randomBytes(16).toString('hex');
      mkdirSync(join(repo, 'data', id.slice(0, 2)), { recursive: true });
      writeFileSync(join(repo, 'data', id.slice(0, 2), `${id}.pack`), 'x');
      junk.push(id);
    }
    // Packs are deleted in key order: kill once the collection is past the first quarter.
    const marker = junk.filter((id) => id >= '40').sort()[0]!;
    const run = startCli(['prune', '--from', repo, '--keep-last', '1', ...GRACE]);
    const markerFile = join(repo, 'data', marker.slice(0, 2), `${marker}.pack`);
    const deadline = Date.now() + 60_000;
    while (existsSync(markerFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    process.kill(run.pid, 'SIGKILL');
    const killed = await run.done;
    expect(killed.code, `the prune finished before it was killed:\n${killed.stderr}`).not.toBe(0);

    const left = packsOnDisk(repo);
    const junkLeft = junk.filter((id) => left.has(id)).length;
    expect(junkLeft, 'killed mid-way: some junk collected, some left').toBeGreaterThan(0);
    expect(junkLeft).toBeLessThan(junk.length);
    // Only b5 is listed, and everything it needs is there.
    expect(await listedIds()).toEqual([b5]);
    for (const p of p5) expect(left.has(p), `pack ${p} of the kept backup`).toBe(true);
    await verifyDeep(b5);

    // The next prune (the killed one's lock is stale at once: its process is gone) collects the rest.
    const next = await cli(['prune', '--from', repo, '--keep-last', '1', ...GRACE, '--json']);
    const result = JSON.parse(next.stdout) as { removed: unknown[]; packsRemoved: number };
    expect(result.removed).toEqual([]);
    expect(result.packsRemoved).toBeGreaterThanOrEqual(junkLeft);
    expect(packsOnDisk(repo)).toEqual(p5);
    for (const id of await listedIds()) await verifyDeep(id);
    expect(snapshot(await restoreTo(b5, repo, 'restored-b5'))).toEqual(snapshot(tree));
    b3 = b5;
  }, 180_000);

  it('copy copies the collection to a second repository, which restores byte-exact; again, nothing; a new backup, only its new packs', async () => {
    const second = join(work, 'repo-copy');
    const first = await cli(['copy', '--from', repo, '--to', second, '--init', '--all']);
    expect(first.stderr).toMatch(/1 copied/);
    const kept = b3;
    expect(await listedIds(second)).toEqual([kept]);
    expect(packsOnDisk(second)).toEqual(packsOf(repo, kept));
    await verifyDeep(kept, second);
    expect(snapshot(await restoreTo(kept, second, 'restored-from-copy'))).toEqual(snapshot(tree));

    // Again: already complete there, nothing written.
    const stamp = () => [...packsOnDisk(second)].sort().map((p) => `${p} ${statSync(join(second, 'data', p.slice(0, 2), `${p}.pack`)).mtimeMs}`);
    const before = stamp();
    const again = await cli(['copy', '--from', repo, '--to', second, '--all']);
    expect(again.stderr).toMatch(/0 copied .*1 skipped/);
    expect(stamp()).toEqual(before);

    // A new backup shares all but one pack with the copied one: only that one is copied.
    writeFileSync(join(tree, 'shared', 'page 20.dat'), randomBytes(6_000));
    const b6 = await backup();
    const p6 = packsOf(repo, b6);
    const fresh = minus(p6, packsOnDisk(second));
    expect(fresh.size).toBe(1);
    const third = await cli(['copy', '--from', repo, '--to', second, '--backup', b6]);
    expect(third.stderr).toContain(`${b6}: 1 of ${p6.size} pack(s) copied and confirmed`);
    expect(third.stderr).toContain(`${p6.size - 1} already there`);
    expect(stamp().filter((l) => before.includes(l))).toEqual(before);
    await verifyDeep(b6, second);
    expect(snapshot(await restoreTo(b6, second, 'restored-b6-from-copy'))).toEqual(snapshot(tree));
  }, 180_000);
});

describe('bucket backups pruned the same way', () => {
  let s3: S3rverHandle;
  let client: S3Client;
  const env = () => ({ SRC_ACCESS_KEY_ID: s3.accessKeyId, SRC_SECRET_ACCESS_KEY: s3.secretAccessKey });
  const url = (prefix: string) => `s3://${s3.bucket}/${prefix}?endpoint=${s3.endpoint}&credentials=SRC`;
  const put = (k: string, body: Buffer) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `media/${k}`, Body: body, ContentType: 'application/octet-stream' }));
  const bucketRepo = () => join(work, 'bucket-repo');
  const bucketBackup = async () => (await cli(['backup', '--bucket', url('media'), '--to', bucketRepo(), '--init', '--unencrypted'], env())).stdout.trim();

  beforeAll(async () => {
    s3 = await startS3rver();
    client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    for (let i = 0; i < 30; i++) await put(`doc ${i}.txt`, randomBytes(2_000 + i));
    await put('keep-big.bin', randomBytes(BIG));
  }, 60_000);
  afterAll(() => s3?.stop());

  it('prune --keep-last 1 of a bucket collection keeps exactly the kept backup\'s packs, and it restores', async () => {
    await put('old-big.bin', randomBytes(BIG));
    const b1 = await bucketBackup();
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: 'media/old-big.bin' }));
    await put('mid-big.bin', randomBytes(BIG));
    const b2 = await bucketBackup();
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: 'media/mid-big.bin' }));
    const last = randomBytes(BIG);
    await put('new-big.bin', last);
    const b3 = await bucketBackup();
    const [p1, p2, p3] = [packsOf(bucketRepo(), b1), packsOf(bucketRepo(), b2), packsOf(bucketRepo(), b3)];
    expect(minus(union(p1, p2), p3).size).toBeGreaterThanOrEqual(2);
    const sizeBefore = du(bucketRepo());

    await cli(['prune', '--from', bucketRepo(), '--keep-last', '1', ...GRACE]);
    expect(await listedIds(bucketRepo())).toEqual([b3]);
    expect(packsOnDisk(bucketRepo())).toEqual(p3);
    expect(du(bucketRepo())).toBeLessThan(sizeBefore - 2 * BIG);
    await cli(['verify', '--from', bucketRepo(), '--backup', b3]);
    await cli(['restore', '--from', bucketRepo(), '--backup', b3, '--bucket-target', url('restored'), '--path', 'new-big.bin'], env());
    const out = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'restored/new-big.bin' }));
    expect(Buffer.from(await out.Body!.transformToByteArray()).equals(last)).toBe(true);
  }, 120_000);
});
