/**
 * `node --import tsx bench/pipeline-variants.ts [--size 600M] [--runs 3] [--only REGEX]` —
 * what-if measurements for the backup pipeline, in-process, built from the real src/ stages
 * (node-tar source, SHA-256, zstd, age, local destination). Each variant changes one thing
 * (no read-back, hashing on worker threads, periodic fdatasync, …) so its effect can be read
 * off directly. Besides wall time it reports the main thread's CPU time (from /proc, so
 * steady when other processes compete for the cores) and its event-loop utilisation: a
 * pipeline whose JS thread is busy ~100% of the wall time is bound by that one thread,
 * whatever the other core does.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PassThrough, Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { OutputBatch } from '../src/codecs/age/batch.js';
import { createEncryptStream } from '../src/codecs/age/index.js';
import { createCompressor } from '../src/codecs/compress.js';
import { HashingStream } from '../src/codecs/hash.js';
import { fanOut } from '../src/core/fan-out.js';
import { silentReporter } from '../src/shared/reporter.js';
import { LocalDestination } from '../src/destinations/local.js';
import { dumpFiles } from '../src/sources/files/archive.js';
import { parseSize } from './lib/args.js';
import { median, settle } from './lib/measure.js';
import { ensureTree } from './lib/tree.js';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, 'out');
const IO = 1 << 20;

/** SHA-256 on a worker thread: the stream thread only copies each chunk (~10 GB/s) and posts it. */
class WorkerHashingStream extends Transform {
  private readonly worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const h = require('node:crypto').createHash('sha256');
     parentPort.on('message', (m) => { if (m === 'end') parentPort.postMessage(h.digest('hex')); else h.update(new Uint8Array(m)); });`,
    { eval: true },
  );
  bytes = 0;
  digest?: Promise<string>;
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    const copy = new ArrayBuffer(chunk.length);
    new Uint8Array(copy).set(chunk);
    this.worker.postMessage(copy, [copy]);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    this.digest = new Promise((res) => this.worker.once('message', (d: string) => res(d)));
    this.worker.postMessage('end');
    void this.digest.then(() => this.worker.terminate());
    cb();
  }
}

/** A local-destination stand-in that writes like LocalDestination.put, with optional periodic fdatasync. */
async function putFile(file: string, body: Readable, opts: { fsync: boolean; datasyncEvery?: number }): Promise<void> {
  const fh = await open(file, 'wx', 0o600);
  let sinceSync = 0;
  let pending: Promise<void> | undefined;
  const out = new Writable({
    highWaterMark: IO,
    async writev(chunks, cb) {
      try {
        const bufs = chunks.map((c) => c.chunk as Buffer);
        await fh.writev(bufs);
        sinceSync += bufs.reduce((n, b) => n + b.length, 0);
        if (opts.datasyncEvery && sinceSync >= opts.datasyncEvery) {
          sinceSync = 0;
          // Start write-back of what is written so far without waiting for it: at most one in flight.
          await pending;
          pending = fh.datasync();
        }
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    async final(cb) {
      try {
        await pending;
        if (opts.fsync) await fh.sync();
        await fh.close();
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  await pipeline(body, out);
}

async function readBackHash(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: IO })) h.update(chunk as Buffer);
  return h.digest('hex');
}

interface Variant {
  name: string;
  source?: 'node-tar' | 'gnu-tar';
  hash?: 'main' | 'worker' | 'none';
  dest?: 'local' | 'datasync' | 'nofsync';
  readBack?: boolean;
  /** Queue this many bytes before and after the compressor, so it can work while the JS thread does. */
  buffer?: number;
  /** Push each ciphertext piece as it comes instead of concatenating chunk and tag (one copy less). */
  uncoalesced?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'as shipped (LocalDestination, read-back)', readBack: true },
  { name: 'no read-back (--confirm-upload size)' },
  { name: 'no read-back, own put (fsync at end)', dest: 'local' },
  { name: 'no read-back, fdatasync every 32 MiB', dest: 'datasync' },
  { name: 'no read-back, no fsync (upper bound)', dest: 'nofsync' },
  { name: 'no read-back, hashes on worker threads', hash: 'worker' },
  { name: 'no read-back, no hashing (upper bound)', hash: 'none' },
  { name: 'no read-back, GNU tar source (upper bound)', source: 'gnu-tar' },
  { name: 'worker hashes + fdatasync every 32 MiB + no read-back', hash: 'worker', dest: 'datasync' },
  { name: 'no read-back, 8 MiB queues around zstd', buffer: 8 << 20 },
  { name: 'no read-back, ciphertext not coalesced', uncoalesced: true },
  { name: 'read-back, 8 MiB queues around zstd', buffer: 8 << 20, readBack: true },
];

/** CPU seconds of this process's main thread alone (its /proc task has the process id). */
function mainThreadCpu(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function runVariant(v: Variant, tree: string, recipient: string, scratch: string) {
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const file = join(scratch, 'obj');
  const elu0 = performance.eventLoopUtilization();
  const main0 = mainThreadCpu();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();

  let source: Readable;
  let completed: Promise<unknown>;
  if (v.source === 'gnu-tar') {
    const child = spawn('tar', ['-cf', '-', '-C', dirname(tree), basename(tree)], { stdio: ['ignore', 'pipe', 'inherit'] });
    source = child.stdout;
    completed = new Promise((res) => child.on('close', res));
  } else {
    const dump = dumpFiles(tree, { reporter: silentReporter });
    source = dump.stream;
    completed = dump.completed;
  }
  const hasher = () => (v.hash === 'worker' ? new WorkerHashingStream() : v.hash === 'none' ? undefined : new HashingStream());
  const plain = hasher();
  const stored = hasher();
  const compressor = createCompressor('zstd', 3);
  const { input, outputs } = fanOut(1);
  const encryptor = createEncryptStream({ recipients: [recipient] });
  if (v.uncoalesced) {
    // Experiment only: swap the encryptor's private output batch for one that never concatenates.
    const e = encryptor as unknown as { batch: OutputBatch };
    e.batch = new OutputBatch((data) => encryptor.push(data), 1);
  }
  const queue = () => (v.buffer ? new PassThrough({ highWaterMark: v.buffer }) : undefined);
  const stages = [source, plain, queue(), compressor, queue(), encryptor, stored, input].filter((s) => s !== undefined);
  const put =
    v.dest === undefined
      ? new LocalDestination(scratch).put('obj', outputs[0]!)
      : putFile(file, outputs[0]!, { fsync: v.dest !== 'nofsync', datasyncEvery: v.dest === 'datasync' ? 32 << 20 : undefined });
  await Promise.all([pipeline(stages as unknown as [Readable, Writable]), completed, put]);
  if (plain instanceof WorkerHashingStream) await plain.digest;
  if (stored instanceof WorkerHashingStream) await stored.digest;
  if (v.readBack) await readBackHash(file);

  const seconds = (performance.now() - t0) / 1000;
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  return { seconds, mainBusy: elu.active / 1000, mainCpu: mainThreadCpu() - main0, processCpu: (cpu.user + cpu.system) / 1e6 };
}

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '600M' },
    seed: { type: 'string', default: 'strongbox-bench-1' },
    runs: { type: 'string', default: '3' },
    only: { type: 'string' },
  },
});
const tree = ensureTree(join(outDir, 'cache'), { bytes: parseSize(values.size!), seed: values.seed!, randomShare: 0.7, meanFileBytes: 300_000 }, (l) => process.stderr.write(`${l}\n`));
const scratch = join(outDir, 'variants-work');
mkdirSync(scratch, { recursive: true });
const keyFile = join(outDir, 'variants-key.txt');
rmSync(keyFile, { force: true });
execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
const recipient = /public key: (age1[0-9a-z]+)/.exec(readFileSync(keyFile, 'utf8'))![1]!;
const only = values.only ? new RegExp(values.only, 'i') : undefined;
const variants = VARIANTS.filter((v) => !only || only.test(v.name));
const results = new Map<string, { seconds: number; mainBusy: number; mainCpu: number; processCpu: number }[]>();
// Round-robin, so that load from the machine's other users spreads over all variants.
for (let r = 0; r < Number(values.runs); r++) {
  for (const v of variants) {
    execFileSync('sync');
    const others = await settle(10);
    const res = await runVariant(v, tree.path, recipient, join(scratch, 'w'));
    (results.get(v.name) ?? results.set(v.name, []).get(v.name)!).push(res);
    process.stderr.write(`  ${v.name}: ${res.seconds.toFixed(2)} s, event loop busy ${res.mainBusy.toFixed(2)} s, main thread CPU ${res.mainCpu.toFixed(2)} s, process CPU ${res.processCpu.toFixed(2)} s (others used ${others.toFixed(1)} cores just before)\n`);
  }
}
const lines = [
  `## Backup pipeline variants, Node ${process.versions.node}, ${(tree.bytes / 1e6).toFixed(0)} MB tree (median of ${values.runs})`,
  '',
  '| Variant | MB/s | Wall s | Event loop busy s | Main thread CPU s | Process CPU s (all threads, excl. a zstd child) |',
  '|---|--:|--:|--:|--:|--:|',
];
for (const v of variants) {
  const rs = results.get(v.name)!;
  const s = median(rs.map((x) => x.seconds));
  lines.push(`| ${v.name} | ${(tree.bytes / 1e6 / s).toFixed(0)} | ${s.toFixed(2)} | ${median(rs.map((x) => x.mainBusy)).toFixed(2)} | ${median(rs.map((x) => x.mainCpu)).toFixed(2)} | ${median(rs.map((x) => x.processCpu)).toFixed(2)} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
rmSync(scratch, { recursive: true, force: true });
rmSync(keyFile, { force: true });
