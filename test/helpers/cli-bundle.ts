import { build } from 'esbuild';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

/**
 * Integration globalSetup: bundles src/entries once per run, as scripts/build.mjs does for dist/
 * (same esbuild options), into a temp folder, for runCli/startCli to spawn. Each CLI child then
 * starts in ~0.4 s of CPU instead of ~2 s for tsx transpiling the source tree on every start, and
 * the suites spawn the CLI hundreds of times. It is built from the working tree's src/ at the
 * start of the run, never from the committed dist/. STRONGBOX_TEST_CLI=tsx runs the sources
 * through tsx instead (for a stack trace that names src/ lines).
 */
export default async function setup(project: TestProject): Promise<() => void> {
  if (process.env.STRONGBOX_TEST_CLI === 'tsx') return () => {};
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'strongbox-test-cli-'));
  const entries = readdirSync(join(root, 'src/entries')).filter((f) => f.endsWith('.ts'));
  await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(entries.map((f) => [f.replace(/\.ts$/, ''), `src/entries/${f}`])),
    outdir: dir,
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
  // Readable by the tests that run the CLI as another user (setpriv).
  chmodSync(dir, 0o755);
  project.provide('strongboxCliBundle', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    strongboxCliBundle: string | undefined;
  }
}
