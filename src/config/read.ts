import { bucketTarget } from './bucket.js';
import type { DecryptOptions } from '../codecs/age/index.js';
import { validateRecipient } from '../codecs/age/index.js';
import type { SshPublicKey } from '../codecs/ssh-signature/index.js';
import { parseDuration } from '../core/duration.js';
import type { RestoreOptions, Targets } from '../core/restore.js';
import type { RollbackOptions } from '../core/rollback.js';
import type { Origin } from '../core/types.js';
import type { VerifyOptions } from '../core/verify.js';
import type { Destination } from '../destinations/types.js';
import { UsageError } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { given, secretFromEnv } from './env.js';
import type { ConfigFile } from './file.js';
import { openLocations } from './locations.js';
import { resolveSigningConfig } from './signing.js';
import {
  maskLocation,
  originFromEnv,
  passphraseFromEnv,
  resolveDbLockTimeout,
  resolveDecryption,
  resolveLock,
  resolvePgBin,
  resolveTrust,
  urlsFromEnv,
  warnPasswordInArgv,
  type StorageSettings,
} from './settings.js';

/**
 * The reading commands (restore, verify, rollback). Their rules live here once: which key
 * opens the backup (the flags', else the file's `decryption:`), which keys it must be signed
 * by, that --deep and rollback need a key. Without --from they read the file's first
 * destination (verify: every destination, the "same SHA-256 everywhere" check).
 */

export interface KeyFlags {
  identityFile?: string;
  /** The identity's text (action input identity, from a secret). */
  identity?: string;
  passphraseEnv?: string;
  /** The passphrase itself (action input), and where it came from for messages. */
  passphrase?: string;
  passphraseSource?: string;
  trustFiles?: string[];
  /** Public key lines (action input trusted-keys). */
  trustedKeys?: string[];
}

export interface ReadSettings extends KeyFlags, StorageSettings {
  /** A location, or the `name:` of one in the file. */
  from?: string;
  backup?: string;
  lockWait?: string;
  lockStale?: string;
}

export interface TargetSettings {
  postgresTarget?: string;
  postgresTargetEnv?: string;
  mysqlTarget?: string;
  mysqlTargetEnv?: string;
  sqliteTarget?: string;
  filesTarget?: string;
  /** An S3 bucket (and prefix) to write a bucket backup's objects into. */
  bucketTarget?: string;
  /** The target URLs were typed into argv (the CLI): warn about a password in one. */
  argv?: boolean;
}

/** The key that opens a backup: the flags' when any is given, else the file's `decryption:`. */
/** A key given on the command line (or as an input) replaces the file's `decryption:` as a whole. */
const keyGiven = (flags: KeyFlags) => flags.identityFile !== undefined || flags.identity !== undefined || flags.passphraseEnv !== undefined || flags.passphrase !== undefined;

export async function resolveKey(flags: KeyFlags, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<DecryptOptions | undefined> {
  if (keyGiven(flags) || !file?.decryption) {
    const pass = flags.passphrase !== undefined ? { passphrase: flags.passphrase, passphraseSource: flags.passphraseSource } : passphraseFromEnv(flags.passphraseEnv, env);
    return resolveDecryption({ identityFile: flags.identityFile, identity: flags.identity, ...pass }, reporter);
  }
  const d = file.decryption;
  const identity = d.identityEnv !== undefined ? secretFromEnv(d.identityEnv, env, file.where(['decryption', 'identity-env']), 'the age identity (AGE-SECRET-KEY-1…)', reporter) : undefined;
  const passphrase = d.passphraseEnv !== undefined ? secretFromEnv(d.passphraseEnv, env, file.where(['decryption', 'passphrase-env']), 'the passphrase', undefined) : undefined;
  return resolveDecryption({ identityFile: d.identityFile, identity, passphrase, passphraseSource: d.passphraseEnv !== undefined ? `$${d.passphraseEnv}` : undefined }, reporter);
}

/** Trusted signing keys: the flags' list replaces the file's `trust:`. */
export function resolveTrusted(flags: KeyFlags, file: ConfigFile | undefined): Promise<SshPublicKey[] | undefined> {
  if (given(flags.trustFiles) || given(flags.trustedKeys)) return resolveTrust({ trustFiles: flags.trustFiles, trustedKeys: flags.trustedKeys });
  return resolveTrust({ trustFiles: file?.trust ?? [] });
}

/** `--<kind>-target URL` or `--<kind>-target-env NAME` per kind, masked before anything prints. */
export function resolveTargets(t: TargetSettings, env: NodeJS.ProcessEnv, reporter: Reporter): Targets {
  const url = (kind: 'postgres' | 'mysql', value: string | undefined, envName: string | undefined) => {
    const flag = `--${kind}-target`;
    if (value !== undefined && envName !== undefined) throw new UsageError(`${flag} and ${flag}-env both name the target database`, 'give one of them');
    const u = envName !== undefined ? urlsFromEnv([envName], env, `${flag}-env`)[0] : value;
    if (u !== undefined) maskLocation(kind, u, reporter);
    if (value !== undefined && t.argv) warnPasswordInArgv(value, flag, `${flag}-env`, reporter, kind);
    return u;
  };
  return { postgres: url('postgres', t.postgresTarget, t.postgresTargetEnv), mysql: url('mysql', t.mysqlTarget, t.mysqlTargetEnv), sqlite: t.sqliteTarget, files: t.filesTarget, ...(t.bucketTarget !== undefined ? { bucket: t.bucketTarget.trim() } : {}) };
}

/** `--from` (a location or a name in the file), else the file's first destination. */
export function fromLocation(s: ReadSettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): Destination {
  return openLocations(s.from !== undefined ? [s.from] : undefined, file?.destinations.slice(0, 1) ?? [], s, '--from', file, reporter, env)[0]!.destination;
}

export const lockOf = (s: ReadSettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv) => resolveLock({ lockWait: s.lockWait ?? file?.lockWait, lockStale: s.lockStale ?? file?.lockStale }, env);

export interface RestoreSettings extends ReadSettings, TargetSettings {
  only?: string[];
  /** --path GLOB (repeatable). */
  paths?: string[];
  dryRun?: boolean;
  /** --before TIME|SHA. */
  before?: string;
  force?: boolean;
  dbLockTimeout?: string;
  pgBin?: string;
}

export async function resolveRestoreConfig(flags: RestoreSettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<RestoreOptions> {
  const targets = resolveTargets(flags, env, reporter);
  const bucket = targets.bucket !== undefined ? bucketTarget(targets.bucket, flags, env, reporter) : undefined;
  const decrypt = await resolveKey(flags, file, env, reporter);
  const trusted = await resolveTrusted(flags, file);
  return {
    destination: fromLocation(flags, file, env, reporter),
    selection: { selector: flags.backup?.trim() || 'latest', ...(flags.before?.trim() ? { before: flags.before.trim() } : {}) },
    decrypt,
    trusted,
    targets,
    only: flags.only ?? [],
    force: !!flags.force,
    paths: (flags.paths ?? []).filter((p) => p.trim() !== ''),
    dryRun: !!flags.dryRun,
    reporter,
    lock: lockOf(flags, file, env),
    dbLockTimeoutMs: resolveDbLockTimeout(flags.dbLockTimeout ?? file?.dbLockTimeout),
    ...resolvePgBin(flags.pgBin),
    ...(bucket ? { bucket } : {}),
  };
}

export interface VerifySettings extends Omit<ReadSettings, 'from'> {
  /** One or more locations (names in the file allowed); none: every destination of the file. */
  from?: string[];
  deep?: boolean;
  maxAge?: string;
}

/** One VerifyOptions per location; `destinations` lists them all (cross-location verify compares them). */
export interface VerifyConfig extends VerifyOptions {
  destinations: Destination[];
}

export async function resolveVerifyConfig(flags: VerifySettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<VerifyConfig> {
  const maxAgeMs = flags.maxAge !== undefined && flags.maxAge.trim() !== '' ? parseDuration(flags.maxAge, '--max-age') : undefined;
  // The file's key is used only when --deep asks for it: a plain verify runs where no key is (the backup job).
  const decrypt = keyGiven(flags) || flags.deep ? await resolveKey(flags, file, env, reporter) : undefined;
  if (flags.deep && !decrypt) {
    throw new UsageError('--deep needs the key', `pass --identity-file FILE or --passphrase-env NAME${file ? `, or add decryption: { identity-file: … } to ${file.path}` : ''} (action: the identity or passphrase input, from a secret)`);
  }
  const trusted = await resolveTrusted(flags, file);
  const destinations = openLocations(flags.from, file?.destinations ?? [], flags, '--from', file, reporter, env).map((o) => o.destination);
  return {
    destination: destinations[0]!,
    destinations,
    selector: flags.backup?.trim() || 'latest',
    // A key without --deep still verifies deep: the core does so and says why in one line.
    deep: !!flags.deep,
    decrypt,
    trusted,
    maxAgeMs,
    reporter,
    lock: lockOf({ ...flags, from: undefined }, file, env),
  };
}

export interface RollbackSettings extends ReadSettings, TargetSettings {
  before?: string;
  /** More recipients for the safety backup; none given: the file's `encryption.recipients`. */
  recipients?: string[];
  signKeyFile?: string;
  signingKey?: string;
  signingKeySource?: string;
  confirm?: string;
  checkSql?: string[];
  checkFile?: string;
  dbLockTimeout?: string;
  pgBin?: string;
}

export async function resolveRollbackConfig(flags: RollbackSettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter, origin: Origin = originFromEnv(env)): Promise<RollbackOptions> {
  const targets = resolveTargets(flags, env, reporter);
  const decrypt = await resolveKey(flags, file, env, reporter);
  if (!decrypt) {
    throw new UsageError('rollback needs the key', `pass --identity-file FILE or --passphrase-env NAME${file ? `, or add decryption: { identity-file: … } to ${file.path}` : ''} (action: the identity or passphrase input, from a secret)`);
  }
  if (!flags.backup?.trim()) throw new UsageError('rollback needs --backup', 'the snapshot to return to: an id, or label:NAME (must match one backup)');
  if (!flags.confirm?.trim()) throw new UsageError('rollback needs --confirm', 'repeat the target database name (or the files target folder name)');
  const recipients = given(flags.recipients) ? flags.recipients.map((r) => r.trim()) : (file?.encryption?.recipients ?? []);
  for (const r of recipients) validateRecipient(r);
  const trusted = await resolveTrusted(flags, file);
  const signingKey = await resolveSigningConfig(flags, file, env, reporter);
  return {
    destination: fromLocation(flags, file, env, reporter),
    selection: { selector: flags.backup.trim(), before: flags.before },
    decrypt,
    recipients,
    trusted,
    signingKey,
    targets,
    confirm: flags.confirm,
    checkSql: flags.checkSql ?? [],
    checkFile: flags.checkFile,
    origin,
    reporter,
    lock: lockOf(flags, file, env),
    dbLockTimeoutMs: resolveDbLockTimeout(flags.dbLockTimeout ?? file?.dbLockTimeout),
    ...resolvePgBin(flags.pgBin),
  };
}

export interface ListSettings extends StorageSettings {
  /** A location or a name in the file; none: the file's first destination. */
  from?: string;
  label?: string;
  all?: boolean;
}

export interface ListConfig {
  destination: Destination;
  label?: string;
  /** Also incomplete backups. */
  all: boolean;
}

export function resolveListConfig(flags: ListSettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): ListConfig {
  const label = flags.label?.trim() || undefined;
  return { destination: fromLocation(flags, file, env, reporter), label, all: !!flags.all };
}
