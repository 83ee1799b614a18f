import type { BackupCommandSettings } from '../config/backup.js';
import { maskLocation, type RetentionSettings } from '../config/settings.js';
import type { Reporter } from '../shared/reporter.js';
import { commaList, flag, list, optional, secret, storageInputs } from './inputs.js';

/**
 * Everything the backup action's inputs say, read once (as docker/build-push-action's
 * `getInputs()`). An input left empty is "not given" (undefined or []), so the config file's
 * value, or the resolver's default, applies: the action fills in no defaults of its own.
 */
export interface BackupInputs {
  /** `config`: a strongbox.yml, read by the resolvers. */
  config?: string;
  /** The backup itself, as resolveBackupConfig takes it (the CLI's flags have the same names). */
  backup: BackupCommandSettings;
  /** `copy-to`: tiers to copy the new backup to; [] means the file's `copy-to:` list. */
  copyTo: string[];
  /** The keep-* inputs: when any is given it applies to every location, else each location's own `retention:`. */
  retention: RetentionSettings;
  groupBy?: string;
  /** `force-prune`: retention runs even where the retention guard would keep a series whole. */
  forcePrune: boolean;
  /** Values that must never reach the job summary (masked in the log already). */
  secrets: string[];
}

/** Reads the backup action's inputs; the secrets among them are masked before anything else. */
export function getBackupInputs(reporter: Reporter, env: NodeJS.ProcessEnv = process.env): BackupInputs {
  const passphrase = secret('passphrase');
  const contentKey = secret('content-key');
  const signingKey = secret('signing-key');
  const postgres = list('postgres');
  const mysql = list('mysql');
  for (const url of postgres) maskLocation('postgres', url, reporter);
  for (const url of mysql) maskLocation('mysql', url, reporter);
  // A MySQL password may also come from the environment (MYSQL_PWD, when the URL holds none).
  const mysqlPwd = mysql.length && env.MYSQL_PWD ? env.MYSQL_PWD : undefined;
  if (mysqlPwd) reporter.setSecret(mysqlPwd);
  const rowSecurity = flag('row-security');
  return {
    config: optional('config'),
    backup: {
      to: list('to'),
      postgres,
      mysql,
      sqlite: list('sqlite'),
      files: list('files'),
      bucket: list('bucket'),
      allVersions: flag('all-versions') || undefined,
      exclude: list('exclude'),
      incremental: flag('incremental') || undefined,
      compare: optional('compare'),
      contentKey,
      contentKeySource: contentKey !== undefined ? 'input content-key' : undefined,
      allowShrink: flag('allow-shrink') || undefined,
      rowCounts: optional('row-counts'),
      postgresOptions: {
        schemas: list('schema'),
        excludeSchemas: list('exclude-schema'),
        tables: list('table'),
        excludeTables: list('exclude-table'),
        excludeTableData: list('exclude-table-data'),
        ...(rowSecurity ? { rowSecurity } : {}),
        pgBin: optional('pg-bin'),
      },
      recipients: commaList('recipient'),
      passphrase,
      passphraseSource: passphrase !== undefined ? 'input passphrase' : undefined,
      unencrypted: flag('unencrypted') || undefined,
      signingKey,
      signingKeySource: signingKey !== undefined ? 'input signing-key' : undefined,
      labels: commaList('label'),
      meta: list('meta'),
      compression: optional('compression'),
      level: optional('level'),
      confirm: optional('confirm-upload'),
      deployedSha: optional('deployed-sha'),
      deployedRef: optional('deployed-ref'),
      init: flag('init') || undefined,
      lockWait: optional('lock-wait'),
      dbLockTimeout: optional('db-lock-timeout'),
      groupBy: optional('group-by'),
      alertSizeChange: optional('alert-size-change'),
      alertDurationChange: optional('alert-duration-change'),
      alertRowsDrop: optional('alert-rows-drop'),
      failOnAlert: flag('fail-on-alert') || undefined,
      quota: optional('quota'),
      quotaAlert: optional('quota-alert'),
      ...storageInputs(),
    },
    copyTo: list('copy-to'),
    retention: {
      keepLast: optional('keep-last'),
      keepHourly: optional('keep-hourly'),
      keepDaily: optional('keep-daily'),
      keepWeekly: optional('keep-weekly'),
      keepMonthly: optional('keep-monthly'),
      keepYearly: optional('keep-yearly'),
      keepWithin: optional('keep-within'),
      keepLabels: commaList('keep-label'),
    },
    groupBy: optional('group-by'),
    forcePrune: flag('force-prune'),
    secrets: [passphrase, signingKey, contentKey, mysqlPwd].filter((s): s is string => !!s),
  };
}
