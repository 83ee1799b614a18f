// Bundles the actions and the CLI into dist/ (committed: a GitHub Action runs without `npm install`).
// ESM with code splitting, so the five entry points share one copy of the core and the AWS SDK.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';

const entries = readdirSync('src/entries').filter((f) => f.endsWith('.ts'));
rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: Object.fromEntries(entries.map((f) => [f.replace(/\.ts$/, ''), `src/entries/${f}`])),
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
  // Some bundled CommonJS dependencies call require(); give them one in ESM output.
  banner: { js: "import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);" },
});
