import * as core from '@actions/core';
import { restore } from '../core/restore.js';
import { maskUrlPassword, openDestinations, resolveDbLockTimeout, resolveLock } from '../config/settings.js';
import { commaList, decryptionInputs, flag, optional, storageInputs } from './inputs.js';
import { actionsReporter } from './reporter.js';
import { runAction, writeSummary } from './run.js';

export async function runRestoreAction(): Promise<void> {
  await runAction(async () => {
    const postgresTarget = optional('postgres-target');
    if (postgresTarget) maskUrlPassword(postgresTarget, actionsReporter);
    const decrypt = await decryptionInputs();
    const [dest] = openDestinations([core.getInput('from')], storageInputs(), 'from');
    const result = await restore({
      destination: dest!,
      selection: { selector: optional('backup') ?? 'latest' },
      decrypt,
      postgresTarget,
      filesTarget: optional('files-target'),
      only: commaList('only'),
      force: flag('force'),
      reporter: actionsReporter,
      lock: resolveLock({ lockWait: optional('lock-wait') }, process.env),
      dbLockTimeoutMs: resolveDbLockTimeout(optional('db-lock-timeout')),
    });
    core.setOutput('backup-id', result.backupId);
    core.setOutput('git-sha', result.manifest.origin.sha ?? '');
    core.setOutput('git-ref', result.manifest.origin.ref ?? '');
    core.setOutput('restored', JSON.stringify(result.restored));
    core.setOutput('exit-code', '0');
    await writeSummary((s) =>
      s
        .addHeading('Strongbox restore', 2)
        .addRaw(`Restored backup <code>${result.backupId}</code> taken ${result.manifest.startedAt}${result.manifest.origin.sha ? ` at git sha <code>${result.manifest.origin.sha.slice(0, 12)}</code>` : ''}.`, true)
        .addTable([
          [
            { data: 'Artifact', header: true },
            { data: 'Target', header: true },
          ],
          ...result.restored.map((r) => [r.name, `<code>${r.target}</code>`]),
        ]),
    );
  });
}
