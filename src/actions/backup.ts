import * as core from '@actions/core';
import { escapeHtmlText as escapeHtml } from '../report/escape.js';
import { backup, type BackupResult } from '../core/backup.js';
import { copyToTier, pruneHolders, verifyCommitted, type LocationOutcome } from '../core/after-backup.js';
import { ExitCode, UsageError } from '../shared/errors.js';
import { logText } from '../shared/text.js';

import { formatBytes } from '../shared/format.js';
import { backupLocations, quotaTargets, resolveAlertSettings, resolveBackupConfig, resolveCopyTiers } from '../config/backup.js';
import type { Alert } from '../shared/alert.js';
import { given } from '../config/env.js';
import { loadConfigFile } from '../config/file.js';
import { resolveRetentionPlan } from '../config/locations.js';
import { checkQuotas, type QuotaUsage } from '../core/quota.js';
import { parseGroupBy } from '../core/series.js';
import type { Reporter } from '../shared/reporter.js';
import { forkPullRequestReason } from './fork.js';
import { getBackupInputs } from './backup-inputs.js';
import { actionsReporter } from './reporter.js';
import { destinationRows, writeBackupFailureSummary, type BackupRunState } from './backup-failure.js';
import { runAction, writeSummary, type ActionDeps } from './run.js';
import { getNotifyInputs } from './notify-inputs.js';
import { backupOutcome, failedBackupOutcome } from '../report/outcome.js';
import type { RunEvent } from '../notify/event.js';
import { beginActivity } from '../shared/cancel.js';
import { writeSeriesHistorySummary } from './series-history.js';
import { actionsCache, hasCollection, restoreState, saveState, type StateCache } from './state-cache.js';

export async function runBackupAction(deps: ActionDeps & { stateCache?: StateCache } = {}): Promise<void> {
  const state: BackupRunState = { started: new Date(), runId: process.env.GITHUB_RUN_ID, stage: 'reading the inputs', destinations: [], secrets: [] };
  await runAction(async () => {
    // Every value masked in the log is also kept from the job summary, which the runner does not mask.
    const reporter: Reporter = { ...actionsReporter, setSecret: (s) => (actionsReporter.setSecret(s), s && state.secrets.push(s), undefined) };
    // Secrets first: nothing may be logged before the runner knows to mask them.
    const inputs = getBackupInputs(reporter);
    state.secrets.push(...inputs.secrets);
    const file = inputs.config !== undefined ? await loadConfigFile(inputs.config) : undefined;
    const b = inputs.backup;

    // The runner sets every declared input, "" when not given, so an unset secret and an
    // omitted input look the same: no key anywhere and no explicit `unencrypted: true` is refused.
    if (!given(b.recipients) && b.passphrase === undefined && !b.unencrypted && !file?.encryption) {
      const skip = forkPullRequestReason(process.env);
      if (skip) {
        core.warning(`Backup SKIPPED: ${skip}.`);
        core.setOutput('status', 'skipped');
        core.setOutput('skip-reason', skip);
        await writeSummary((s) => s.addHeading('Strongbox backup: skipped', 2).addRaw(`Skipped: ${skip}.`, true));
        return { exitCode: ExitCode.ok, outcome: { details: { skipped: skip } } };
      }
      throw new UsageError(
        'no encryption key: the recipient and passphrase inputs are both empty',
        `an unset repository secret or variable expands to ""; set recipient to an age1… public key (or passphrase from a secret)${file ? `, or encryption: in ${file.path}` : ''}. No plaintext backup is made; set unencrypted: true only if you really want one.`,
      );
    }
    // Everything checked before anything is written: a bad tier or keep-* input fails fast.
    const options = await resolveBackupConfig(b, file, process.env, reporter);
    const alerting = resolveAlertSettings(b, file);
    const groupBy = parseGroupBy(inputs.groupBy ?? file?.groupBy, 'group-by');
    const destinations = backupLocations(options, b, file);
    const tiers = resolveCopyTiers(inputs.copyTo, file, b, options.destinations, reporter, process.env);
    const plan = resolveRetentionPlan(file, { policy: inputs.retention, opened: [...destinations, ...tiers] });
    state.destinations = options.destinations;
    // Collections keep their state in the Actions cache between runs (state-cache.ts).
    const cached = hasCollection(options.sources) && !options.stateDir
      ? await restoreState(deps.stateCache ?? actionsCache, options.sources, options.destinations.map((d) => d.display), reporter)
      : undefined;
    state.stage = 'the backup';
    const result = await backup(cached ? { ...options, stateDir: cached.dir } : options);
    if (cached) await saveState(deps.stateCache ?? actionsCache, cached, reporter);
    state.committedId = result.id;
    state.outcomes = result.destinations;
    // Each destination is its own repository: verify, copy and retention run only where it committed.
    const committedAt = destinations.filter((_, i) => result.destinations[i]?.status === 'committed');
    // From here a cancellation stops verify, copy or retention, never the backup: the line says it is safe.
    const committed = `backup ${result.id} had been committed at ${result.manifest.startedAt} to ${committedAt.map((d) => d.destination.display).join(', ')}`;
    const after = beginActivity(`verify, copy and retention after backup ${result.id}`, `${committed}; nothing was removed`);
    after.nested = (inner) => `${committed}; ${inner}`;
    const outcomes: LocationOutcome[] = result.destinations.map((d) => ({ ...d }));
    let quota: QuotaUsage[] = [];
    try {
      core.setOutput('backup-id', result.id);
      core.setOutput('size', String(result.storedBytes));
      core.setOutput('plaintext-size', String(result.plaintextBytes));
      core.setOutput('duration-seconds', result.durationSeconds.toFixed(1));
      core.setOutput('destinations', JSON.stringify(outcomes));
      core.setOutput('alerts', JSON.stringify(result.alerts));
      state.stage = 'verifying the new backup';
      await verifyCommitted(committedAt.map((d) => d.destination), result.id, options.lock, reporter);
      state.stage = 'copying the new backup to the copy-to tiers';
      const holders = [...committedAt];
      for (const tier of tiers) {
        const outcome = await copyToTier(committedAt.map((d) => d.destination), tier.destination, result.id, options, reporter);
        outcomes.push(outcome);
        if (outcome.status === 'committed') holders.push(tier);
      }
      core.setOutput('copied', JSON.stringify(outcomes.filter((o) => o.tier && o.status === 'committed').map((o) => o.location)));
      core.setOutput('destinations', JSON.stringify(outcomes));
      state.stage = 'applying retention';
      const pruned = await pruneHolders(plan, holders.map((h) => h.destination), outcomes, groupBy, options.lock, reporter, inputs.forcePrune);
      core.setOutput('pruned', JSON.stringify(pruned));
      core.setOutput('guarded', JSON.stringify(outcomes.flatMap((o) => (o.guarded ?? []).map((g) => ({ location: o.location, ...g })))));
      core.setOutput('destinations', JSON.stringify(outcomes));
      state.stage = 'measuring the quotas';
      // The quota input applies to the destinations; a tier keeps the file's quota.
      const measured = [...quotaTargets(committedAt, alerting.quotaBytes), ...quotaTargets(holders.filter((h) => !committedAt.includes(h)))];
      quota = await checkQuotas(measured, reporter, alerting.quotaAlertPercent);
    } finally {
      after.end();
    }
    const alerts: Alert[] = [...result.alerts, ...quota.flatMap((q) => (q.alert ? [q.alert] : []))];
    core.setOutput('alerts', JSON.stringify(alerts));
    const failed = outcomes.filter((d) => d.status === 'failed');
    // The notification's figures: every destination and tier as it ended, every alert (quota too).
    const outcome: Partial<RunEvent> = {
      ...backupOutcome(result),
      destinations: outcomes.map((d) => ({ location: d.location, status: d.status, ...(d.error ? { error: d.error } : {}) })),
      ...(alerts.length ? { alerts } : {}),
    };
    await writeSummary((s) => summarize(s, result, outcomes, quota, alerts, !!options.signingKey, state.secrets));
    await writeSeriesHistorySummary(committedAt[0]?.destination, result.id, groupBy, reporter);
    // Last, so a failed prune after a committed backup is reported as the failure it is.
    if (failed.length) {
      for (const d of failed) core.warning(logText(`backup ${result.id} was NOT ${d.tier ? 'copied to' : 'committed at'} ${d.location}: ${d.error}${d.hint ? `\n${d.hint}` : ''}`));
      core.setOutput('status', 'partial');
      core.setOutput('exit-code', String(ExitCode.partial));
      const held = outcomes.filter((d) => d.status === 'committed').map((d) => d.location);
      const message = `backup ${result.id} is committed at ${held.join(', ')} but failed at ${failed.map((d) => `${d.location} (${d.error})`).join('; ')}`;
      core.setFailed(logText(message));
      return { exitCode: ExitCode.partial, outcome, error: { message } };
    }
    if (alerts.length && alerting.failOnAlert) {
      // The backup stays committed (and pruned, guard permitting); the step fails so someone looks.
      core.setOutput('status', 'alert');
      core.setOutput('exit-code', String(ExitCode.alert));
      const message = `backup ${result.id} is committed, but raised ${alerts.length} alert(s) and fail-on-alert is set: ${alerts.map((a) => a.message).join('; ')}`;
      core.setFailed(logText(message));
      return { exitCode: ExitCode.alert, outcome, error: { message } };
    }
    core.setOutput('status', 'success');
    core.setOutput('exit-code', '0');
    return { exitCode: ExitCode.ok, outcome };
  }, {
    what: 'the Strongbox backup step',
    onFailure: (err, code, budgetMs) => writeBackupFailureSummary(err, code, state, budgetMs),
    monitor: { operation: 'backup', inputs: () => getNotifyInputs(), failedOutcome: failedBackupOutcome },
  }, deps);
}

function summarize(s: typeof core.summary, result: BackupResult, outcomes: LocationOutcome[], quota: QuotaUsage[], alerts: Alert[], signed: boolean, secrets: string[]): void {
  const held = outcomes.filter((d) => d.status === 'committed');
  const partial = outcomes.some((d) => d.status === 'failed');
  const pruned = [...new Set(outcomes.flatMap((o) => o.pruned ?? []))];
  s.addHeading(partial ? 'Strongbox backup: PARTIAL' : 'Strongbox backup', 2)
    .addRaw(`Backup <code>${result.id}</code>${result.manifest.labels.length ? ` labelled ${result.manifest.labels.map((l) => `<code>${l}</code>`).join(', ')}` : ''} → ${held.map((d) => `<code>${d.location}</code>`).join(', ')}`, true)
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
    .addTable(destinationRows(outcomes, secrets))
    .addRaw(`Duration: ${result.durationSeconds.toFixed(1)} s. Encryption: ${result.manifest.encryption.scheme}. ${signed ? 'Manifest signed.' : 'Manifest unsigned.'}`, true);
  const packs = outcomes.reduce((n, o) => n + (o.packsRemoved ?? 0), 0);
  const packBytes = outcomes.reduce((n, o) => n + (o.packBytesRemoved ?? 0), 0);
  if (outcomes.some((o) => o.pruned)) s.addRaw(`Retention: removed ${pruned.length} backup(s)${pruned.length ? `: ${pruned.map((x) => `<code>${x}</code>`).join(', ')}` : ''}${packs ? `, and ${packs} unreferenced pack(s) (${formatBytes(packBytes)})` : ''}.`, true);
  for (const o of outcomes) {
    for (const g of o.guarded ?? []) {
      const where = `series <code>${escapeHtml(g.series)}</code> at <code>${escapeHtml(o.location)}</code>`;
      if (g.forced) s.addRaw(`⚠️ Retention guard overridden (force-prune) for ${where}: backup <code>${g.backup}</code> carries drop alert(s).`, true);
      else s.addRaw(`⚠️ Retention guard: nothing removed in ${where}, ${g.spared.length} backup(s) kept — backup <code>${g.backup}</code> carries drop alert(s). Check the data; once the new size is right, run with <code>force-prune: true</code>.`, true);
    }
  }
  if (quota.length) s.addRaw(`Quota: ${quota.map((q) => `<code>${q.location}</code> ${formatBytes(q.usedBytes)} of ${formatBytes(q.quotaBytes)} (${Math.round((q.usedBytes / q.quotaBytes) * 100)}%)${q.usedBytes > q.quotaBytes ? ' OVER' : q.alert ? ' nearly full' : ''}`).join('; ')}.`, true);
  // One line per alert; the messages name artifacts, tables and locations, never a secret.
  for (const a of alerts) s.addRaw(`⚠️ Alert (${a.kind}): ${escapeHtml(a.message)}`, true);
}

