import * as core from '@actions/core';
import { releaseOf } from '../core/release.js';
import { restore } from '../core/restore.js';
import { resolveRestoreConfig } from '../config/read.js';
import { configInput, getRestoreInputs } from './read-inputs.js';
import { actionsReporter } from './reporter.js';
import { getNotifyInputs } from './notify-inputs.js';
import { restoreOutcome } from '../report/outcome.js';
import { runAction, writeSummary, type ActionDeps } from './run.js';

export async function runRestoreAction(deps: ActionDeps = {}): Promise<void> {
  await runAction(async () => {
    const inputs = getRestoreInputs();
    const result = await restore(await resolveRestoreConfig(inputs, await configInput(inputs), process.env, actionsReporter));
    core.setOutput('backup-id', result.backupId);
    const release = releaseOf(result.manifest.origin);
    core.setOutput('git-sha', release.gitSha ?? '');
    core.setOutput('git-ref', release.gitRef ?? '');
    core.setOutput('backup-run-sha', release.backupRunSha ?? '');
    core.setOutput('backup-run-ref', release.backupRunRef ?? '');
    core.setOutput('restored', JSON.stringify(result.restored));
    core.setOutput('duration-seconds', result.durationSeconds.toFixed(1));
    core.setOutput('status', 'success');
    core.setOutput('exit-code', '0');
    await writeSummary((s) =>
      s
        .addHeading('Strongbox restore', 2)
        .addRaw(`Restored backup <code>${result.backupId}</code> taken ${result.manifest.startedAt}, in ${result.durationSeconds.toFixed(1)} s${release.gitSha ? `; release to redeploy with it: git <code>${release.gitSha.slice(0, 12)}</code>${release.gitShaSource === 'backup-run' ? ' (no deployed sha recorded: the commit of the run that took it)' : ''}` : ''}.`, true)
        .addTable([
          [
            { data: 'Artifact', header: true },
            { data: 'Target', header: true },
          ],
          ...result.restored.map((r) => [r.name, `<code>${r.target}</code>`]),
        ]),
    );
    return { exitCode: 0, outcome: restoreOutcome(result) };
  }, { what: 'the Strongbox restore step', monitor: { operation: 'restore', inputs: () => getNotifyInputs() } }, deps);
}
