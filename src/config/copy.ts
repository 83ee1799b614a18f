import type { LockSettings } from '../core/locking.js';
import type { GroupBy } from '../core/series.js';
import type { Destination } from '../destinations/types.js';
import { UsageError } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import type { ConfigFile } from './file.js';
import { given } from './env.js';
import { openLocations } from './locations.js';
import { resolveLock, type StorageSettings } from './settings.js';

/**
 * `strongbox copy` as src/config hands it to the core (core/copy.ts, written by the copy
 * helper, owns the behaviour; these are only the resolved inputs).
 */
export interface CopyOptions {
  from: Destination;
  to: Destination[];
  /** --backup SEL (repeatable): ids, latest, label:NAME. */
  selectors: string[];
  all: boolean;
  labels: string[];
  /** --new: backups newer than the newest of their series at each tier. */
  newer: boolean;
  groupBy?: GroupBy;
  /** Create a repository at a destination that holds none. */
  init: boolean;
  confirm: 'hash' | 'size';
  reporter: Reporter;
  lock?: LockSettings;
}

export interface CopySettings extends StorageSettings {
  /** A location or a name in the file; none: the file's first destination. */
  from?: string;
  /** Locations or names; none: the file's copy-to tiers. */
  to?: string[];
  backups?: string[];
  all?: boolean;
  newer?: boolean;
  labels?: string[];
  init?: boolean;
  confirm?: string;
  lockWait?: string;
  lockStale?: string;
}

export function resolveCopyConfig(flags: CopySettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): CopyOptions {
  const from = openLocations(flags.from !== undefined ? [flags.from] : undefined, file?.destinations.slice(0, 1) ?? [], flags, '--from', file, reporter, env)[0]!.destination;
  // A file without copy-to: tiers has nothing to copy to; that is no error (a nightly chain
  // `backup && copy && prune --config` serves files with and without tiers alike).
  const noTiers = file !== undefined && !given(flags.to) && file.copyTo.length === 0;
  const to = noTiers ? [] : openLocations(flags.to, file?.copyTo ?? [], flags, '--to', file, reporter, env).map((o) => o.destination);
  for (const d of to) if (d.display === from.display) throw new UsageError(`copy --to ${d.display} is the same location as --from`, 'copy between two different locations');
  const confirm = flags.confirm?.trim() || 'hash';
  if (confirm !== 'hash' && confirm !== 'size') throw new UsageError(`--confirm-upload "${confirm}" must be hash or size`);
  return {
    from,
    to,
    selectors: flags.backups ?? [],
    all: !!flags.all,
    // With the file and no selector: what each tier lacks that is newer than its newest backup
    // of the series. A missed night is caught up; what the tier's retention removed stays removed.
    newer: !!flags.newer || (file !== undefined && !flags.all && !given(flags.backups) && !given(flags.labels)),
    groupBy: file?.groupBy,
    labels: flags.labels ?? [],
    init: !!flags.init,
    confirm,
    reporter,
    lock: resolveLock({ lockWait: flags.lockWait ?? file?.lockWait, lockStale: flags.lockStale ?? file?.lockStale }, env),
  };
}
