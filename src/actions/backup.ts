import * as core from '@actions/core';
import { backup } from '../core/backup.js';
import { ExitCode, UsageError, VerificationError } from '../shared/errors.js';
import { logText } from '../shared/text.js';
import type { DestinationOutcome } from '../core/backup.js';
import { formatBytes } from '../shared/format.js';
import { locationSecrets, maskLocation, originFromEnv, resolveBackup, resolveDbLockTimeout, resolveLock, resolvePolicy } from '../config/settings.js';
import type { LockSettings } from '../core/locking.js';
import { prune } from '../core/prune.js';
import type { RetentionPolicy } from '../core/retention.js';
import { parseGroupBy, type GroupBy } from '../core/series.js';
import { verify } from '../core/verify.js';
import type { Destination } from '../destinations/types.js';
import { forkPullRequestReason } from './fork.js';
import { commaList, flag, list, optional, secret, signingKeyInput, storageInputs } from './inputs.js';
import { actionsReporter } from './reporter.js';
import { destinationRows, writeBackupFailureSummary, type BackupRunState } from './backup-failure.js';
import { runAction, writeSummary } from './run.js';
import { beginActivity } from '../shared/cancel.js';

export async function runBackupAction(): Promise<void> {
  const state: BackupRunState = { started: new Date(), runId: process.env.GITHUB_RUN_ID, stage: 'reading the inputs', destinations: [], secrets: [] };
  await runAction(async () => {
    // Secrets first: nothing may be logged before the runner knows to mask them.
    const passphrase = secret('passphrase');
    const signingKey = await signingKeyInput();
    const recipients = commaList('recipient');
    const postgres = list('postgres');
    const mysql = list('mysql');
    for (const url of postgres) maskLocation('postgres', url, actionsReporter);
    for (const url of mysql) maskLocation('mysql', url, actionsReporter);
    // A MySQL password may also come from the environment (MYSQL_PWD, when the URL holds none).
    const mysqlPwd = mysql.length && process.env.MYSQL_PWD ? [process.env.MYSQL_PWD] : [];
    for (const pw of mysqlPwd) actionsReporter.setSecret(pw);
    state.secrets.push(...(passphrase ? [passphrase] : []), ...postgres.flatMap((u) => locationSecrets('postgres', u)), ...mysql.flatMap((u) => locationSecrets('mysql', u)), ...mysqlPwd);

    // The runner sets every declared input, "" when not given, so an unset secret and an
    // omitted input look the same: no key and no explicit `unencrypted: true` is refused.
    const unencrypted = flag('unencrypted');
    if (recipients.length === 0 && passphrase === undefined && !unencrypted) {
      const skip = forkPullRequestReason(process.env);
      if (skip) {
        core.warning(`Backup SKIPPED: ${skip}.`);
        core.setOutput('status', 'skipped');
        core.setOutput('skip-reason', skip);
        await writeSummary((s) => s.addHeading('Strongbox backup: skipped', 2).addRaw(`Skipped: ${skip}.`, true));
        return;
      }
      throw new UsageError(
        'no encryption key: the recipient and passphrase inputs are both empty',
        'an unset repository secret or variable expands to ""; set recipient to an age1… public key (or passphrase from a secret). No plaintext backup is made; set unencrypted: true only if you really want one.',
      );
    }
    const options = resolveBackup(
      {
        to: list('to'),
        postgres,
        mysql,
        sqlite: list('sqlite'),
        files: list('files'),
        exclude: list('exclude'),
        rowCounts: optional('row-counts'),
        postgresOptions: {
          schemas: list('schema'),
          excludeSchemas: list('exclude-schema'),
          tables: list('table'),
          excludeTables: list('exclude-table'),
          excludeTableData: list('exclude-table-data'),
          rowSecurity: flag('row-security'),
          pgBin: optional('pg-bin'),
        },
        recipients,
        passphrase,
        passphraseSource: 'input passphrase',
        unencrypted,
        deployedSha: optional('deployed-sha'),
        deployedRef: optional('deployed-ref'),
        labels: commaList('label'),
        compression: optional('compression'),
        level: optional('level'),
        confirm: optional('confirm-upload'),
        ...storageInputs(),
      },
      actionsReporter,
      originFromEnv(process.env),
    );
    const policy = resolvePolicy({
      keepLast: optional('keep-last'),
      keepHourly: optional('keep-hourly'),
      keepDaily: optional('keep-daily'),
      keepWeekly: optional('keep-weekly'),
      keepMonthly: optional('keep-monthly'),
      keepYearly: optional('keep-yearly'),
      keepWithin: optional('keep-within'),
      keepLabels: commaList('keep-label'),
    });
    const groupBy = parseGroupBy(optional('group-by'), 'group-by');
    const lock = resolveLock({ lockWait: optional('lock-wait') }, process.env);
    state.destinations = options.destinations;
    state.stage = 'the backup';
    const result = await backup({ ...options, lock, init: flag('init'), signingKey, dbLockTimeoutMs: resolveDbLockTimeout(optional('db-lock-timeout')) });
    state.committedId = result.id;
    state.outcomes = result.destinations;
    // Each destination is its own repository: verify and retention run only where it committed.
    const committedAt = options.destinations.filter((_, i) => result.destinations[i]?.status === 'committed');
    const failed = result.destinations.filter((d) => d.status === 'failed');
    // From here a cancellation stops verify or retention, never the backup: the line says it is safe.
    const committed = `backup ${result.id} had been committed at ${result.manifest.startedAt} to ${committedAt.map((d) => d.display).join(', ')}`;
    const after = beginActivity(`verify and retention after backup ${result.id}`, `${committed}; nothing was removed`);
    after.nested = (inner) => `${committed}; ${inner}`;
    try {
      core.setOutput('backup-id', result.id);
      core.setOutput('size', String(result.storedBytes));
      core.setOutput('plaintext-size', String(result.plaintextBytes));
      core.setOutput('duration-seconds', result.durationSeconds.toFixed(1));
      core.setOutput('destinations', JSON.stringify(result.destinations));
      await writeSummary((s) => {
        s.addHeading(result.status === 'partial' ? 'Strongbox backup: PARTIAL' : 'Strongbox backup', 2)
          .addRaw(`Backup <code>${result.id}</code>${result.manifest.labels.length ? ` labelled ${result.manifest.labels.map((l) => `<code>${l}</code>`).join(', ')}` : ''} → ${committedAt.map((d) => `<code>${d.display}</code>`).join(', ')}`, true)
          .addTable([
            [
              { data: 'Artifact', header: true },
              { data: 'Source', header: true },
              { data: 'Size', header: true },
              { data: 'Stored', header: true },
              { data: 'SHA-256 (stored)', header: true },
            ],
            ...result.manifest.artifacts.map((a) => [
              a.name,
              String(a.source.database ?? a.source.path ?? ''),
              formatBytes(a.plaintext.size),
              formatBytes(a.stored.size),
              `<code>${a.stored.sha256.slice(0, 16)}…</code>`,
            ]),
          ])
          .addTable(destinationRows(result.destinations, state.secrets))
          .addRaw(`Duration: ${result.durationSeconds.toFixed(1)} s. Encryption: ${result.manifest.encryption.scheme}. ${signingKey ? 'Manifest signed.' : 'Manifest unsigned.'}`, true);
      });
      state.stage = 'verifying the new backup and applying retention';
      if (policy) await verifyThenPrune(committedAt, result.id, policy, groupBy, lock);
    } finally {
      after.end();
    }
    // Last, so a failed prune after a committed backup is reported as the failure it is.
    if (result.status === 'partial') {
      for (const d of failed) core.warning(logText(`backup ${result.id} was NOT committed at ${d.location}: ${d.error}${d.hint ? `\n${d.hint}` : ''}`));
      core.setOutput('status', 'partial');
      core.setOutput('exit-code', String(ExitCode.partial));
      core.setFailed(logText(`backup ${result.id} is committed at ${committedAt.map((d) => d.display).join(', ')} but failed at ${failed.map((d) => `${d.location} (${d.error})`).join('; ')}`));
      return;
    }
    core.setOutput('status', 'success');
    core.setOutput('exit-code', '0');
  }, { what: 'the Strongbox backup step', onFailure: (err, code, budgetMs) => writeBackupFailureSummary(err, code, state, budgetMs) });
}

/**
 * Retention runs only after the new backup is verified at every destination it was committed
 * to (a failed backup throws before reaching here; a destination where it failed is left
 * alone), so a broken run can never prune away the older good backups.
 */
async function verifyThenPrune(destinations: Destination[], id: string, policy: RetentionPolicy, groupBy: GroupBy, lock: LockSettings): Promise<void> {
  const pruned: string[] = [];
  for (const dest of destinations) {
    const check = await verify({ destination: dest, selector: id, deep: false, reporter: actionsReporter, lock });
    if (!check.ok) throw new VerificationError(`the new backup ${id} failed verification at ${dest.display}; retention was not applied`);
    const r = await prune({ destination: dest, policy, groupBy, dryRun: false, reporter: actionsReporter, lock });
    pruned.push(...r.removed.map((x) => x.id), ...r.incompleteRemoved);
    if (r.retained.length) core.warning(`${r.retained.length} backup(s) at ${dest.display} could not be deleted (object lock or permissions): ${r.retained.map((x) => x.id).join(', ')}`);
  }
  core.setOutput('pruned', JSON.stringify([...new Set(pruned)]));
  await writeSummary((s) => s.addRaw(`Retention: removed ${pruned.length} backup(s)${pruned.length ? `: ${pruned.map((x) => `<code>${x}</code>`).join(', ')}` : ''}.`, true));
}
