import * as cache from '@actions/cache';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceSpec } from '../core/backup.js';
import { errorMessage } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { sourceAdapter } from '../sources/index.js';

/**
 * The collections' state on GitHub's runners: kept in the Actions cache (scoped to the
 * repository), restored before the backup by a key prefix per series and saved after a
 * success under a unique key (cache entries are immutable). A cache service that is down or
 * absent (GHES without it, act) is a warning: the backup then deduplicates against the
 * repository instead, slower but just as small.
 */
export interface StateCache {
  available(): boolean;
  /** The key restored (exact or by prefix), or undefined when none matched. */
  restore(paths: string[], primaryKey: string, restoreKeys: string[]): Promise<string | undefined>;
  save(paths: string[], key: string): Promise<unknown>;
}

export const actionsCache: StateCache = {
  available: () => cache.isFeatureAvailable(),
  restore: (paths, key, restoreKeys) => cache.restoreCache(paths, key, restoreKeys),
  save: (paths, key) => cache.saveCache(paths, key),
};

/** The cache key prefix of one series of backups: which sources go where (hashed: URLs may hold passwords). */
export function stateKeyPrefix(sources: SourceSpec[], destinations: string[]): string {
  const what = JSON.stringify({ s: sources.map((s) => [s.kind, s.location]).sort(), d: [...destinations].sort() });
  return `strongbox-state-v1-${createHash('sha256').update(what).digest('hex').slice(0, 16)}-`;
}

export interface CachedState {
  dir: string;
  prefix: string;
}

/** True when any source is stored as a collection (then the state is worth keeping). */
export function hasCollection(sources: SourceSpec[]): boolean {
  return sources.some((s) => !!sourceAdapter(s.kind).collection?.wanted(s));
}

/** Restores the newest state of the series into a fresh folder; never fails the backup. */
export async function restoreState(c: StateCache, sources: SourceSpec[], destinations: string[], reporter: Reporter, env: NodeJS.ProcessEnv = process.env): Promise<CachedState> {
  const prefix = stateKeyPrefix(sources, destinations);
  const dir = join(env.RUNNER_TEMP || tmpdir(), 'strongbox-state');
  mkdirSync(dir, { recursive: true });
  try {
    if (!c.available()) {
      reporter.warning('the Actions cache is not available here: the backup deduplicates against the repository instead of the kept state (slower, as small)');
      return { dir, prefix };
    }
    const hit = await c.restore([dir], prefix, [prefix]);
    reporter.info(hit ? `restored the collection state from the Actions cache (${hit})` : 'no collection state in the Actions cache yet: this backup deduplicates against the repository');
  } catch (err) {
    reporter.warning(`could not restore the collection state from the Actions cache: ${errorMessage(err)}; the backup deduplicates against the repository instead`);
  }
  return { dir, prefix };
}

/** Saves the state after a committed backup under a unique key; a failure is a warning. */
export async function saveState(c: StateCache, state: CachedState, reporter: Reporter, env: NodeJS.ProcessEnv = process.env, now = new Date()): Promise<void> {
  const key = `${state.prefix}${env.GITHUB_RUN_ID ?? 'local'}-${env.GITHUB_RUN_ATTEMPT ?? '1'}-${now.getTime()}`;
  try {
    if (!c.available()) return;
    await c.save([state.dir], key);
    reporter.debug(`saved the collection state to the Actions cache as ${key}`);
  } catch (err) {
    reporter.warning(`could not save the collection state to the Actions cache: ${errorMessage(err)}; the next backup deduplicates against the repository instead`);
  }
}
