import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runBackupAction } from '../../src/actions/backup.js';
import type { StateCache } from '../../src/actions/state-cache.js';
import type { Manifest } from '../../src/core/types.js';
import { captureLog, outputs, runnerEnv } from '../helpers/actions.js';

/**
 * The backup action with incremental: true keeps the collection state in the Actions cache:
 * restored by the series' prefix, saved under a unique key after success. Without a cache
 * service it warns and still deduplicates (against the repository's refs).
 */
let work: string;
let tree: string;
const saved = { ...process.env };

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-actions-state-'));
  tree = join(work, 'media');
  mkdirSync(tree);
  for (let i = 0; i < 20; i++) writeFileSync(join(tree, `f${i}.bin`), `media file ${i} `.repeat(500));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...saved };
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

/** A cache held in folders: save copies the paths away, restore copies the newest entry with the prefix back. */
class FolderCache implements StateCache {
  readonly saved: string[] = [];
  readonly restored: (string | undefined)[] = [];
  constructor(private readonly root: string) {}
  available() {
    return true;
  }
  async restore(paths: string[], _key: string, restoreKeys: string[]) {
    const hit = [...this.saved].reverse().find((k) => restoreKeys.some((p) => k.startsWith(p)));
    this.restored.push(hit);
    if (hit) cpSync(join(this.root, hit), paths[0]!, { recursive: true });
    return hit;
  }
  async save(paths: string[], key: string) {
    if (this.saved.includes(key)) throw new Error(`Unable to reserve cache with key ${key}, another job may be creating this cache.`);
    cpSync(paths[0]!, join(this.root, key), { recursive: true });
    this.saved.push(key);
    return 1;
  }
}

const unavailable: StateCache = {
  available: () => false,
  restore: async () => {
    throw new Error('not reached');
  },
  save: async () => {
    throw new Error('not reached');
  },
};

async function run(repo: string, cache: StateCache, n: number) {
  const log = captureLog();
  // A fresh runner each time: its RUNNER_TEMP holds no state of its own.
  const runnerTemp = join(work, `runner-${repo.split('/').pop()}-${n}`);
  mkdirSync(runnerTemp, { recursive: true });
  const out = runnerEnv(work, 'action.yml', { files: tree, to: repo, init: 'true', unencrypted: 'true', incremental: 'true' }, { RUNNER_TEMP: runnerTemp, GITHUB_RUN_ID: String(100 + n) });
  await runBackupAction({ stateCache: cache });
  vi.restoreAllMocks();
  const o = outputs(out);
  const manifest = JSON.parse(readFileSync(join(repo, o['backup-id']!, 'manifest.json'), 'utf8')) as Manifest;
  return { o, log: log.join(''), collection: manifest.artifacts[0]!.collection! };
}

describe('backup action: the collection state in the Actions cache', () => {
  it('restores the state by the series prefix, saves it under a unique key, and the second backup reuses every unchanged file', async () => {
    const repo = join(work, 'repo-cache');
    const cache = new FolderCache(mkdtempSync(join(work, 'cache-')));
    const first = await run(repo, cache, 1);
    expect(first.o.status).toBe('success');
    expect(first.collection).toMatchObject({ members: 20, newMembers: 20, reused: 0 });
    expect(cache.saved).toHaveLength(1);

    // Without its refs the repository fallback could not deduplicate: what is reused comes from the cached state.
    rmSync(join(repo, first.o['backup-id']!, first.collection.refs.key));
    writeFileSync(join(tree, 'f3.bin'), 'changed');
    const second = await run(repo, cache, 2);
    expect(second.log).not.toMatch(/could not read the refs/);
    expect(second.o.status).toBe('success');
    expect(cache.restored.at(-1)).toBe(cache.saved[0]);
    expect(second.log).toMatch(/restored the collection state from the Actions cache/);
    expect(second.collection).toMatchObject({ members: 20, newMembers: 1, reused: 19 });
    expect(cache.saved).toHaveLength(2);
    expect(cache.saved[1]).not.toBe(cache.saved[0]);
    expect(cache.saved[1]!.startsWith(cache.saved[0]!.split('-').slice(0, 4).join('-'))).toBe(true);
  });

  it('without a cache service: a warning, and the backup still deduplicates against the repository', async () => {
    const repo = join(work, 'repo-nocache');
    const first = await run(repo, unavailable, 1);
    expect(first.o.status).toBe('success');
    expect(first.log).toMatch(/::warning::the Actions cache is not available here/);
    writeFileSync(join(tree, 'f5.bin'), 'changed too');
    const second = await run(repo, unavailable, 2);
    expect(second.o.status).toBe('success');
    expect(second.collection).toMatchObject({ members: 20, newMembers: 1, reused: 19 });
  });
});
