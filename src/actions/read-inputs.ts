import { loadConfigFile, type ConfigFile } from '../config/file.js';
import type { DrillSettings } from '../config/drill.js';
import type { KeyFlags, RestoreSettings, RollbackSettings, TargetSettings, VerifySettings } from '../config/read.js';
import { commaList, flag, list, optional, secret, storageInputs } from './inputs.js';

/**
 * The reading actions' inputs (restore, verify, rollback), each read once into one typed
 * object, as docker/build-push-action's getInputs(): strings as given, "" as not given, so
 * the resolver in src/config applies the file's value or the default. Every rule about what
 * they mean (deep needs a key, which key wins) is the resolver's, shared with the CLI.
 */

/** `config`: the strongbox.yml the resolvers merge the inputs over. */
interface ConfigInput {
  config?: string;
}

export interface RestoreInputs extends RestoreSettings, ConfigInput {}
export interface VerifyInputs extends VerifySettings, ConfigInput {}
export interface RollbackInputs extends RollbackSettings, ConfigInput {}

/** The key inputs (identity, passphrase, trusted-keys): secrets masked before anything else happens. */
export function keyInputs(): KeyFlags {
  const identity = secret('identity');
  const passphrase = secret('passphrase');
  return { identity, passphrase, passphraseSource: passphrase !== undefined ? 'input passphrase' : undefined, trustedKeys: list('trusted-keys') };
}

/** The targets of restore and rollback; masked by the resolver (inputs are not argv: no password warning). */
export function targetInputs(): TargetSettings {
  return { postgresTarget: optional('postgres-target'), mysqlTarget: optional('mysql-target'), sqliteTarget: optional('sqlite-target'), filesTarget: optional('files-target') };
}

/** What restore and rollback both read: where from, which backup, the key, the targets, the database settings. */
export function restoringInputs(): RestoreSettings & ConfigInput {
  return {
    ...keyInputs(),
    ...targetInputs(),
    ...storageInputs(),
    config: optional('config'),
    from: optional('from'),
    backup: optional('backup'),
    lockWait: optional('lock-wait'),
    dbLockTimeout: optional('db-lock-timeout'),
    pgBin: optional('pg-bin'),
  };
}

export function getRestoreInputs(): RestoreInputs {
  return { ...restoringInputs(), bucketTarget: optional('bucket-target'), only: commaList('only'), paths: list('path'), dryRun: flag('dry-run'), before: optional('before'), force: flag('force') };
}

export function getVerifyInputs(): VerifyInputs {
  return {
    ...keyInputs(),
    ...storageInputs(),
    config: optional('config'),
    // One location per line; several: the backup must be identical at every one.
    from: list('from'),
    backup: optional('backup'),
    deep: flag('deep'),
    maxAge: optional('max-age'),
    lockWait: optional('lock-wait'),
  };
}

export function getRollbackInputs(): RollbackInputs {
  const signingKey = secret('signing-key');
  return {
    ...restoringInputs(),
    before: optional('before'),
    recipients: commaList('recipient'),
    signingKey,
    signingKeySource: signingKey !== undefined ? 'input signing-key' : undefined,
    confirm: optional('confirm'),
    checkSql: list('check-sql'),
    checkFile: optional('check-file'),
  };
}

/**
 * The verify action's drill inputs: scratch targets (`drill-postgres` ↔ `--postgres-scratch`)
 * and checks. Any scratch given makes the action drill the backup it verified.
 */
export function getDrillInputs(): Pick<DrillSettings, 'postgresScratch' | 'mysqlScratch' | 'sqliteScratch' | 'filesScratch' | 'checkSql' | 'maxAge'> {
  return {
    postgresScratch: optional('drill-postgres'),
    mysqlScratch: optional('drill-mysql'),
    sqliteScratch: optional('drill-sqlite'),
    filesScratch: optional('drill-files'),
    checkSql: list('drill-check-sql'),
    maxAge: optional('drill-max-age'),
  };
}

/** The `config` input's file, read and checked (a problem fails the step with exit code 2, naming file, line and key). */
export function configInput(inputs: ConfigInput): Promise<ConfigFile | undefined> {
  return inputs.config !== undefined ? loadConfigFile(inputs.config) : Promise.resolve(undefined);
}
