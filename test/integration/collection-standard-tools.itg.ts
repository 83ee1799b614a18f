import { execFileSync, spawnSync } from 'node:child_process';
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LARGE_MEMBER } from '../../src/core/collection/format.js';
import type { Manifest } from '../../src/core/types.js';
import { runCli } from '../helpers/cli.js';

/**
 * Restore without Strongbox: the README's shell block (between its marker and the fence), run
 * verbatim with the real age, zstd and jq, restores one member and a whole incremental tree
 * byte-exact, links included (a hard-linked pair as two files of the same content), from a backup taken through the CLI. Run as a user would (no
 * pipefail: `head -c` ends each `blob` pipeline early, which SIGPIPEs the stages before it).
 */
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function readmeScript(): string {
  const at = README.indexOf('<!-- collection-restore-script:');
  expect(at, 'the README marks its collection restore block').toBeGreaterThan(0);
  const open = README.indexOf('```sh\n', at);
  const close = README.indexOf('\n```', open + 6);
  return README.slice(open + 6, close);
}

let work: string;
let tree: string;
let repo: string;

/** Every entry below `root` as `type content-or-target`. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = 'dir';
        walk(r);
      } else out[r] = `file ${readFileSync(p).toString('base64')}`;
    }
  };
  walk('');
  return out;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sb-coll-tools-'));
  tree = join(work, 'tree');
  repo = join(work, 'repo');
  mkdirSync(join(tree, 'docs/deep/er'), { recursive: true });
  mkdirSync(join(tree, 'empty folder'));
  for (let i = 0; i < 40; i++) writeFileSync(join(tree, 'docs', `note ${i}.txt`), `note ${i}\n`.repeat(50 + i));
  writeFileSync(join(tree, 'docs/deep/er/ünïcode 😀.md'), 'héllo\n');
  writeFileSync(join(tree, 'empty.txt'), '');
  writeFileSync(join(tree, 'big.bin'), randomBytes(LARGE_MEMBER + 12345));
  symlinkSync('docs/note 1.txt', join(tree, 'link'));
  // The second name's index line carries `hardlink`, and its own blob: the script ignores the field.
  linkSync(join(tree, 'docs/note 2.txt'), join(tree, 'second name.txt'));
  execFileSync('age-keygen', ['-o', join(work, 'key.txt')], { stdio: 'ignore' });
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('restoring a collection with age, zstd and jq (README)', () => {
  it('restores one member and the whole tree byte-exact', async () => {
    const recipient = /public key: (age1\w+)/.exec(readFileSync(join(work, 'key.txt'), 'utf8'))![1]!;
    const r = await runCli(['backup', '--files', tree, '--incremental', '--to', repo, '--init', '--recipient', recipient]);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const manifest = JSON.parse(readFileSync(join(repo, id, 'manifest.json'), 'utf8')) as Manifest;
    const art = manifest.artifacts[0]!;
    expect(art.collection).toBeDefined();

    const run = (name: string) =>
      spawnSync('bash', ['-eu', '-c', readmeScript()], {
        cwd: work,
        env: { ...process.env, REPO: repo, ID: id, ART: art.name, NAME: name, OUT_FILE: join(work, 'one'), OUT_DIR: join(work, 'out') },
        encoding: 'utf8',
      });
    const res = run('docs/deep/er/ünïcode 😀.md');
    expect(res.status, res.stderr).toBe(0);
    expect(readFileSync(join(work, 'one'), 'utf8')).toBe('héllo\n');
    expect(snapshot(join(work, 'out'))).toEqual(snapshot(tree));

    // The large member (a pack of its own) on its own, too.
    rmSync(join(work, 'out'), { recursive: true });
    const big = run('big.bin');
    expect(big.status, big.stderr).toBe(0);
    expect(readFileSync(join(work, 'one')).equals(readFileSync(join(tree, 'big.bin')))).toBe(true);
  });
});
