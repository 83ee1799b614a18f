import { spawn, spawnSync } from 'node:child_process';
import { Duplex, PassThrough, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { StrongboxError, UsageError } from '../shared/errors.js';
/** The compressions an artifact may have (the manifest's `compression.algorithm`). */
export type Compression = 'zstd' | 'gzip' | 'none';
import { childEnvironment } from '../shared/sensitive-env.js';

/**
 * Compression stages. zstd is the default. When the standard `zstd` CLI is on PATH (it is on
 * GitHub's runners and most servers) we stream through it: in its own process it compresses
 * ~1.6× faster than zlib's zstd and overlaps with our hashing and encryption instead of
 * competing with them (bench/README.md has the figures). One thread by default: when our main
 * thread produces the data (node-tar), a second zstd thread only competes with it on two
 * cores. A source whose producer is cheap for us (a file read, another process) may ask for
 * two (`threads`). Otherwise Node ≥ 22.15's zlib zstd runs in-process; on an older Node
 * without the CLI, zstd is refused with a hint. Both write the same standard format. gzip is
 * always zlib.
 *
 * zlib's default 16 KiB output chunk costs ~40% throughput on incompressible data, so every
 * stage here uses 1 MiB chunks.
 */
const CHUNK = 1 << 20;

export const DEFAULT_LEVEL: Record<Compression, number | undefined> = { zstd: 3, gzip: 6, none: undefined };
const LEVEL_RANGE: Record<'zstd' | 'gzip', [number, number]> = { zstd: [1, 19], gzip: [1, 9] };

export function parseCompression(value: string): Compression {
  if (value === 'zstd' || value === 'gzip' || value === 'none') return value;
  throw new UsageError(`unknown compression "${value}"`, 'use one of: zstd, gzip, none');
}

export function validateLevel(algorithm: Compression, level: number | undefined): number | undefined {
  if (algorithm === 'none') return undefined;
  if (level === undefined) return DEFAULT_LEVEL[algorithm];
  const [lo, hi] = LEVEL_RANGE[algorithm];
  if (!Number.isInteger(level) || level < lo || level > hi) {
    throw new UsageError(`compression level ${level} is out of range for ${algorithm} (${lo}..${hi})`);
  }
  return level;
}

/** File-name suffix of the compressed stream, e.g. `.zst`. */
export function compressionExtension(algorithm: Compression): string {
  return algorithm === 'zstd' ? '.zst' : algorithm === 'gzip' ? '.gz' : '';
}

let cliAvailable: boolean | undefined;
/** Whether the `zstd` command runs; asked once per process. */
export function hasZstdCli(): boolean {
  cliAvailable ??= spawnSync('zstd', ['--version'], { stdio: 'ignore', env: childEnvironment() }).status === 0;
  return cliAvailable;
}

export function hasNativeZstd(): boolean {
  return typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === 'function';
}

/** Which zstd implementation to use; tests pin one, everyone else lets it choose. */
export type ZstdEngine = 'auto' | 'cli' | 'zlib';

function useCli(engine: ZstdEngine): boolean {
  if (engine === 'zlib' && !hasNativeZstd()) throw new StrongboxError(`this Node (${process.version}) has no zstd in zlib`);
  return engine === 'cli' || (engine === 'auto' && (hasZstdCli() || !hasNativeZstd()));
}

/**
 * zstd's job size for the CLI at levels ≤ 5 (a window of at most 2 MiB). Its default is four
 * windows (8 MiB at -3), and each thread holds a job's input and output: 4 MiB jobs cut the
 * CLI's RSS from ~46 to ~25 MB (-T1) and ~58 to ~32 MB (-T2) for 0.1% more output, as fast
 * (bench/README.md). Higher levels keep zstd's default, which their larger window needs.
 */
const JOB_SIZE_ARG = '-B4M';

export interface CompressorOptions {
  engine?: ZstdEngine;
  /** Threads for the zstd CLI (1 unless the producer leaves a core free); zlib ignores it. */
  threads?: 1 | 2;
}

export function createCompressor(algorithm: Compression, level?: number, engineOrOptions: ZstdEngine | CompressorOptions = 'auto'): Transform | Duplex | undefined {
  const { engine = 'auto', threads = 1 } = typeof engineOrOptions === 'string' ? { engine: engineOrOptions } : engineOrOptions;
  const lvl = validateLevel(algorithm, level);
  switch (algorithm) {
    case 'none':
      return undefined;
    case 'gzip':
      return zlib.createGzip({ level: lvl, chunkSize: CHUNK });
    case 'zstd':
      // If not installed: fails with the install hint.
      if (useCli(engine)) return zstdCli(['-c', `-${lvl}`, `-T${threads}`, ...(lvl! <= 5 ? [JOB_SIZE_ARG] : [])]);
      const z = zlib as unknown as ZstdZlib;
      return z.createZstdCompress({ chunkSize: CHUNK, params: { [z.constants.ZSTD_c_compressionLevel]: lvl, [z.constants.ZSTD_c_checksumFlag]: 1 } });
  }
}

export function createDecompressor(algorithm: Compression, engine: ZstdEngine = 'auto'): Transform | Duplex | undefined {
  switch (algorithm) {
    case 'none':
      return undefined;
    case 'gzip':
      return zlib.createGunzip({ chunkSize: CHUNK });
    case 'zstd':
      // --long=31 accepts any window a zstd writer may have used.
      if (useCli(engine)) return zstdCli(['-d', '-c', '--long=31']);
      return (zlib as unknown as ZstdZlib).createZstdDecompress({ chunkSize: CHUNK });
  }
}

interface ZstdZlib {
  createZstdCompress(opts: object): Transform;
  createZstdDecompress(opts: object): Transform;
  constants: { ZSTD_c_compressionLevel: number; ZSTD_c_checksumFlag: number };
}

/** A Duplex over `zstd` reading stdin and writing stdout; fails if zstd fails or is missing. */
function zstdCli(args: string[]): Duplex {
  // Its own process group, so a terminal's Ctrl-C reaches only us; the teardown below stops it.
  const child = spawn('zstd', ['-q', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: childEnvironment(), detached: process.platform !== 'win32' });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  // The output ends only once zstd has exited 0: a corrupt input must error the stream, not
  // end it cleanly with whatever zstd printed before noticing.
  const output = new PassThrough({ highWaterMark: CHUNK });
  child.stdout.pipe(output, { end: false });
  const duplex = Duplex.from({ writable: child.stdin, readable: output });
  child.on('error', (err: NodeJS.ErrnoException) =>
    duplex.destroy(
      err.code === 'ENOENT'
        ? new StrongboxError('zstd compression needs Node ≥ 22.15 or the `zstd` command on PATH', {
            hint: 'install zstd (apt-get install zstd), or choose --compression gzip',
          })
        : err,
    ),
  );
  child.on('close', (code, signal) => {
    if (code === 0) output.end();
    else duplex.destroy(new StrongboxError(`zstd failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`));
  });
  // If our side is torn down early (an upstream error), don't leave zstd running.
  duplex.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return duplex;
}
