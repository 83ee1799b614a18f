/**
 * A restore's memory must follow the entries in flight, not the number of files: node-tar's
 * own path reservations kept every finished entry (~3.6 KB a file, 543 MB for 100,000 files),
 * so a restore of a large tree ran out of memory and aborted. Here a tree of 20,000 files is
 * restored by the CLI under a 64 MB heap limit, which the old ~70 MB of retained entries
 * exceeded (V8's "heap out of memory", exit 134, staging left behind).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { hasGnuTar } from '../../src/sources/files/gnu-tar.js';

const run = promisify(execFile);
const DIRS = 100;
const PER_DIR = 200;
let work: string;
let key: string;
let repo: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sb-restore-memory-'));
  key = join(work, 'key.txt');
  await run('age-keygen', ['-o', key]);
  const recipient = (await run('age-keygen', ['-y', key])).stdout.trim();
  const src = join(work, 'src');
  for (let d = 0; d < DIRS; d++) {
    const dir = join(src, `d${d}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: PER_DIR }, (_, f) => writeFile(join(dir, `f${f}.txt`), `file ${d}/${f}\n`)));
  }
  repo = join(work, 'repo');
  const b = await runCli(['backup', '--to', repo, '--init', '--files', src, '--recipient', recipient]);
  expect(b.code, b.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('restore memory does not grow with the number of files', () => {
  // node-tar's own path reservations kept ~3.6 KB a file (path-reservations.ts); the GNU tar engine's checks keep folders and links only.
  it.each(hasGnuTar() ? ['node', 'gnu'] : ['node'])(`restores ${DIRS * PER_DIR} files under a 64 MB heap limit, every file intact (%s tar engine)`, async (engine) => {
    const target = join(work, `out-${engine}`, 'target');
    const r = await runCli(['restore', '--from', repo, '--identity-file', key, '--files-target', target], {
      env: { NODE_OPTIONS: '--max-old-space-size=64', STRONGBOX_TAR_ENGINE: engine },
    });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    let files = 0;
    for (const d of await readdir(target)) files += (await readdir(join(target, d))).length;
    expect(files).toBe(DIRS * PER_DIR);
    expect(await readFile(join(target, `d${DIRS - 1}`, `f${PER_DIR - 1}.txt`), 'utf8')).toBe(`file ${DIRS - 1}/${PER_DIR - 1}\n`);
    // Nothing left beside the target: no staging folder.
    expect(await readdir(dirname(target))).toEqual(['target']);
  }, 180_000);
});
