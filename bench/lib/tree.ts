import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A deterministic "mixed" file tree: by bytes 70% incompressible (AES-CTR keystream, as fast
 * as the disk) and 30% compressible text (JSON lines, logs, CSV), in files of log-normally
 * varied sizes (a few bytes to tens of MB, ~300 KB mean: ~2,000 files per 600 MB) spread over
 * nested directories. The same seed and size always give the same bytes, so a tree is
 * generated once and reused from the cache.
 */

export interface TreeSpec {
  bytes: number;
  seed: string;
  randomShare: number;
  meanFileBytes: number;
}

export interface TreeInfo extends TreeSpec {
  path: string;
  files: number;
  dirs: number;
  randomBytes: number;
  textBytes: number;
}

const FORMAT = 1; // bump when the generator changes, so stale caches are rebuilt

/** sfc32: small, fast and plenty for choosing sizes and words. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: string) {
    const h = createHash('sha256').update(seed).digest();
    this.a = h.readUInt32LE(0);
    this.b = h.readUInt32LE(4);
    this.c = h.readUInt32LE(8);
    this.d = h.readUInt32LE(12);
    for (let i = 0; i < 16; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  float(): number {
    return this.u32() / 2 ** 32;
  }
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  normal(): number {
    const u = 1 - this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float());
  }
}

export interface FilePlan {
  rel: string;
  size: number;
  kind: 'random' | 'jsonl' | 'log' | 'csv';
}

function plan(spec: TreeSpec): { dirs: string[]; files: FilePlan[] } {
  const rng = new Rng(`${spec.seed}/plan`);
  const count = Math.max(20, Math.round(spec.bytes / spec.meanFileBytes));
  // Log-normal sizes (median ≈ mean/14 with σ = 2.3), capped so one file is never most of the tree.
  const cap = Math.max(1, Math.floor(spec.bytes * 0.04));
  const raw = Array.from({ length: count }, () => Math.min(cap, Math.exp(Math.log(spec.meanFileBytes / 14) + 2.3 * rng.normal())));
  const scale = spec.bytes / raw.reduce((a, b) => a + b, 0);
  const sizes = raw.map((s) => Math.max(0, Math.min(cap, Math.round(s * scale))));
  sizes[0]! += spec.bytes - sizes.reduce((a, b) => a + b, 0);

  // Directories: each hangs under a random earlier one (or the root), at most 5 deep.
  const dirs: string[] = [''];
  const dirCount = Math.max(4, Math.round(count / 20));
  for (let i = 0; i < dirCount; i++) {
    const parent = rng.pick(dirs);
    const depth = parent === '' ? 0 : parent.split('/').length;
    dirs.push(depth >= 5 ? `d${i}` : parent ? `${parent}/d${i}` : `d${i}`);
  }

  // Kinds by bytes: biggest files first, each to the class furthest below its share.
  const order = sizes.map((s, i) => ({ s, i })).sort((x, y) => y.s - x.s || x.i - y.i);
  const kinds = new Array<'random' | 'text'>(count);
  let rand = 0;
  let text = 0;
  for (const { s, i } of order) {
    const after = rand + text + s;
    const wantRandom = spec.randomShare * after - rand >= (1 - spec.randomShare) * after - text;
    kinds[i] = wantRandom ? 'random' : 'text';
    if (wantRandom) rand += s;
    else text += s;
  }
  const files = sizes.map((size, i): FilePlan => {
    const kind = kinds[i] === 'random' ? 'random' : rng.pick(['jsonl', 'log', 'csv'] as const);
    const ext = { random: rng.pick(['.bin', '.jpg', '.gz', '.dat']), jsonl: '.jsonl', log: '.log', csv: '.csv' }[kind];
    const dir = rng.pick(dirs);
    const name = `f${String(i).padStart(5, '0')}${ext}`;
    return { rel: dir ? `${dir}/${name}` : name, size, kind };
  });
  return { dirs, files };
}

const WORDS = (
  'order invoice customer payment refund shipment warehouse account session token cache ' +
  'request response timeout retry backup restore verify database table index query commit ' +
  'rollback user admin guest alpha beta gamma delta north south east west red green blue ' +
  'small large queued running finished failed ok error warning info debug trace service ' +
  'api web worker cron batch stream upload download region zone node cluster pod deploy'
).split(' ');
const LEVELS = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];

export function textLine(kind: FilePlan['kind'], rng: Rng, n: number): string {
  const ts = new Date(1_700_000_000_000 + n * 1013 + rng.int(1000)).toISOString();
  const words = (k: number) => Array.from({ length: k }, () => rng.pick(WORDS)).join(' ');
  switch (kind) {
    case 'jsonl':
      return `{"id":${n},"ts":"${ts}","user":"u${rng.int(50_000)}","event":"${rng.pick(WORDS)}.${rng.pick(WORDS)}","amount":${(rng.float() * 1000).toFixed(2)},"tags":["${rng.pick(WORDS)}","${rng.pick(WORDS)}"],"note":"${words(3 + rng.int(8))}","ref":"${rng.u32().toString(16)}"}\n`;
    case 'log':
      return `${ts} ${rng.pick(LEVELS)} [${rng.pick(WORDS)}-${rng.int(16)}] ${words(4 + rng.int(10))} id=${rng.u32().toString(16)} ms=${rng.int(5000)}\n`;
    default:
      return `${n},${ts},${rng.pick(WORDS)},${rng.pick(WORDS)},${rng.int(1_000_000)},${(rng.float() * 100).toFixed(3)},"${words(2 + rng.int(5))}"\n`;
  }
}

const BLOCK = 1 << 20;

function writeFile(path: string, f: FilePlan, seed: string): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    if (f.kind === 'random') {
      const key = createHash('sha256').update(`${seed}/${f.rel}`).digest();
      const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
      const zeros = Buffer.alloc(BLOCK);
      for (let left = f.size; left > 0; left -= BLOCK) writeSync(fd, cipher.update(zeros.subarray(0, Math.min(BLOCK, left))));
    } else {
      const rng = new Rng(`${seed}/${f.rel}`);
      let line = 0;
      for (let left = f.size; left > 0; ) {
        const parts: string[] = [];
        let len = 0;
        while (len < Math.min(left, BLOCK)) {
          const l = textLine(f.kind, rng, line++);
          parts.push(l);
          len += l.length;
        }
        const buf = Buffer.from(parts.join(''), 'latin1').subarray(0, Math.min(left, BLOCK));
        writeSync(fd, buf);
        left -= buf.length;
      }
    }
  } finally {
    closeSync(fd);
  }
}

function specKey(spec: TreeSpec): string {
  return `tree-${spec.bytes}-${spec.seed.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** Returns the cached tree for `spec`, generating it first if it is missing or stale. */
export function ensureTree(cacheDir: string, spec: TreeSpec, log: (line: string) => void): TreeInfo {
  const path = join(cacheDir, specKey(spec));
  const marker = `${path}.json`;
  const wanted = JSON.stringify({ format: FORMAT, ...spec });
  if (existsSync(marker) && existsSync(path)) {
    const info = JSON.parse(readFileSync(marker, 'utf8')) as TreeInfo & { format: number };
    if (JSON.stringify({ format: info.format, bytes: info.bytes, seed: info.seed, randomShare: info.randomShare, meanFileBytes: info.meanFileBytes }) === wanted) {
      return { ...info, path };
    }
  }
  const t0 = performance.now();
  log(`generating a ${(spec.bytes / 1e6).toFixed(0)} MB tree in ${path} (seed ${spec.seed}; cached for later runs)…`);
  rmSync(marker, { force: true });
  rmSync(path, { recursive: true, force: true });
  const partial = `${path}.partial`;
  rmSync(partial, { recursive: true, force: true });
  const { dirs, files } = plan(spec);
  for (const d of dirs) mkdirSync(join(partial, d), { recursive: true });
  for (const f of files) {
    mkdirSync(dirname(join(partial, f.rel)), { recursive: true });
    writeFile(join(partial, f.rel), f, spec.seed);
  }
  renameSync(partial, path);
  const randomBytes = files.filter((f) => f.kind === 'random').reduce((a, f) => a + f.size, 0);
  const info: TreeInfo = { ...spec, path, files: files.length, dirs: dirs.length - 1, randomBytes, textBytes: spec.bytes - randomBytes };
  writeFileSync(marker, JSON.stringify({ format: FORMAT, ...info }, null, 2));
  log(`  ${info.files} files in ${info.dirs} directories, ${((randomBytes / spec.bytes) * 100).toFixed(1)}% random bytes, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return info;
}

/** Reads every file once so that each measured case starts from a warm page cache. */
export function warmTree(root: string): number {
  const buf = Buffer.allocUnsafe(BLOCK);
  let total = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const fd = openSync(p, 'r');
        try {
          for (let n; (n = readSync(fd, buf)) > 0; ) total += n;
        } finally {
          closeSync(fd);
        }
      }
    }
  };
  walk(root);
  return total;
}
