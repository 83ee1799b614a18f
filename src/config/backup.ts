import { resolve as resolvePath } from 'node:path';
import type { BackupOptions, SourceSpec } from '../core/backup.js';
import type { Origin } from '../core/types.js';
import type { Reporter } from '../shared/reporter.js';
import type { SourceOptions } from '../sources/adapter.js';
import { bucketSource } from './bucket.js';
import { given, parseMetaFlags, secretFromEnv } from './env.js';
import type { ConfigFile, ConfigLocation, ConfigSource } from './file.js';
import type { Destination } from '../destinations/types.js';
import { UsageError } from '../shared/errors.js';
import { lookupLocation, type OpenedLocation } from './locations.js';
import { resolveSigningConfig } from './signing.js';
import { parsePercent } from './percent.js';
import { parseSize } from '../shared/size.js';
import { DEFAULT_THRESHOLDS, type AlertThresholds } from '../core/anomaly.js';
import { DEFAULT_QUOTA_ALERT_PERCENT } from '../core/quota.js';
import { parseGroupBy } from '../core/series.js';
import {
  maskLocation,
  openDestinations,
  originFromEnv,
  passphraseFromEnv,
  resolveBackup,
  resolveDbLockTimeout,
  resolveLock,
  filesCollectionOptions,
  resolvePostgresOptions,
  resolveRowCounts,
  urlsFromEnv,
  warnPasswordInArgv,
  type PostgresBackupSettings,
  type StorageSettings,
  resolveCompare,
} from './settings.js';

/**
 * `backup` as flags/inputs give it; every field optional: undefined (or an empty list) means
 * "not given", so the file's value (or the default) applies. The edges must not fill in
 * defaults of their own (commander's `.default()`), or the file could never set them.
 */
export interface BackupCommandSettings extends StorageSettings {
  to?: string[];
  postgres?: string[];
  postgresEnv?: string[];
  mysql?: string[];
  mysqlEnv?: string[];
  sqlite?: string[];
  files?: string[];
  exclude?: string[];
  /** S3 buckets to back up as collections (`--bucket`, input bucket). */
  bucket?: string[];
  /** bucket: back up non-current versions too. */
  allVersions?: boolean;
  /** `--incremental`: --files trees (and the file's files sources) as collections; `--compare metadata|checksum`. */
  incremental?: boolean;
  compare?: string;
  /** `--state-dir DIR`: where collections keep their state between runs. */
  stateDir?: string;
  /** `--content-key-env NAME`, or the value itself (action input content-key) with where it came from. */
  contentKeyEnv?: string;
  contentKey?: string;
  contentKeySource?: string;
  /** `--allow-shrink`: let a much smaller listing through the delete shield. */
  allowShrink?: boolean;
  postgresOptions?: PostgresBackupSettings;
  rowCounts?: string;
  recipients?: string[];
  passphraseEnv?: string;
  /** The passphrase itself (action input), with where it came from for messages. */
  passphrase?: string;
  passphraseSource?: string;
  unencrypted?: boolean;
  signKeyFile?: string;
  /** The signing key's text (action input signing-key). */
  signingKey?: string;
  signingKeySource?: string;
  labels?: string[];
  /** `--meta key=value`, repeatable; merged over the file's `metadata:` key by key. */
  meta?: string[];
  compression?: string;
  level?: string;
  confirm?: string;
  deployedSha?: string;
  deployedRef?: string;
  init?: boolean;
  lockWait?: string;
  lockStale?: string;
  dbLockTimeout?: string;
  /** The source URLs were typed into argv (the CLI): warn about a password in one. */
  argv?: boolean;
  /** Series grouping for the anomaly history (the action's group-by; else the file's). */
  groupBy?: string;
  /** `--alert-size-change 20%` etc.: percentages, `0` off; undefined: the file's, else the default. */
  alertSizeChange?: string;
  alertDurationChange?: string;
  alertRowsDrop?: string;
  /** `--fail-on-alert`: exit 9 after the backup is committed when it raised an alert. */
  failOnAlert?: boolean;
  /** `--quota SIZE`: applies to each destination, over the file's `quota:`. */
  quota?: string;
  /** `--quota-alert 80%`. */
  quotaAlert?: string;
}

/** What the alerts of a backup run are measured against, and what they do. */
export interface AlertSettings {
  thresholds: AlertThresholds;
  failOnAlert: boolean;
  /** The share of a quota that raises a `quota` alert (0: only when over it). */
  quotaAlertPercent: number;
  /** `--quota`: every destination's quota in bytes, over the file's. */
  quotaBytes?: number;
}

/** The alert settings: a flag given wins, then the file's `alerts:`, then the defaults. */
export function resolveAlertSettings(flags: Pick<BackupCommandSettings, 'alertSizeChange' | 'alertDurationChange' | 'alertRowsDrop' | 'failOnAlert' | 'quota' | 'quotaAlert'>, file: ConfigFile | undefined): AlertSettings {
  const f = file?.alerts;
  const pick = (flag: string | undefined, fileValue: string | undefined, name: string, key: string, fallback: number, max?: number) => {
    const v = flag?.trim() ? flag : undefined;
    if (v !== undefined) return parsePercent(v, name, max);
    if (fileValue !== undefined) return parsePercent(fileValue, file!.where(['alerts', key]), max);
    return fallback;
  };
  return {
    thresholds: {
      ...DEFAULT_THRESHOLDS,
      sizeChangePercent: pick(flags.alertSizeChange, f?.sizeChange, '--alert-size-change', 'size-change', DEFAULT_THRESHOLDS.sizeChangePercent),
      durationChangePercent: pick(flags.alertDurationChange, f?.durationChange, '--alert-duration-change', 'duration-change', DEFAULT_THRESHOLDS.durationChangePercent),
      rowsDropPercent: pick(flags.alertRowsDrop, f?.rowsDrop, '--alert-rows-drop', 'rows-drop', DEFAULT_THRESHOLDS.rowsDropPercent, 100),
    },
    failOnAlert: flags.failOnAlert ?? f?.fail ?? false,
    quotaAlertPercent: pick(flags.quotaAlert, f?.quota, '--quota-alert', 'quota', DEFAULT_QUOTA_ALERT_PERCENT, 100),
    ...(flags.quota?.trim() ? { quotaBytes: parseSize(flags.quota, '--quota') } : {}),
  };
}

const SOURCE_FLAGS = ['postgres', 'postgresEnv', 'mysql', 'mysqlEnv', 'sqlite', 'files', 'bucket'] as const;

/**
 * The backup the flags and the file describe together. Merge rule: a flag given wins, a list
 * flag given replaces the file's list (any source flag replaces all the file's sources; `--to`
 * its destinations); otherwise the file's value; otherwise the default.
 */
export async function resolveBackupConfig(flags: BackupCommandSettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter, origin: Origin = originFromEnv(env)): Promise<BackupOptions> {
  // Secrets first: source URLs (from flags or the named variables) are masked before any check.
  const flagSources = SOURCE_FLAGS.some((k) => given(flags[k]));
  const postgres = flagSources ? urlSources('postgres', flags.postgres, flags.postgresEnv, env, reporter, !!flags.argv) : [];
  const mysql = flagSources ? urlSources('mysql', flags.mysql, flags.mysqlEnv, env, reporter, !!flags.argv) : [];
  const rowCounts = flags.rowCounts !== undefined ? resolveRowCounts(flags.rowCounts) : undefined;
  const sourceSpecs = !flagSources && file?.sources ? file.sources.map((s) => fileSource(s, flags, rowCounts, env, reporter)) : [];

  const key = keyFromFlagsOrFile(flags, file, env, reporter);
  const labels = given(flags.labels) ? flags.labels : (file?.labels ?? []);
  const metadata = { ...(file?.metadata ?? {}), ...parseMetaFlags(flags.meta) };
  const to = given(flags.to) ? flags.to.map((v) => lookupLocation(v, file)?.url ?? v) : (file?.destinations.map((d) => d.url) ?? []);

  const options = resolveBackup(
    {
      to,
      postgres,
      mysql,
      sqlite: flagSources ? (flags.sqlite ?? []) : [],
      files: flagSources ? (flags.files ?? []) : [],
      bucket: flagSources ? (flags.bucket ?? []) : [],
      allVersions: flags.allVersions,
      exclude: flags.exclude ?? [],
      incremental: !!flags.incremental,
      compare: flags.compare,
      postgresOptions: flags.postgresOptions,
      rowCounts: flags.rowCounts,
      sourceSpecs,
      ...key,
      labels,
      metadata,
      compression: flags.compression ?? file?.compression,
      level: flags.level ?? (file?.level !== undefined ? String(file.level) : undefined),
      confirm: flags.confirm,
      deployedSha: flags.deployedSha,
      deployedRef: flags.deployedRef,
      endpoint: flags.endpoint,
      region: flags.region,
      pathStyle: flags.pathStyle,
      preset: flags.preset,
      env,
    },
    reporter,
    origin,
  );
  const signingKey = await resolveSigningConfig(flags, file, env, reporter);
  const stateDir = flags.stateDir?.trim() ? resolvePath(flags.stateDir.trim()) : file?.stateDir;
  const contentKey = contentKeyOf(flags, file, env, reporter);
  return {
    ...options,
    ...(stateDir ? { stateDir } : {}),
    ...(contentKey !== undefined ? { contentKey } : {}),
    ...(flags.allowShrink ? { allowShrink: true } : {}),
    signingKey,
    init: !!flags.init,
    lock: resolveLock({ lockWait: flags.lockWait ?? file?.lockWait, lockStale: flags.lockStale ?? file?.lockStale }, env),
    dbLockTimeoutMs: resolveDbLockTimeout(flags.dbLockTimeout ?? file?.dbLockTimeout),
    alerts: resolveAlertSettings(flags, file).thresholds,
    groupBy: parseGroupBy(flags.groupBy ?? file?.groupBy, 'group-by'),
  };
}

function urlSources(kind: 'postgres' | 'mysql', urls: string[] | undefined, envNames: string[] | undefined, env: NodeJS.ProcessEnv, reporter: Reporter, argv: boolean): string[] {
  const all = [...(urls ?? []), ...urlsFromEnv(envNames ?? [], env, `--${kind}-env`)];
  for (const url of all) maskLocation(kind, url, reporter);
  if (argv) for (const url of urls ?? []) warnPasswordInArgv(url, `--${kind}`, `--${kind}-env`, reporter, kind);
  return all;
}

/** A source of the file with its own options; a filter flag given (e.g. --schema) replaces that option. */
function fileSource(s: ConfigSource, flags: BackupCommandSettings, rowCountsFlag: ReturnType<typeof resolveRowCounts> | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): SourceSpec {
  if (s.kind === 'bucket') return bucketSource(s.location!, flags, env, reporter, { allVersions: flags.allVersions || s.options.allVersions, compare: resolveCompare(flags.compare) });
  const location = s.env !== undefined ? secretFromEnv(s.env, env, `${s.at}.${s.kind}-env`, `the ${s.kind} database URL`, reporter).trim() : s.location!;
  maskLocation(s.kind, location, reporter);
  const rowCounts = rowCountsFlag ?? s.options.rowCounts ?? 'exact';
  let options: SourceOptions;
  if (s.kind === 'postgres') {
    const f = flags.postgresOptions ?? {};
    options = resolvePostgresOptions(
      {
        schemas: given(f.schemas) ? f.schemas : s.options.schemas,
        excludeSchemas: given(f.excludeSchemas) ? f.excludeSchemas : s.options.excludeSchemas,
        tables: given(f.tables) ? f.tables : s.options.tables,
        excludeTables: given(f.excludeTables) ? f.excludeTables : s.options.excludeTables,
        excludeTableData: given(f.excludeTableData) ? f.excludeTableData : s.options.excludeTableData,
        rowSecurity: f.rowSecurity || s.options.rowSecurity,
        pgBin: f.pgBin,
      },
      rowCounts,
    );
  } else if (s.kind === 'files') {
    options = {
      exclude: given(flags.exclude) ? flags.exclude : (s.options.exclude ?? []),
      ...filesCollectionOptions(flags.incremental || s.options.incremental, flags.compare?.trim() ? flags.compare : s.options.compare),
    };
  }
  else options = { rowCounts };
  return { kind: s.kind, location, options };
}

/** The content key's secret: the action's value, `--content-key-env NAME`, or the file's `content-key-env:`; masked everywhere. */
function contentKeyOf(flags: BackupCommandSettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): string | undefined {
  if (flags.contentKey !== undefined && flags.contentKey.trim() !== '') {
    reporter.setSecret(flags.contentKey);
    return flags.contentKey;
  }
  const name = flags.contentKeyEnv?.trim() || file?.contentKeyEnv;
  if (!name) return undefined;
  const where = flags.contentKeyEnv?.trim() ? '--content-key-env' : file!.where(['content-key-env']);
  return secretFromEnv(name, env, where, 'the content key (any long random secret)', reporter);
}

/** The encryption choice is one thing: any key flag given replaces the file's `encryption:` whole. */
function keyFromFlagsOrFile(flags: BackupCommandSettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter) {
  const flagKey = given(flags.recipients) || flags.passphraseEnv !== undefined || flags.passphrase !== undefined || !!flags.unencrypted;
  if (flagKey || !file?.encryption) {
    const fromEnv = flags.passphrase === undefined ? passphraseFromEnv(flags.passphraseEnv, env) : { passphrase: flags.passphrase, passphraseSource: flags.passphraseSource };
    return { recipients: flags.recipients ?? [], unencrypted: !!flags.unencrypted, ...fromEnv };
  }
  const e = file.encryption;
  const where = file.where(['encryption', 'passphrase-env']);
  // Not masked yet: resolveEncryption refuses a short passphrase first, then registers it.
  const passphrase = e.passphraseEnv !== undefined ? secretFromEnv(e.passphraseEnv, env, where, 'the passphrase', undefined) : undefined;
  return { recipients: e.recipients, unencrypted: e.unencrypted, passphrase, passphraseSource: e.passphraseEnv !== undefined ? `$${e.passphraseEnv}` : undefined };
}

/**
 * The file's entry (name, retention, quota) of each destination the backup writes, in the
 * order of `BackupOptions.destinations`: `--to` values looked up by name or URL, else the
 * file's own list; undefined for a location the file does not describe.
 */
function destinationConfigs(flags: Pick<BackupCommandSettings, 'to'>, file: ConfigFile | undefined): (ConfigLocation | undefined)[] {
  return given(flags.to) ? flags.to.map((v) => lookupLocation(v, file)) : (file?.destinations ?? []);
}

/** The backup's destinations paired with their entries in the file (for retention and quota). */
export function backupLocations(options: Pick<BackupOptions, 'destinations'>, flags: Pick<BackupCommandSettings, 'to'>, file: ConfigFile | undefined): OpenedLocation[] {
  const configs = destinationConfigs(flags, file);
  return options.destinations.map((destination, i) => ({ destination, config: configs[i] }));
}

/**
 * The copy-to tiers of a backup: the given locations (names of the file's locations allowed),
 * else the file's `copy-to:` list; none is fine (nothing to copy). Opened and masked now, so
 * a typo fails before the backup runs; a tier that is also a destination is refused.
 */
export function resolveCopyTiers(values: string[] | undefined, file: ConfigFile | undefined, storage: StorageSettings, destinations: Destination[], reporter: Reporter, env: NodeJS.ProcessEnv, input = 'copy-to'): OpenedLocation[] {
  const list = given(values)
    ? values.map((v) => ({ value: lookupLocation(v, file)?.url ?? v, config: lookupLocation(v, file) }))
    : (file?.copyTo ?? []).map((config) => ({ value: config.url, config }));
  if (!list.length) return [];
  const tiers = openDestinations(list.map((l) => l.value), storage, input, reporter, env);
  for (const t of tiers) {
    if (destinations.some((d) => d.display === t.display)) {
      throw new UsageError(`${input} names ${t.display}, which is also a destination of the backup`, 'a tier is a second place the backup is copied to; list each location once, as a destination or as a tier');
    }
  }
  return tiers.map((destination, i) => ({ destination, config: list[i]!.config }));
}

/**
 * The locations (of those given) that have a quota, as checkQuotas takes them: `quotaBytes`
 * (the --quota flag, for every location) over the file's `quota:`.
 */
export function quotaTargets(locations: OpenedLocation[], quotaBytes?: number): { destination: Destination; quotaBytes: number }[] {
  return locations.flatMap((l) => {
    const bytes = quotaBytes ?? l.config?.quota?.bytes;
    return bytes ? [{ destination: l.destination, quotaBytes: bytes }] : [];
  });
}
