import { createCipheriv, createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Rng, textLine, type FilePlan } from './tree.js';

/**
 * The collection cases' data: a bucket of small objects (and the 1 % that changes between two
 * backups), a private copy of the bench tree whose 1 % of files is rewritten in place between
 * two backups, and a tree of many tiny files for the memory case. Everything is deterministic
 * (seeded), so every round and every tool sees the same bytes.
 */

type Kind = FilePlan['kind'];

/** AES-CTR keystream (incompressible) or generated text lines, `size` bytes. */
export function content(kind: Kind, size: number, seed: string): Buffer {
  if (kind === 'random') {
    const key = createHash('sha256').update(seed).digest();
    return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
  }
  const rng = new Rng(seed);
  const parts: string[] = [];
  let len = 0;
  for (let n = 0; len < size; n++) {
    const l = textLine(kind, rng, n);
    parts.push(l);
    len += l.length;
  }
  return Buffer.from(parts.join(''), 'latin1').subarray(0, size);
}

// ---------------------------------------------------------------- the bucket

export interface BucketObject {
  key: string;
  size: number;
  kind: Kind;
}

export interface BucketPlan {
  prefix: string;
  objects: BucketObject[];
  bytes: number;
  /** Indexes of the 1 % of objects rewritten before the second backup. */
  changed: number[];
  changedBytes: number;
}

/** `count` objects of 1–100 KB (uniform), 70 % incompressible and 30 % text by count, under `prefix/`. */
export function bucketPlan(count: number, seed: string, prefix = 'clients'): BucketPlan {
  const rng = new Rng(`${seed}/bucket`);
  const objects: BucketObject[] = [];
  for (let i = 0; i < count; i++) {
    const kind: Kind = rng.float() < 0.7 ? 'random' : rng.pick(['jsonl', 'log', 'csv'] as const);
    const ext = kind === 'random' ? rng.pick(['.pdf', '.jpg', '.zip', '.bin']) : `.${kind}`;
    const size = 1000 + rng.int(99_001);
    objects.push({ key: `${prefix}/c${String(rng.int(60)).padStart(2, '0')}/${2020 + rng.int(6)}/doc-${String(i).padStart(6, '0')}${ext}`, size, kind });
  }
  const changed = pickShare(objects.length, 0.01, new Rng(`${seed}/bucket-changed`));
  return { prefix, objects, bytes: objects.reduce((a, o) => a + o.size, 0), changed, changedBytes: changed.reduce((a, i) => a + objects[i]!.size, 0) };
}

/** `share` of `n` indexes (at least one), chosen at random, sorted. */
function pickShare(n: number, share: number, rng: Rng): number[] {
  const want = Math.max(1, Math.round(n * share));
  const chosen = new Set<number>();
  while (chosen.size < want) chosen.add(rng.int(n));
  return [...chosen].sort((a, b) => a - b);
}

/** Version 0 is the original content; version 1 what the changed objects hold in the second backup. */
const objectBody = (o: BucketObject, seed: string, version: number) => content(o.kind, o.size, `${seed}/object/${o.key}/v${version}`);

export function s3Client(endpoint: string, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
}

/** PUTs the given objects at `version`, `concurrency` at a time. */
export async function putObjects(client: S3Client, bucket: string, objects: BucketObject[], seed: string, version: number, concurrency = 16): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < objects.length; i = next++) {
      const o = objects[i]!;
      const type = o.kind === 'random' ? 'application/octet-stream' : o.kind === 'jsonl' ? 'application/x-ndjson' : `text/${o.kind === 'log' ? 'plain' : 'csv'}`;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: objectBody(o, seed, version), ContentType: type, Metadata: { client: o.key.split('/')[1]! } }));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

// ---------------------------------------------------------------- the incremental tree

export interface IncrementalTree {
  /** The private copy both tools back up. */
  path: string;
  bytes: number;
  files: number;
  changed: { rel: string; size: number }[];
  changedBytes: number;
  /** Rewrites the chosen files in place (same size, new content); untimed. */
  change(): void;
  /** Puts the original bytes back (again in place); untimed. */
  reset(): void;
}

function listFiles(root: string): { rel: string; size: number }[] {
  const out: { rel: string; size: number }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push({ rel: relative(root, p), size: statSync(p).size });
    }
  };
  walk(root);
  return out;
}

function overwrite(path: string, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off, off);
  } finally {
    closeSync(fd);
  }
}

/**
 * A copy of `source` (the bench tree; the cache itself is never touched) in `dir`, with 1 % of
 * its files (at random, seeded) chosen to be rewritten: text files get other text, the others
 * other random bytes, same size, written in place (same inode, new mtime and ctime).
 */
export function incrementalTree(source: string, dir: string, seed: string): IncrementalTree {
  const path = join(dir, 'tree');
  rmSync(path, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('cp', ['-a', '--reflink=auto', source, path]);
  const files = listFiles(path);
  const changed = pickShare(files.length, 0.01, new Rng(`${seed}/tree-changed`)).map((i) => files[i]!);
  const kindOf = (rel: string): Kind => (rel.endsWith('.jsonl') ? 'jsonl' : rel.endsWith('.log') ? 'log' : rel.endsWith('.csv') ? 'csv' : 'random');
  const fresh = changed.map((f) => content(kindOf(f.rel), f.size, `${seed}/changed/${f.rel}`));
  let mutated = false;
  return {
    path,
    bytes: files.reduce((a, f) => a + f.size, 0),
    files: files.length,
    changed,
    changedBytes: changed.reduce((a, f) => a + f.size, 0),
    change() {
      changed.forEach((f, i) => overwrite(join(path, f.rel), fresh[i]!));
      mutated = true;
    },
    reset() {
      if (!mutated) return;
      for (const f of changed) overwrite(join(path, f.rel), readFileSync(join(source, f.rel)));
      mutated = false;
    },
  };
}

// ---------------------------------------------------------------- many members

export interface MembersTree {
  path: string;
  members: number;
  bytes: number;
  dirs: number;
}

/**
 * `count` tiny files (12–80 bytes, every one different) in folders of 1,000: the memory case's
 * member listing. Cached like the bench tree; 1,000,000 take ~70 s to create and ~4 GB of
 * page cache/disk blocks (one 4 KB block each).
 */
export function ensureMembersTree(cacheDir: string, count: number, seed: string, log: (line: string) => void): MembersTree {
  const path = join(cacheDir, `members-${count}-${seed.replace(/[^A-Za-z0-9_-]/g, '_')}`);
  const marker = `${path}.json`;
  if (existsSync(marker) && existsSync(path)) return { ...(JSON.parse(readFileSync(marker, 'utf8')) as MembersTree), path };
  const t0 = performance.now();
  log(`creating ${count} tiny files in ${path} (cached for later runs)…`);
  rmSync(marker, { force: true });
  rmSync(path, { recursive: true, force: true });
  const partial = `${path}.partial`;
  rmSync(partial, { recursive: true, force: true });
  const rng = new Rng(`${seed}/members`);
  const perDir = 1000;
  const dirs = Math.ceil(count / perDir);
  let bytes = 0;
  for (let d = 0; d < dirs; d++) {
    // Two levels (gNNN/dNNN) so no folder holds more than 1,000 entries up to 1,000,000 members.
    const folder = join(partial, `g${String(Math.floor(d / 1000)).padStart(3, '0')}`, `d${String(d % 1000).padStart(3, '0')}`);
    mkdirSync(folder, { recursive: true });
    for (let f = 0; f < perDir && d * perDir + f < count; f++) {
      const i = d * perDir + f;
      const body = `member ${i} ${rng.u32().toString(16)}${'.'.repeat(rng.int(60))}\n`;
      writeFileSync(join(folder, `m${String(f).padStart(3, '0')}.txt`), body);
      bytes += body.length;
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  renameSync(partial, path);
  const info: MembersTree = { path, members: count, bytes, dirs };
  writeFileSync(marker, JSON.stringify(info, null, 2));
  log(`  ${count} files, ${(bytes / 1e6).toFixed(1)} MB, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return info;
}
