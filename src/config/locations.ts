import { validatePolicy, type RetentionPolicy } from '../core/retention.js';
import type { Destination } from '../destinations/types.js';
import { UsageError } from '../shared/errors.js';
import { printable } from '../shared/text.js';
import { silentReporter, type Reporter } from '../shared/reporter.js';
import type { ConfigFile, ConfigLocation } from './file.js';
import { openDestination } from '../destinations/index.js';
import { syntaxOnlyEnv } from './schema.js';
import { openDestinations, resolvePolicy, type RetentionSettings, type StorageSettings } from './settings.js';

/**
 * Locations named on the command line or taken from the file. A `--from`/`--to` value that is
 * the `name:` of a location in the file stands for it (`--from nas`); otherwise it is a URL
 * or path, and is matched to a file location only to find that location's retention.
 */
export function lookupLocation(value: string, file: ConfigFile | undefined): ConfigLocation | undefined {
  if (!file) return undefined;
  const all = [...file.destinations, ...file.copyTo];
  const v = value.trim();
  const byName = all.find((l) => l.name === v) ?? all.find((l) => l.url === v);
  if (byName) return byName;
  // The same place spelled otherwise (`../backups` for the file's `./backups`, another query
  // order) is still that location, with its retention and quota.
  const shown = where(v);
  return shown === undefined ? undefined : all.find((l) => where(l.url) === shown);
}

/** How a location is named once opened (a resolved path; bucket, prefix and endpoint), without reading its credentials. */
function where(url: string): string | undefined {
  try {
    return openDestination(url, {}, syntaxOnlyEnv(url)).display;
  } catch {
    return undefined; // not a location: the caller reports it when it opens the value
  }
}

export interface OpenedLocation {
  destination: Destination;
  /** Its entry in the file, when it has one (for its retention, quota and name). */
  config?: ConfigLocation;
}

/**
 * Opens what a flag gave (names resolved through the file), or, when it gave nothing, the file's
 * list — through openDestinations, so each location's credentials are masked and the same
 * location named twice is refused.
 */
export function openLocations(
  flagValues: string[] | undefined,
  fileList: ConfigLocation[],
  storage: StorageSettings,
  flag: string,
  file: ConfigFile | undefined,
  reporter: Reporter = silentReporter,
  env?: NodeJS.ProcessEnv,
): OpenedLocation[] {
  const values = (flagValues ?? []).map((v) => v.trim());
  if (values.some((v) => v === '')) throw new UsageError(`${flag} is empty`, 'an unset variable or secret? give a path, s3://bucket/prefix or the name of a location in the config file');
  const chosen = values.length ? values.map((v) => ({ url: lookupLocation(v, file)?.url ?? v, config: lookupLocation(v, file) })) : fileList.map((config) => ({ url: config.url, config }));
  if (chosen.length === 0) {
    throw new UsageError(`${flag} is required`, file ? `${printable(file.path)} lists no ${flag === '--to' ? 'destinations' : 'locations'} for it; give ${flag} a path, file://PATH or s3://bucket/prefix` : `a path, file://PATH or s3://bucket/prefix, or --config FILE listing them`);
  }
  const dests = openDestinations(chosen.map((c) => c.url), storage, flag, reporter, env);
  return dests.map((destination, i) => ({ destination, config: chosen[i]!.config }));
}

/** `init`: every location given (`--to`, names allowed), else every destination and copy-to tier of the file. */
export function resolveInitConfig(flags: StorageSettings & { to?: string[] }, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): Destination[] {
  return openLocations(flags.to, file ? [...file.destinations, ...file.copyTo] : [], flags, '--to', file, reporter, env).map((o) => o.destination);
}

export interface RetentionPlanSettings {
  /** The command's --keep-* flags; when any is given the policy applies to every location. */
  policy?: RetentionSettings;
  /** The locations the command names (--from/--to); none: the file's. */
  locations?: string[];
  storage?: StorageSettings;
  /** Registers each location's credentials as secrets (default: none, for callers that opened them already). */
  reporter?: Reporter;
  /** Where `credentials=NAME` variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Which of the file's lists, when no location is named: destinations, copy-to, or both (default). */
  include?: 'destinations' | 'copy-to' | 'all';
  /** Locations already opened by the command (a backup's destinations and tiers): planned as they are, nothing opened again. */
  opened?: OpenedLocation[];
}

export interface RetentionPlanEntry {
  destination: Destination;
  policy: RetentionPolicy;
  /** Where the policy came from: the flags, or the location's `retention:` in the file. */
  from: 'flags' | 'file';
  config?: ConfigLocation;
}

/**
 * Which location is pruned with which policy: the flags' policy for every location when
 * given, else each location's own `retention:`; a location with neither is not pruned (and
 * is not listed). Retention is per tier: a NAS keeping 12 monthly beside a disk keeping 7 daily.
 */
export function resolveRetentionPlan(file: ConfigFile | undefined, s: RetentionPlanSettings): RetentionPlanEntry[] {
  const flagPolicy = s.policy ? resolvePolicy(s.policy) : undefined;
  const include = s.include ?? 'all';
  const list = file ? [...(include !== 'copy-to' ? file.destinations : []), ...(include !== 'destinations' ? file.copyTo : [])] : [];
  // Only the file's locations that will be pruned are opened: one without a policy may name credentials this job lacks.
  const pruned = flagPolicy ? list : list.filter((l) => l.retention);
  const open = (values: string[] | undefined, fileList: ConfigLocation[]) => openLocations(values, fileList, s.storage ?? {}, '--from', file, s.reporter, s.env);
  const opened = s.opened ?? (s.locations?.length ? open(s.locations, []) : pruned.length ? open(undefined, pruned) : []);
  const plan: RetentionPlanEntry[] = [];
  for (const { destination, config } of opened) {
    if (flagPolicy) plan.push({ destination, policy: flagPolicy, from: 'flags', config });
    else if (config?.retention) {
      validatePolicy(config.retention);
      plan.push({ destination, policy: config.retention, from: 'file', config });
    }
  }
  return plan;
}
