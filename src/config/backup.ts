import type { BackupOptions, SourceSpec } from '../core/backup.js';
import type { Origin } from '../core/types.js';
import type { Reporter } from '../shared/reporter.js';
import type { SourceOptions } from '../sources/adapter.js';
import { given, parseMetaFlags, secretFromEnv } from './env.js';
import type { ConfigFile, ConfigSource } from './file.js';
import { lookupLocation } from './locations.js';
import {
  maskLocation,
  originFromEnv,
  passphraseFromEnv,
  resolveBackup,
  resolveDbLockTimeout,
  resolveLock,
  resolvePostgresOptions,
  resolveRowCounts,
  resolveSigningKey,
  urlsFromEnv,
  warnPasswordInArgv,
  type PostgresBackupSettings,
  type StorageSettings,
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
}

const SOURCE_FLAGS = ['postgres', 'postgresEnv', 'mysql', 'mysqlEnv', 'sqlite', 'files'] as const;

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
      exclude: flags.exclude ?? [],
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
    },
    reporter,
    origin,
  );
  const signingKey = await signingKeyFromFlagsOrFile(flags, file, env, reporter);
  return {
    ...options,
    signingKey,
    init: !!flags.init,
    lock: resolveLock({ lockWait: flags.lockWait ?? file?.lockWait, lockStale: flags.lockStale ?? file?.lockStale }, env),
    dbLockTimeoutMs: resolveDbLockTimeout(flags.dbLockTimeout ?? file?.dbLockTimeout),
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
  } else if (s.kind === 'files') options = { exclude: given(flags.exclude) ? flags.exclude : (s.options.exclude ?? []) };
  else options = { rowCounts };
  return { kind: s.kind, location, options };
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

async function signingKeyFromFlagsOrFile(flags: BackupCommandSettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter) {
  if (flags.signingKey !== undefined || flags.signKeyFile !== undefined || !file?.signing) {
    return resolveSigningKey({ signKeyFile: flags.signKeyFile, signingKey: flags.signingKey, source: flags.signingKeySource }, reporter);
  }
  const s = file.signing;
  if (s.keyEnv !== undefined) {
    const text = secretFromEnv(s.keyEnv, env, file.where(['signing', 'key-env']), 'the OpenSSH signing key (strongbox keygen --signing)', reporter);
    return resolveSigningKey({ signingKey: text, source: `$${s.keyEnv} (signing.key-env)` }, reporter);
  }
  return resolveSigningKey({ signKeyFile: s.keyFile }, reporter);
}
