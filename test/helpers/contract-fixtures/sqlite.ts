import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { ContractFixture } from '../source-contract.js';
import { fingerprint, makeDatabase, sqlite } from '../sqlite.js';

/** SQLite for the contract suite: real files made with the real sqlite3 CLI, each in its own temp folder. */
async function folder(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'strongbox-contract-sqlite-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export const sqliteFixture: ContractFixture = {
  kind: 'sqlite',
  async makeSource() {
    const { dir, cleanup } = await folder();
    const location = join(dir, 'app.db');
    await makeDatabase(location, { wal: true, rows: 250 });
    return { location, cleanup };
  },
  async makeTarget() {
    const { dir, cleanup } = await folder();
    return { target: join(dir, 'restored.db'), cleanup };
  },
  async fill(target) {
    await sqlite(target, 'CREATE TABLE other(x TEXT)', "INSERT INTO other VALUES ('not from any backup')");
  },
  fingerprint: (location) => fingerprint(location),
  async failingSource() {
    // Passes the up-front checks (an SQLite header), then fails integrity_check on its copy.
    const { dir, cleanup } = await folder();
    const location = join(dir, 'damaged.db');
    await makeDatabase(location, { rows: 3000 });
    const fh = await open(location, 'r+');
    const pages = Math.floor((await fh.stat()).size / 4096);
    for (const page of [3, pages >> 1, pages - 2]) await fh.write(Buffer.alloc(512, 0x5a), 0, 512, page * 4096 + 1000);
    await fh.close();
    return { location, cleanup };
  },
  confirmName: (target) => basename(target),
};
