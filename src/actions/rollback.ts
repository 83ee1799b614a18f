import * as core from '@actions/core';
import { rollback } from '../core/rollback.js';
import { resolveRollbackConfig } from '../config/read.js';
import { changesBetween } from './git-changes.js';
import { configInput, getRollbackInputs } from './read-inputs.js';
import { actionsReporter } from './reporter.js';
import { getNotifyInputs } from './notify-inputs.js';
import { rollbackOutcome } from '../report/outcome.js';
import { ExitCode } from '../shared/errors.js';
import { runAction, writeSummary, type ActionDeps } from './run.js';

export async function runRollbackAction(deps: ActionDeps = {}): Promise<void> {
  await runAction(async () => {
    const inputs = getRollbackInputs();
    const result = await rollback(await resolveRollbackConfig(inputs, await configInput(inputs), process.env, actionsReporter));
    core.setOutput('backup-id', result.backupId);
    core.setOutput('git-sha', result.gitSha ?? '');
    core.setOutput('git-ref', result.gitRef ?? '');
    core.setOutput('backup-run-sha', result.backupRunSha ?? '');
    core.setOutput('backup-run-ref', result.backupRunRef ?? '');
    core.setOutput('safety-backup-id', result.safetyBackupId);
    const failed = result.checks.filter((c) => !c.ok);
    core.setOutput('checks-ok', String(failed.length === 0));
    core.setOutput('duration-seconds', result.durationSeconds.toFixed(1));
    const current = process.env.GITHUB_SHA;
    const changes = await changesBetween(process.env.GITHUB_WORKSPACE, result.gitSha, current);
    await writeSummary((s) => {
      s.addHeading('Strongbox rollback', 2)
        .addTable([
          [
            { data: '', header: true },
            { data: 'Backup', header: true },
            { data: 'Git', header: true },
          ],
          ['From (now, saved as safety backup)', `<code>${result.safetyBackupId}</code>`, current ? `<code>${current.slice(0, 12)}</code>` : ''],
          ['To (snapshot restored; release to redeploy)', `<code>${result.backupId}</code> (${result.snapshotStartedAt})`, result.gitSha ? `<code>${result.gitSha.slice(0, 12)}</code> ${result.gitRef ?? ''}` : 'not recorded'],
        ])
        .addRaw(
          result.gitShaSource === 'backup-run'
            ? 'Note: this snapshot did not record <code>deployed-sha</code>; git-sha is the commit of the run that took it, which for a pre-deploy snapshot is the release being rolled back. Pass <code>deployed-sha</code> when taking snapshots.'
            : result.backupRunSha
              ? `git-sha is the recorded deployed sha; the snapshot was taken by the run at <code>${result.backupRunSha.slice(0, 12)}</code> (backup-run-sha).`
              : '',
          true,
        )
        .addRaw(`Restored: ${result.restored.map((r) => `${r.name} → <code>${r.target}</code>`).join(', ')}; the rollback took ${result.durationSeconds.toFixed(1)} s (safety backup, its verification, restore, checks).`, true);
      if (result.checks.length) {
        s.addHeading('Smoke checks', 3).addList(result.checks.map((c) => `${c.ok ? '✅' : '❌'} ${c.check}: ${c.detail}`));
      }
      if (changes) {
        s.addHeading(`Undone by this rollback: ${changes.commits.length} commit(s)`, 3).addList(changes.commits.length ? changes.commits : ['(none)']);
        if (changes.migrations.length) s.addHeading('Migration / schema files changed between the two', 3).addList(changes.migrations.map((m) => `<code>${m}</code>`));
      }
      s.addRaw(`To undo the rollback: <code>${result.undo}</code>`, true);
    });
    if (failed.length) {
      core.setOutput('status', 'failure');
      core.setOutput('exit-code', String(ExitCode.verifyFailed));
      core.setFailed(`rolled back to ${result.backupId}, but ${failed.length} smoke check(s) failed: ${failed.map((c) => `${c.check} (${c.detail})`).join('; ')}\nTo return to the state before the rollback: ${result.undo}`);
    } else {
      core.setOutput('status', 'success');
      core.setOutput('exit-code', '0');
    }
    return { exitCode: failed.length ? ExitCode.verifyFailed : ExitCode.ok, outcome: rollbackOutcome(result) };
  }, { what: 'the Strongbox rollback step', monitor: { operation: 'rollback', inputs: () => getNotifyInputs() } }, deps);
}
