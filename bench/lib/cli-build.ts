import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * What the benchmark runs as `strongbox`. Users run the bundle (dist/cli.js), so we measure a
 * bundle: dist/ when it is newer than every source file, otherwise a private bundle of the
 * current src/ built exactly like scripts/build.mjs into bench/out/bundle (dist/ belongs to
 * the build, and a stale one would measure old code). `tsx` runs the sources directly.
 */
export type RunnerKind = 'dist' | 'bundle' | 'tsx';

export interface CliRunner {
  kind: RunnerKind;
  /** Arguments to `node` before the strongbox arguments. */
  nodeArgs: string[];
  description: string;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export async function prepareRunner(repo: string, outDir: string, wanted: RunnerKind | 'auto'): Promise<CliRunner> {
  const dist = join(repo, 'dist', 'cli.js');
  const srcNewest = newestMtime(join(repo, 'src'));
  const distFresh = existsSync(dist) && newestMtime(join(repo, 'dist')) >= srcNewest;
  if (wanted === 'tsx') {
    return { kind: 'tsx', nodeArgs: ['--import', 'tsx', join(repo, 'src', 'entries', 'cli.ts')], description: 'sources via tsx' };
  }
  if (wanted === 'dist' || (wanted === 'auto' && distFresh)) {
    if (!existsSync(dist)) throw new Error('--runner dist: dist/cli.js does not exist (npm run build)');
    return { kind: 'dist', nodeArgs: [dist], description: distFresh ? 'dist/cli.js (fresh)' : 'dist/cli.js (OLDER than src/)' };
  }
  const outdir = join(outDir, 'bundle');
  const entries = readdirSync(join(repo, 'src', 'entries')).filter((f) => f.endsWith('.ts'));
  await build({
    entryPoints: Object.fromEntries(entries.map((f) => [f.replace(/\.ts$/, ''), join(repo, 'src', 'entries', f)])),
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunks/[name]-[hash]',
    legalComments: 'none',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);" },
  });
  return {
    kind: 'bundle',
    nodeArgs: [join(outdir, 'cli.js')],
    description: `bundle of the current src/ (bench/out/bundle; dist/ ${existsSync(dist) ? 'is older than src/' : 'not built'})`,
  };
}

/**
 * A bench script bundled like the CLI (one file, no tsx at start-up), so that a case comparing
 * it with our bundle compares the work, not the loaders.
 */
export async function bundleScript(entry: string, outfile: string): Promise<string> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    legalComments: 'none',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);" },
  });
  return outfile;
}
