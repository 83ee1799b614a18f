import * as core from '@actions/core';
import { parseDuration } from '../core/duration.js';
import { UsageError } from '../shared/errors.js';
import { describeSignature } from '../core/trust.js';
import { verify } from '../core/verify.js';
import { openDestinations, resolveLock } from '../config/settings.js';
import { decryptionInputs, flag, optional, storageInputs, trustInputs } from './inputs.js';
import { actionsReporter } from './reporter.js';
import { runAction, writeSummary } from './run.js';

export async function runVerifyAction(): Promise<void> {
  await runAction(async () => {
    const deep = flag('deep');
    const maxAge = optional('max-age');
    const maxAgeMs = maxAge ? parseDuration(maxAge, 'max-age') : undefined;
    const decrypt = await decryptionInputs();
    if (deep && !decrypt) throw new UsageError('deep verification needs the key', 'set the identity (or passphrase) input from a secret');
    const trusted = await trustInputs();
    const [dest] = openDestinations([core.getInput('from')], storageInputs(), 'from', actionsReporter);
    const result = await verify({ destination: dest!, selector: optional('backup') ?? 'latest', deep, decrypt, trusted, maxAgeMs, reporter: actionsReporter, lock: resolveLock({ lockWait: optional('lock-wait') }, process.env) });
    core.setOutput('ok', String(result.ok));
    core.setOutput('backup-id', result.backupId);
    core.setOutput('age-seconds', String(Math.round(result.ageSeconds)));
    core.setOutput('problems', JSON.stringify(result.problems));
    await writeSummary((s) =>
      s
        .addHeading(`Strongbox verify: ${result.ok ? 'OK' : 'FAILED'}`, 2)
        .addRaw(`Backup <code>${result.backupId}</code>, finished ${result.finishedAt}${result.deep ? ', deep check (decrypted)' : ''}; ${describeSignature(result.signature, !!trusted)}.`, true)
        .addTable([
          [
            { data: 'Artifact', header: true },
            { data: 'Object', header: true },
            { data: 'Result', header: true },
          ],
          ...result.artifacts.map((a) => [a.name, `<code>${a.object}</code>`, a.storedOk ? (a.plaintextOk ? 'stored + plaintext OK' : 'stored OK') : 'FAILED']),
          ...result.problems.filter((p) => !p.artifact).map((p) => ['—', '—', p.problem]),
        ]),
    );
    if (!result.ok) {
      core.setOutput('status', 'failure');
      core.setOutput('exit-code', String(result.exitCode));
      // Each problem was already reported as an error annotation when found.
      core.setFailed(`backup ${result.backupId} failed verification: ${result.problems.length} problem(s), listed above`);
    } else {
      core.setOutput('status', 'success');
      core.setOutput('exit-code', '0');
    }
  }, { what: 'the Strongbox verify step' });
}
