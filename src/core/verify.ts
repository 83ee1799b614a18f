import type { DecryptOptions } from '../codecs/age/index.js';
import type { Destination } from '../destinations/types.js';
import { checkStored, openPlaintext, storedLocation } from './artifact-reader.js';
import { NotFoundError, errorMessage } from './errors.js';
import type { Reporter } from './reporter.js';
import { assertRepository, listBackups, objectKey, selectBackup } from './repository.js';
import { withLocks, type LockSettings } from './locking.js';
import { beginActivity, throwIfCancelled } from '../shared/cancel.js';

export interface VerifyOptions {
  destination: Destination;
  selector: string;
  /** Also decrypt and decompress, checking the plaintext SHA-256 (needs the key). */
  deep: boolean;
  decrypt?: DecryptOptions;
  /** Fail when the chosen backup finished longer ago than this. */
  maxAgeMs?: number;
  reporter: Reporter;
  now?: () => Date;
  lock?: LockSettings;
}

export interface VerifyProblem {
  artifact?: string;
  object?: string;
  problem: string;
}

export interface VerifyResult {
  ok: boolean;
  backupId: string;
  finishedAt: string;
  ageSeconds: number;
  deep: boolean;
  artifacts: { name: string; object: string; storedOk: boolean; plaintextOk?: boolean }[];
  problems: VerifyProblem[];
}

/**
 * Checks one backup and reports every problem found, by object, instead of stopping at the
 * first: freshness, presence, stored size and SHA-256, and with `deep` the decrypted plaintext.
 */
export async function verify(opts: VerifyOptions): Promise<VerifyResult> {
  await assertRepository(opts.destination);
  return withLocks([opts.destination], 'verify', false, opts.lock, opts.reporter, () => {
    const activity = beginActivity(`verify of ${opts.selector} at ${opts.destination.display}`, 'nothing was changed');
    return run(opts).finally(() => activity.end());
  });
}

async function run(opts: VerifyOptions): Promise<VerifyResult> {
  const { destination: dest, reporter } = opts;
  const now = (opts.now ?? (() => new Date()))();
  const entries = await listBackups(dest, reporter);
  if (!entries.some((e) => e.complete)) {
    throw new NotFoundError(`no complete backup at ${dest.display}`, 'run a backup first, or check the destination');
  }
  const chosen = selectBackup(entries, { selector: opts.selector });
  const m = chosen.manifest;
  const problems: VerifyProblem[] = [];
  const ageSeconds = (now.getTime() - Date.parse(m.finishedAt)) / 1000;
  if (opts.maxAgeMs !== undefined && ageSeconds * 1000 > opts.maxAgeMs) {
    problems.push({ problem: `backup ${m.id} finished ${formatAge(ageSeconds)} ago, older than the allowed ${formatAge(opts.maxAgeMs / 1000)}` });
  }
  if (opts.selector === 'latest') {
    // A newer backup whose manifest can't be read must not let an older one pass as "latest".
    for (const e of entries) {
      if (e.damaged && e.time > chosen.time) problems.push({ object: `${dest.display}/${e.id}/manifest.json`, problem: `newer backup ${e.id} is unreadable: ${e.damaged}` });
    }
  }
  reporter.info(`Verifying ${m.id} at ${dest.display}${opts.deep ? ' (deep: decrypting)' : ''}`);
  const artifacts: VerifyResult['artifacts'] = [];
  const present = new Map(chosen.objects.map((o) => [o.key, o.size]));
  for (const a of m.artifacts) {
    const where = storedLocation(dest, m.id, a);
    const row: VerifyResult['artifacts'][number] = { name: a.name, object: where, storedOk: false };
    artifacts.push(row);
    const size = present.get(objectKey(m.id, a.key));
    if (size === undefined) {
      problems.push({ artifact: a.name, object: where, problem: 'object is missing' });
      continue;
    }
    if (size !== a.stored.size) {
      problems.push({ artifact: a.name, object: where, problem: `object holds ${size} bytes, the manifest says ${a.stored.size}` });
      continue;
    }
    try {
      if (opts.deep && (opts.decrypt !== undefined || a.encryption.scheme === 'none')) {
        // One read checks all three: stored SHA-256, age authentication, plaintext SHA-256.
        const plain = await openPlaintext(dest, m.id, a, opts.decrypt);
        for await (const _ of plain) {
          // discard
        }
        row.storedOk = row.plaintextOk = true;
      } else {
        await checkStored(dest, m.id, a);
        row.storedOk = true;
      }
      reporter.info(`  ok ${a.name} (${where})`);
    } catch (err) {
      throwIfCancelled(); // a cancelled read is not a problem of the backup
      problems.push({ artifact: a.name, object: where, problem: errorMessage(err) });
      reporter.error(`  FAILED ${a.name}: ${errorMessage(err)}`);
    }
  }
  return { ok: problems.length === 0, backupId: m.id, finishedAt: m.finishedAt, ageSeconds, deep: opts.deep, artifacts, problems };
}

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)}h`;
  return `${(seconds / 86400).toFixed(1)}d`;
}
