import { parseDuration } from '../core/duration.js';
import type { PruneOptions } from '../core/prune.js';
import { parseGroupBy } from '../core/series.js';
import { UsageError } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { given } from './env.js';
import type { ConfigFile, ConfigLocation } from './file.js';
import { resolveRetentionPlan } from './locations.js';
import { resolveLock, type RetentionSettings, type StorageSettings } from './settings.js';

export interface PruneSettings extends RetentionSettings, StorageSettings {
  /** Locations (or names in the file); none: every location of the file that has a retention. */
  from?: string[];
  groupBy?: string;
  incompleteGrace?: string;
  dryRun?: boolean;
  /** Override the retention guard. */
  force?: boolean;
  lockWait?: string;
  lockStale?: string;
}

export interface PruneConfig extends PruneOptions {
  /** Where the policy came from, and the file's entry for the location. */
  policyFrom: 'flags' | 'file';
  config?: ConfigLocation;
}

/** One prune per location, each with its policy (resolveRetentionPlan). */
export function resolvePruneConfig(flags: PruneSettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): PruneConfig[] {
  const groupBy = parseGroupBy(flags.groupBy ?? file?.groupBy);
  const incompleteGraceMs = flags.incompleteGrace?.trim() ? parseDuration(flags.incompleteGrace, '--incomplete-grace') : undefined;
  const policy: RetentionSettings = { keepLast: flags.keepLast, keepHourly: flags.keepHourly, keepDaily: flags.keepDaily, keepWeekly: flags.keepWeekly, keepMonthly: flags.keepMonthly, keepYearly: flags.keepYearly, keepWithin: flags.keepWithin, keepLabels: flags.keepLabels };
  if (!given(flags.from) && !file) throw new UsageError('--from is required', 'a path, file://PATH or s3://bucket/prefix, or --config FILE listing the locations and their retention');
  const plan = resolveRetentionPlan(file, { policy, locations: flags.from, storage: flags, reporter, env });
  if (plan.length === 0) {
    throw new UsageError(
      'the retention policy is empty',
      file ? `give at least one --keep-* rule, or a retention: { keep-daily: 7, … } to the locations in ${file.path}` : 'give at least one --keep-* rule, e.g. --keep-daily 7 --keep-weekly 4 --keep-monthly 12',
    );
  }
  const lock = resolveLock({ lockWait: flags.lockWait ?? file?.lockWait, lockStale: flags.lockStale ?? file?.lockStale }, env);
  return plan.map((p) => ({ destination: p.destination, policy: p.policy, groupBy, dryRun: !!flags.dryRun, force: !!flags.force, incompleteGraceMs, reporter, lock, policyFrom: p.from, config: p.config }));
}

