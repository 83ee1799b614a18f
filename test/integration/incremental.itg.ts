import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LARGE_MEMBER } from '../../src/core/collection/format.js';
import type { Manifest } from '../../src/core/types.js';
import { startCli } from '../helpers/backup-fixtures.js';
import { runCli, untimed } from '../helpers/cli.js';

/**
 * Incremental file trees end to end through the CLI: a first backup stores the tree as packs,
 * index and refs; after 1 % of the files changed the second stores little more than their
 * bytes, with the state and (state folder gone) against the repository's refs; a restore gives
 * exactly what a full tar backup's restore gives; kill -9 mid-backup leaves nothing listed.
 */
let work: string;
let tree: string;
let repo: string;
let key: string;
let recipient: string;
const SMALL = 200;

function du(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? du(p) : statSync(p).size;
  }
  return n;
}

function manifestOf(id: string): Manifest {
  return JSON.parse(readFileSync(join(repo, id, 'manifest.json'), 'utf8')) as Manifest;
}

async function backup(args: string[]): Promise<{ id: string; manifest: Manifest; stderr: string }> {
  const r = await runCli(['backup', '--files', tree, '--incremental', '--to', repo, '--init', '--recipient', recipient, ...args]);
  expect(r.code, r.stderr).toBe(0);
  const id = r.stdout.trim();
  return { id, manifest: manifestOf(id), stderr: untimed(r.stderr) };
}

/** Every entry below `root`: type, mode, mtime (s), link target or content. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      const mtime = Math.floor(st.mtimeMs / 1000);
      if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${mode} ${mtime}`;
        walk(r);
      } else out[r] = `file ${mode} ${mtime} ${readFileSync(p).toString('base64').slice(0, 64)} ${st.size}`;
    }
  };
  walk('');
  return out;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-incremental-'));
  tree = join(work, 'media');
  repo = join(work, 'repo');
  const kg = await runCli(['keygen']);
  key = join(work, 'key.txt');
  writeFileSync(key, kg.stdout.split('\n').filter((l) => l.startsWith('AGE-SECRET-KEY-') || l.startsWith('#')).join('\n') + '\n', { mode: 0o600 });
  recipient = /age1[0-9a-z]+/.exec(kg.stdout)![0];
  mkdirSync(join(tree, 'albums/2024/summer'), { recursive: true });
  mkdirSync(join(tree, 'empty/nested-empty'), { recursive: true });
  mkdirSync(join(tree, 'Ünïcode ✓ names'));
  for (let i = 0; i < SMALL; i++) writeFileSync(join(tree, i % 2 ? 'albums/2024/summer' : 'albums', `photo ${i}.jpg`), randomBytes(8_000 + i * 10));
  writeFileSync(join(tree, 'Ünïcode ✓ names', 'naïve café.txt'), 'bonjour\n');
  writeFileSync(join(tree, 'secret.txt'), 'only me\n');
  chmodSync(join(tree, 'secret.txt'), 0o600);
  writeFileSync(join(tree, 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(tree, 'run.sh'), 0o755);
  symlinkSync('albums/photo 0.jpg', join(tree, 'cover.jpg'));
  symlinkSync('../nowhere', join(tree, 'dangling'));
  writeFileSync(join(tree, 'video.mp4'), randomBytes(LARGE_MEMBER + 1_000_000));
  utimesSync(join(tree, 'run.sh'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('incremental file trees', () => {
  it('the second backup after 1 % of the files changed stores little more than their bytes, with the state and without it', async () => {
    const state = join(work, 'state');
    const first = await backup(['--state-dir', state]);
    expect(first.manifest.format).toBe('1.1');
    const c1 = first.manifest.artifacts[0]!.collection!;
    expect(c1).toMatchObject({ members: SMALL + 12, newMembers: SMALL + 4, reused: 0, skipped: 0 });
    expect(c1.newPacks).toBeGreaterThanOrEqual(2); // the large file has its own
    expect(readdirSync(join(repo, first.id)).sort()).toEqual(['files-media.index.jsonl.zst.age', 'files-media.refs.jsonl.zst', 'manifest.json']);
    expect(readdirSync(state)).toHaveLength(1);

    const changeFiles = (seed: number) => {
      let bytes = 0;
      for (let i = seed; i < SMALL; i += 100) {
        const p = join(tree, i % 2 ? 'albums/2024/summer' : 'albums', `photo ${i}.jpg`);
        const data = randomBytes(9_000);
        writeFileSync(p, data);
        bytes += data.length;
      }
      return bytes;
    };
    const dataBefore = du(join(repo, 'data'));
    const changed = changeFiles(3); // 2 of 200 files
    const second = await backup(['--state-dir', state]);
    const c2 = second.manifest.artifacts[0]!.collection!;
    expect(c2).toMatchObject({ members: SMALL + 12, newMembers: 2, reused: SMALL + 2 });
    const growth = du(join(repo, 'data')) - dataBefore;
    expect(growth).toBeGreaterThanOrEqual(changed);
    expect(growth).toBeLessThan(2 * changed);
    expect(second.stderr).toMatch(/files-media: 212 members, .*; 2 new .*, 202 reused/);

    // The state folder lost (a new machine): the refs of the previous backup deduplicate.
    rmSync(state, { recursive: true });
    const before3 = du(join(repo, 'data'));
    const changed3 = changeFiles(8);
    const third = await backup([]);
    const c3 = third.manifest.artifacts[0]!.collection!;
    expect(c3).toMatchObject({ newMembers: 2, reused: SMALL + 2 });
    const growth3 = du(join(repo, 'data')) - before3;
    expect(growth3).toBeLessThan(2 * changed3);
  }, 180_000);

  it('restores exactly what a full tar backup of the same tree restores', async () => {
    const inc = await backup([]);
    const full = await runCli(['backup', '--files', tree, '--to', repo, '--recipient', recipient]);
    expect(full.code, full.stderr).toBe(0);
    const fullId = full.stdout.trim();
    const a = join(work, 'restored-incremental');
    const b = join(work, 'restored-full');
    const ra = await runCli(['restore', '--from', repo, '--backup', inc.id, '--identity-file', key, '--files-target', a]);
    expect(ra.code, ra.stderr).toBe(0);
    const rb = await runCli(['restore', '--from', repo, '--backup', fullId, '--identity-file', key, '--files-target', b]);
    expect(rb.code, rb.stderr).toBe(0);
    const sa = snapshot(a);
    expect(sa).toEqual(snapshot(b));
    expect(sa).toEqual(snapshot(tree));
    expect(sa['empty/nested-empty']).toMatch(/^dir /);
    expect(sa['cover.jpg']).toBe('link albums/photo 0.jpg');
    expect(sa['secret.txt']).toMatch(/^file 600 /);
    expect(readFileSync(join(a, 'video.mp4')).equals(readFileSync(join(tree, 'video.mp4')))).toBe(true);
  }, 180_000);

  it('kill -9 during a collection backup leaves no listed backup, and the next run succeeds', async () => {
    const listed = async () => (await runCli(['list', '--from', repo])).stdout.trim().split('\n').filter(Boolean).length;
    const before = await listed();
    // Enough new content that the run is still writing packs when it is killed.
    mkdirSync(join(tree, 'bulk'));
    for (let i = 0; i < 40; i++) writeFileSync(join(tree, 'bulk', `b${i}`), randomBytes(2_000_000));
    const run = startCli(['backup', '--files', tree, '--incremental', '--to', repo, '--recipient', recipient, '--state-dir', join(work, 'state-kill')]);
    await run.waitForStderr(/Backup \S+ → /);
    await new Promise((r) => setTimeout(r, 300));
    process.kill(run.pid, 'SIGKILL');
    await run.done.catch(() => {});
    expect(await listed()).toBe(before);
    const after = await backup(['--state-dir', join(work, 'state-kill')]);
    expect(after.manifest.artifacts[0]!.collection!.members).toBe(SMALL + 12 + 41);
    expect(await listed()).toBe(before + 1);
  }, 180_000);
});
