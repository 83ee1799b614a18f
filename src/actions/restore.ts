import * as core from '@actions/core';
import { releaseOf } from '../core/release.js';
import { restore } from '../core/restore.js';
import { openDestinations, resolveDbLockTimeout, resolveLock, resolvePgBin } from '../config/settings.js';
import { commaList, decryptionInputs, targetInputs, flag, optional, storageInputs, trustInputs } from './inputs.js';
import { actionsReporter } from './reporter.js';
import { runAction, writeSummary } from './run.js';

export async function runRestoreAction(): Promise<void> {
  await runAction(async () => {
    const targets = targetInputs();
    const decrypt = await decryptionInputs();
    const trusted = await trustInputs();
    const [dest] = openDestinations([core.getInput('from')], storageInputs(), 'from', actionsReporter);
    const result = await restore({
      destination: dest!,
      selection: { selector: optional('backup') ?? 'latest' },
      decrypt,
      trusted,
      targets,
      only: commaList('only'),
      force: flag('force'),
      reporter: actionsReporter,
      lock: resolveLock({ lockWait: optional('lock-wait') }, process.env),
      dbLockTimeoutMs: resolveDbLockTimeout(optional('db-lock-timeout')),
      ...resolvePgBin(optional('pg-bin')),
    });
    core.setOutput('backup-id', result.backupId);
    const release = releaseOf(result.manifest.origin);
    core.setOutput('git-sha', release.gitSha ?? '');
    core.setOutput('git-ref', release.gitRef ?? '');
    core.setOutput('backup-run-sha', release.backupRunSha ?? '');
    core.setOutput('backup-run-ref', release.backupRunRef ?? '');
    core.setOutput('restored', JSON.stringify(result.restored));
    core.setOutput('status', 'success');
    core.setOutput('exit-code', '0');
    await writeSummary((s) =>
      s
        .addHeading('Strongbox restore', 2)
        .addRaw(`Restored backup <code>${result.backupId}</code> taken ${result.manifest.startedAt}${release.gitSha ? `; release to redeploy with it: git <code>${release.gitSha.slice(0, 12)}</code>${release.gitShaSource === 'backup-run' ? ' (no deployed sha recorded: the commit of the run that took it)' : ''}` : ''}.`, true)
        .addTable([
          [
            { data: 'Artifact', header: true },
            { data: 'Target', header: true },
          ],
          ...result.restored.map((r) => [r.name, `<code>${r.target}</code>`]),
        ]),
    );
  }, { what: 'the Strongbox restore step' });
}
