import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readdir, readFile, readlink, rm, symlink, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import type { ContractFixture } from '../source-contract.js';

async function tempDir(prefix: string): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), `sb-contract-${prefix}-`));
  return parent;
}

/** Paths, kinds, modes, link targets and contents, hashed: equal trees fingerprint equal. */
async function treeHash(root: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name);
      const st = await lstat(p);
      const rel = relative(root, p);
      if (st.isSymbolicLink()) h.update(`L ${rel} -> ${await readlink(p)}\n`);
      else if (st.isDirectory()) {
        h.update(`D ${rel} ${(st.mode & 0o7777).toString(8)}\n`);
        await walk(p);
      } else h.update(`F ${rel} ${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(await readFile(p)).digest('hex')}\n`);
    }
  };
  await walk(root);
  return h.digest('hex');
}

export const filesFixture: ContractFixture = {
  kind: 'files',
  makeSource: async () => {
    const parent = await tempDir('src');
    const root = join(parent, 'site');
    await mkdir(join(root, 'uploads/2026'), { recursive: true });
    await writeFile(join(root, 'index.html'), '<h1>hello</h1>');
    await writeFile(join(root, 'uploads/2026/photo.bin'), randomBytes(200_000));
    await writeFile(join(root, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    await symlink('uploads/2026/photo.bin', join(root, 'latest'));
    return { location: root, cleanup: () => rm(parent, { recursive: true, force: true }) };
  },
  makeTarget: async () => {
    const parent = await tempDir('dst');
    await writeFile(join(parent, 'keep-parent-non-empty'), '');
    return { target: join(parent, 'site'), cleanup: () => rm(parent, { recursive: true, force: true }) };
  },
  fill: async (target) => {
    await mkdir(target, { recursive: true });
    await writeFile(join(target, 'other.txt'), 'other data');
  },
  fingerprint: async (location) => {
    try {
      return await treeHash(location);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw err;
    }
  },
  failingSource: async () => {
    const parent = await tempDir('fail');
    const root = join(parent, 'tree');
    await mkdir(root);
    await writeFile(join(root, 'ok.txt'), 'fine');
    // A name that is not UTF-8 cannot be stored: the dump fails, found mid-walk (not up front).
    await mkdir(join(root, 'deep'));
    await writeFile(Buffer.concat([Buffer.from(join(root, 'deep', 'bad-')), Buffer.from([0xff, 0xfe])]), 'x');
    return { location: root, cleanup: () => rm(parent, { recursive: true, force: true }) };
  },
  confirmName: (target) => basename(target),
};
