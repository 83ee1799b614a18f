/**
 * `node --import tsx bench/stages.ts [--size 600M] [--runs N] [--node PATH]…` — where a
 * backup's and a restore's time goes: every stage of our pipeline timed alone on the same
 * bytes (the cached tree, its tar, tar.zst and tar.zst.age), next to the CLI tool doing the
 * same job. Each stage runs in its own process: wall time is that of the stage itself
 * (startup excluded), CPU is the whole process tree's (child zstd included) minus an idle
 * process's, and peak RSS is the tree's. Results go to bench/out/stages.{md,json}.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Writable, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseSize } from './lib/args.js';
import { measure, median } from './lib/measure.js';
import { ensureTree } from './lib/tree.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const outDir = join(here, 'out');
const IO = 1 << 20;

interface Files {
  tree: string;
  tar: string;
  zst: string;
  age: string;
  key: string;
  recipient: string;
  scratch: string;
}

interface WorkerResult {
  seconds: number;
  bytesIn: number;
}

/** A sink that only counts. */
function drain(count: { n: number }): Writable {
  return new Writable({
    highWaterMark: IO,
    write(chunk: Buffer, _e, cb) {
      count.n += chunk.length;
      cb();
    },
  });
}

const read = (file: string) => createReadStream(file, { highWaterMark: IO });

/** One stage, in this process: returns the stage's own wall time. */
async function worker(stage: string, f: Files): Promise<WorkerResult> {
  const { dumpFiles } = await import('../src/sources/files/archive.js');
  const { restoreFiles } = await import('../src/sources/files/extract.js');
  const { createCompressor, createDecompressor } = await import('../src/codecs/compress.js');
  const { createEncryptStream, createDecryptStream, parseIdentityFile } = await import('../src/codecs/age/index.js');
  const { HashingStream } = await import('../src/codecs/hash.js');
  const { LocalDestination } = await import('../src/destinations/local.js');
  const { silentReporter } = await import('../src/shared/reporter.js');
  const identities = () => parseIdentityFile(readFileSync(f.key, 'utf8'));
  const count = { n: 0 };
  const size = (file: string) => statSync(file).size;
  const run = async (input: () => Readable, ...stages: (Transform | NodeJS.ReadWriteStream | undefined)[]) => {
    await pipeline([input(), ...stages.filter((s) => s !== undefined), drain(count)] as unknown as [Readable, Writable]);
  };

  const t0 = performance.now();
  let bytesIn = 0;
  switch (stage) {
    case 'idle':
      break;
    case 'read':
      await run(() => read(f.tar));
      bytesIn = size(f.tar);
      break;
    case 'tar (node-tar)': {
      const dump = dumpFiles(f.tree, { reporter: silentReporter });
      await Promise.all([run(() => dump.stream), dump.completed]);
      bytesIn = count.n;
      break;
    }
    case 'sha256':
      await run(() => read(f.tar), new HashingStream());
      bytesIn = size(f.tar);
      break;
    case 'zstd -3 (ours)':
      await run(() => read(f.tar), createCompressor('zstd', 3));
      bytesIn = size(f.tar);
      break;
    case 'age encrypt (ours)':
      await run(() => read(f.zst), createEncryptStream({ recipients: [f.recipient] }));
      bytesIn = size(f.zst);
      break;
    case 'local put + fsync (ours)': {
      const dest = new LocalDestination(join(f.scratch, 'dest'));
      await dest.put('x/obj', read(f.age));
      bytesIn = size(f.age);
      break;
    }
    case 'backup, no destination (ours)': {
      // source → sha256 → zstd → age → sha256, as writeArtifact arranges it, into a counter.
      const dump = dumpFiles(f.tree, { reporter: silentReporter });
      const enc = createEncryptStream({ recipients: [f.recipient] });
      await Promise.all([run(() => dump.stream, new HashingStream(), createCompressor('zstd', 3), enc, new HashingStream()), dump.completed]);
      bytesIn = size(f.tar);
      break;
    }
    case 'age decrypt (ours)':
      await run(() => read(f.age), createDecryptStream({ identities: identities() }));
      bytesIn = size(f.age);
      break;
    case 'unzstd (ours)':
      await run(() => read(f.zst), createDecompressor('zstd'));
      bytesIn = size(f.tar);
      break;
    case 'untar (node-tar, ours)': {
      const target = join(f.scratch, 'untar');
      rmSync(target, { recursive: true, force: true });
      await restoreFiles(read(f.tar), target, { force: false, reporter: silentReporter });
      bytesIn = size(f.tar);
      break;
    }
    case 'read → sha256 → decrypt → unzstd → sha256 (ours)':
      await run(() => read(f.age), new HashingStream(), createDecryptStream({ identities: identities() }), createDecompressor('zstd'), new HashingStream());
      bytesIn = size(f.tar);
      break;
    default:
      throw new Error(`unknown stage ${stage}`);
  }
  return { seconds: (performance.now() - t0) / 1000, bytesIn };
}

interface StageDef {
  name: string;
  /** Our code (run in a worker process) or a shell command doing the same job. */
  shell?: (f: Files) => string;
  input: (f: Files) => number;
  after?: (f: Files) => void;
}

const sz = (p: string) => statSync(p).size;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const clean = (p: string) => () => rmSync(p, { recursive: true, force: true });

function stageDefs(f: Files): StageDef[] {
  const untarTarget = join(f.scratch, 'untar');
  return [
    { name: 'read', input: () => sz(f.tar) },
    { name: 'tar (node-tar)', input: () => sz(f.tar) },
    { name: 'tar (GNU tar)', shell: () => `tar -cf - -C ${q(dirname(f.tree))} ${q(basename(f.tree))} | cat > /dev/null`, input: () => sz(f.tar) },
    { name: 'sha256', input: () => sz(f.tar) },
    { name: 'sha256 (sha256sum)', shell: () => `sha256sum ${q(f.tar)} > /dev/null`, input: () => sz(f.tar) },
    { name: 'zstd -3 (ours)', input: () => sz(f.tar) },
    { name: 'zstd -3 -T1 (CLI)', shell: () => `zstd -q -3 -T1 -c ${q(f.tar)} > /dev/null`, input: () => sz(f.tar) },
    { name: 'zstd -3 -T2 (CLI)', shell: () => `zstd -q -3 -T2 -c ${q(f.tar)} > /dev/null`, input: () => sz(f.tar) },
    { name: 'age encrypt (ours)', input: () => sz(f.zst) },
    { name: 'age encrypt (age CLI)', shell: () => `age -r ${f.recipient} ${q(f.zst)} > /dev/null`, input: () => sz(f.zst) },
    { name: 'local put + fsync (ours)', input: () => sz(f.age), after: clean(join(f.scratch, 'dest')) },
    { name: 'backup, no destination (ours)', input: () => sz(f.tar) },
    { name: 'age decrypt (ours)', input: () => sz(f.age) },
    { name: 'age decrypt (age CLI)', shell: () => `age -d -i ${q(f.key)} ${q(f.age)} > /dev/null`, input: () => sz(f.age) },
    { name: 'unzstd (ours)', input: () => sz(f.tar) },
    { name: 'unzstd (CLI)', shell: () => `zstd -q -d -c ${q(f.zst)} > /dev/null`, input: () => sz(f.tar) },
    { name: 'untar (node-tar, ours)', input: () => sz(f.tar), after: clean(untarTarget) },
    { name: 'untar (GNU tar)', shell: () => `mkdir -p ${q(untarTarget)} && tar -xf ${q(f.tar)} -C ${q(untarTarget)}`, input: () => sz(f.tar), after: clean(untarTarget) },
    { name: 'read → sha256 → decrypt → unzstd → sha256 (ours)', input: () => sz(f.tar) },
  ];
}

async function orchestrate(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '600M' },
      seed: { type: 'string', default: 'strongbox-bench-1' },
      runs: { type: 'string', default: '1' },
      node: { type: 'string', multiple: true },
      only: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const nodes = values.node?.length ? values.node : [process.execPath];
  const tree = ensureTree(join(outDir, 'cache'), { bytes: parseSize(values.size!), seed: values.seed!, randomShare: 0.7, meanFileBytes: 300_000 }, (l) => process.stderr.write(`${l}\n`));
  const scratch = join(outDir, 'stages-work');
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const key = join(scratch, 'key.txt');
  execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
  const recipient = /public key: (age1[0-9a-z]+)/.exec(readFileSync(key, 'utf8'))![1]!;
  const f: Files = { tree: tree.path, tar: join(scratch, 'tree.tar'), zst: join(scratch, 'tree.tar.zst'), age: join(scratch, 'tree.tar.zst.age'), key, recipient, scratch };
  process.stderr.write('preparing tar, tar.zst and tar.zst.age of the tree…\n');
  execFileSync('bash', ['-c', `set -euo pipefail; tar -cf ${q(f.tar)} -C ${q(dirname(f.tree))} ${q(basename(f.tree))}; zstd -q -3 -T2 -f ${q(f.tar)} -o ${q(f.zst)}; age -r ${recipient} -o ${q(f.age)} ${q(f.zst)}; cat ${q(f.tar)} ${q(f.zst)} ${q(f.age)} > /dev/null`]);

  const only = values.only ? new RegExp(values.only, 'i') : undefined;
  const rows: { node: string; stage: string; mbps: number; seconds: number; cpu: number; rssMb: number; inputMb: number }[] = [];
  for (const node of nodes) {
    const version = execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    const workerCmd = (stage: string) => ({ command: node, args: ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', stage, '--files', JSON.stringify(f)], cwd: repo, captureStdout: true });
    // The CPU an idle worker burns (node + tsx start-up), subtracted from every worker stage.
    const idleRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await measure(workerCmd('idle'));
      idleRuns.push(m.userSeconds + m.sysSeconds);
    }
    const idleCpu = median(idleRuns);
    process.stderr.write(`Node ${version}: an idle worker uses ${idleCpu.toFixed(2)} s CPU (subtracted below)\n`);
    for (const def of stageDefs(f)) {
      if (only && !only.test(def.name)) continue;
      if (def.shell && node !== nodes[0]) continue; // CLI tools do not depend on the Node version
      const samples: { seconds: number; cpu: number; rss: number }[] = [];
      for (let i = 0; i < runs; i++) {
        execFileSync('sync');
        const m = await measure(def.shell ? { command: 'bash', args: ['-c', `set -euo pipefail; ${def.shell(f)}`] } : workerCmd(def.name));
        def.after?.(f);
        if (m.exitCode !== 0) {
          process.stderr.write(`  ${def.name}: FAILED ${m.stderrTail}\n`);
          continue;
        }
        const seconds = def.shell ? m.wallSeconds : (JSON.parse(m.stdout) as WorkerResult).seconds;
        samples.push({ seconds, cpu: m.userSeconds + m.sysSeconds - (def.shell ? 0 : idleCpu), rss: m.peakRssBytes });
      }
      if (!samples.length) continue;
      const seconds = median(samples.map((s) => s.seconds));
      const row = {
        node: def.shell ? '' : version,
        stage: def.name,
        inputMb: def.input(f) / 1e6,
        seconds,
        mbps: def.input(f) / 1e6 / seconds,
        cpu: median(samples.map((s) => s.cpu)),
        rssMb: Math.max(...samples.map((s) => s.rss)) / 1e6,
      };
      rows.push(row);
      process.stderr.write(`  ${row.stage}${row.node ? ` (Node ${row.node})` : ''}: ${row.mbps.toFixed(0)} MB/s, ${seconds.toFixed(2)} s, CPU ${row.cpu.toFixed(2)} s, RSS ${row.rssMb.toFixed(0)} MB\n`);
    }
  }
  const md = [
    `## Stages, ${(tree.bytes / 1e6).toFixed(0)} MB tree (tar ${(sz(f.tar) / 1e6).toFixed(0)} MB → zst ${(sz(f.zst) / 1e6).toFixed(0)} MB) — ${new Date().toISOString()}`,
    '',
    'MB/s is of each stage\'s own input (the tar for tar, sha256, zstd, unzstd and untar; the .zst for encrypt; the .age for decrypt and put). CPU s: user+sys of the process tree, minus an idle worker\'s start-up for our stages.',
    '',
    '| Stage | Node | Input MB | MB/s | Wall s | CPU s | Peak RSS MB |',
    '|---|---|--:|--:|--:|--:|--:|',
    ...rows.map((r) => `| ${r.stage.replace(/\|/g, '\\|')} | ${r.node} | ${r.inputMb.toFixed(0)} | ${r.mbps.toFixed(0)} | ${r.seconds.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.rssMb.toFixed(0)} |`),
    '',
  ].join('\n');
  writeFileSync(join(outDir, 'stages.md'), md);
  writeFileSync(join(outDir, 'stages.json'), JSON.stringify({ date: new Date().toISOString(), tree: { ...tree, path: undefined }, rows }, null, 2));
  process.stdout.write(`\n${md}`);
  rmSync(scratch, { recursive: true, force: true });
}

const argv = process.argv.slice(2);
if (argv[0] === '--worker') {
  const result = await worker(argv[1]!, JSON.parse(argv[3]!) as Files);
  process.stdout.write(JSON.stringify(result));
} else {
  await orchestrate();
}
