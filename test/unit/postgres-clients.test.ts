import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrongboxError, UsageError } from '../../src/shared/errors.js';
import { findClient } from '../../src/sources/postgres/clients.js';

/** Fake bin folders: each tool is a script printing its version, as the real ones do. */
let root: string;

async function binDir(name: string, version: string, tools = ['pg_dump', 'pg_restore', 'psql']): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const tool of tools) {
    const path = join(dir, tool);
    await writeFile(path, `#!/bin/sh\necho "${tool} (PostgreSQL) ${version}"\n`);
    await chmod(path, 0o755);
  }
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sb-pgclients-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('choosing pg_dump and pg_restore', () => {
  it("uses PATH's pg_dump when it is new enough for the server, with the psql beside it", async () => {
    const path = await binDir('path-ok', '16.4');
    const c = await findClient('pg_dump', '15.20', 'dumping', { pathDirs: [path], versionRoots: [] });
    expect(c).toEqual({ tool: join(path, 'pg_dump'), psql: join(path, 'psql'), version: '16.4', dir: path });
  });

  it("skips PATH's older pg_dump for the newest versioned install that is new enough", async () => {
    const path = await binDir('path-old', '13.2');
    const versions = join(root, 'lib-postgresql');
    for (const v of ['14', '16', '17']) await binDir(join('lib-postgresql', v, 'bin'), `${v}.1`);
    await mkdir(join(versions, 'not-a-version'), { recursive: true });
    const c = await findClient('pg_dump', '15.20', 'dumping', { pathDirs: [path], versionRoots: [versions] });
    expect(c.tool).toBe(join(versions, '17', 'bin', 'pg_dump'));
    expect(c.psql).toBe(join(versions, '17', 'bin', 'psql'));
    expect(c.version).toBe('17.1');
  });

  it('prefers --pg-bin over PATH and the versioned installs', async () => {
    const pgBin = await binDir('pgbin-ok', '15.3');
    const path = await binDir('path-newer', '17.0');
    const c = await findClient('pg_dump', '15.20', 'dumping', { pgBin, pathDirs: [path], versionRoots: [] });
    expect(c.tool).toBe(join(pgBin, 'pg_dump'));
  });

  it('keeps searching past a --pg-bin that is too old', async () => {
    const pgBin = await binDir('pgbin-old', '12.9');
    const path = await binDir('path-16', '16.0');
    const c = await findClient('pg_dump', '15.20', 'dumping', { pgBin, pathDirs: [path], versionRoots: [] });
    expect(c.tool).toBe(join(path, 'pg_dump'));
  });

  it('refuses a --pg-bin that holds no such tool', async () => {
    const pgBin = await binDir('pgbin-psql-only', '16.0', ['psql']);
    const err = await findClient('pg_dump', '15.20', 'dumping', { pgBin, pathDirs: [], versionRoots: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(`--pg-bin ${pgBin} holds no pg_dump`);
  });

  it('fails naming the server version, every client found, and how to install the right one', async () => {
    const path = await binDir('path-13', '13.2');
    const versions = join(root, 'lib-old');
    await binDir(join('lib-old', '14', 'bin'), '14.11');
    const err = await findClient('pg_dump', '16.2', 'dumping the PostgreSQL 16.2 server of database "app"', { pathDirs: [path], versionRoots: [versions] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    const e = err as StrongboxError;
    expect(e.message).toContain('dumping the PostgreSQL 16.2 server of database "app" needs pg_dump 16 or newer');
    expect(e.message).toContain(`pg_dump 13.2 (${join(path, 'pg_dump')}, from PATH)`);
    expect(e.message).toContain(`pg_dump 14.11 (${join(versions, '14', 'bin', 'pg_dump')}`);
    expect(e.hint).toContain('apt.postgresql.org.sh');
    expect(e.hint).toContain('sudo apt-get install -y postgresql-client-16');
  });

  it('says when no client is installed at all', async () => {
    const empty = join(root, 'empty');
    await mkdir(empty, { recursive: true });
    const err = await findClient('pg_restore', '15.0', 'restoring', { pathDirs: [empty], versionRoots: [] }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/needs pg_restore 15 or newer; found no pg_restore at all/);
  });

  it('picks pg_restore at least as new as the pg_dump that wrote the dump, and the psql of the same folder', async () => {
    const path = await binDir('path-restore-14', '14.5');
    const versions = join(root, 'lib-restore');
    await binDir(join('lib-restore', '16', 'bin'), '16.3');
    await binDir(join('lib-restore', '15', 'bin'), '15.7', ['pg_restore']); // no psql here: PATH's is used
    const c = await findClient('pg_restore', '15.4', 'restoring', { pathDirs: [path], versionRoots: [versions] });
    expect(c.tool).toBe(join(versions, '16', 'bin', 'pg_restore'));
    expect(c.psql).toBe(join(versions, '16', 'bin', 'psql'));
    const only15 = await findClient('pg_restore', '15.4', 'restoring', { pathDirs: [path], versionRoots: [join(root, 'lib-restore-15')] }).catch((e: unknown) => e);
    expect(only15).toBeInstanceOf(StrongboxError);
  });

  it('compares 9.x versions by their first two parts', async () => {
    const path = await binDir('path-96', '9.6.24');
    const ok = await findClient('pg_dump', '9.5.3', 'dumping', { pathDirs: [path], versionRoots: [] });
    expect(ok.version).toBe('9.6.24');
    await expect(findClient('pg_dump', '10.1', 'dumping', { pathDirs: [path], versionRoots: [] })).rejects.toThrow(/needs pg_dump 10 or newer/);
  });
});
