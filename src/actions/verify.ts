import * as core from '@actions/core';
import { resolveVerifyConfig } from '../config/read.js';
import { describeSignature } from '../core/trust.js';
import { verify, type VerifyResult } from '../core/verify.js';
import { verifyAcross, type VerifyAcrossResult } from '../core/verify-across.js';
import { DRILL_ACTION_NAMES, drillRequested, resolveDrillConfig } from '../config/drill.js';
import { escapeHtml } from '../report/escape.js';
import { drill, type DrillResult } from '../core/drill.js';
import { configInput, getDrillInputs, getVerifyInputs, type VerifyInputs } from './read-inputs.js';
import { actionsReporter } from './reporter.js';
import { getNotifyInputs } from './notify-inputs.js';
import type { RunEvent } from '../notify/event.js';
import type { RunOutcome } from '../notify/monitor.js';
import { drillOutcome, verifyAcrossOutcome, verifyOutcome } from '../report/outcome.js';
import { runAction, writeSummary, type ActionDeps } from './run.js';

export async function runVerifyAction(deps: ActionDeps = {}): Promise<void> {
  await runAction(async () => {
    const inputs = getVerifyInputs();
    // Drill checks without any scratch target are refused before verifying, not skipped after.
    drillRequested(getDrillInputs());
    const { destinations, destination, ...options } = await resolveVerifyConfig(inputs, await configInput(inputs), process.env, actionsReporter);
    if (destinations.length > 1) {
      const across = await verifyAcross({ ...options, destinations });
      await reportAcross(across);
      const verified = verifyAcrossOutcome(across);
      if (!across.ok) return finish(false, across.exitCode, verified, () => `backup ${across.backupId} failed verification across ${destinations.length} locations, listed above`);
      const drilled = await drillAfterVerify(inputs, across.backupId);
      if (drilled && !drilled.ok) return finish(false, drilled.exitCode, withDrill(verified, drilled), () => `DRILL FAILED: backup ${across.backupId} did not restore as recorded (${drillFailures(drilled)})`);
      return finish(true, 0, withDrill(verified, drilled), () => '');
    }
    const result = await verify({ ...options, destination });
    core.setOutput('ok', String(result.ok));
    core.setOutput('backup-id', result.backupId);
    core.setOutput('age-seconds', String(Math.round(result.ageSeconds)));
    core.setOutput('problems', JSON.stringify(result.problems));
    core.setOutput('duration-seconds', result.durationSeconds.toFixed(1));
    await writeSummary((s) =>
      s
        .addHeading(`Strongbox verify: ${result.ok ? 'OK' : 'FAILED'}`, 2)
        .addRaw(`Backup <code>${result.backupId}</code>, finished ${result.finishedAt}${result.deep ? ', deep check (decrypted)' : ''}; ${describeSignature(result.signature, !!options.trusted)}. Checked in ${result.durationSeconds.toFixed(1)} s.`, true)
        .addTable([
          [
            { data: 'Artifact', header: true },
            { data: 'Object', header: true },
            { data: 'Result', header: true },
          ],
          ...result.artifacts.map((a) => [a.name, `<code>${a.object}</code>`, artifactResult(a)]),
          ...result.problems.filter((p) => !p.artifact).map((p) => ['—', '—', p.problem]),
        ]),
    );
    // Each problem was already reported as an error annotation when found.
    const verified = verifyOutcome(result, destination.display);
    if (!result.ok) return finish(false, result.exitCode, verified, () => `backup ${result.backupId} failed verification: ${result.problems.length} problem(s), listed above`);
    const drilled = await drillAfterVerify(inputs, result.backupId);
    if (drilled && !drilled.ok) return finish(false, drilled.exitCode, withDrill(verified, drilled), () => `DRILL FAILED: backup ${result.backupId} did not restore as recorded (${drillFailures(drilled)})`);
    return finish(true, 0, withDrill(verified, drilled), () => '');
  }, {
    what: 'the Strongbox verify step',
    // With drill inputs the step is a drill (the verify is its first half): its event says so and carries the RTO.
    monitor: { operation: () => (drillRequested(getDrillInputs()) ? 'drill' : 'verify'), inputs: () => getNotifyInputs() },
  }, deps);
}

/**
 * With drill inputs: the backup just verified is restored into scratch targets (the CLI's
 * `strongbox drill`), its RTO measured; outputs `rto-seconds` and `drill` (the result as JSON).
 */
async function drillAfterVerify(inputs: VerifyInputs, backupId: string): Promise<DrillResult | undefined> {
  const drillInputs = getDrillInputs();
  if (!drillRequested(drillInputs)) return undefined;
  const file = await configInput(inputs);
  const options = await resolveDrillConfig({ ...inputs, ...drillInputs, from: inputs.from?.[0], backup: backupId }, file, process.env, actionsReporter);
  const result = await drill({ ...options, names: DRILL_ACTION_NAMES });
  core.setOutput('rto-seconds', String(result.rtoSeconds));
  core.setOutput('drill', JSON.stringify(result));
  await writeSummary((s) =>
    s
      .addHeading(`Strongbox restore drill: ${result.ok ? 'OK' : 'FAILED'}`, 2)
      .addRaw(`Backup <code>${escapeHtml(result.backupId)}</code> restored into scratch targets in ${result.rtoSeconds.toFixed(1)} s (RTO: download, decrypt, decompress and restore of each artifact, one after another; comparisons and checks not counted).`, true)
      .addTable([
        [
          { data: 'Artifact', header: true },
          { data: 'Scratch target', header: true },
          { data: 'Compared', header: true },
          { data: 'Seconds', header: true },
          { data: 'Result', header: true },
        ],
        // Cells are HTML: the check SQL (`a < b`), psql's error text and target names are escaped.
        ...result.artifacts.map((a) => [
          escapeHtml(a.name),
          a.target ? `<code>${escapeHtml(a.target)}</code>` : '—',
          escapeHtml([a.rows ? `${a.rows.rows} rows in ${a.rows.tables} tables` : '', a.compared ?? ''].filter(Boolean).join(', ')) || '—',
          a.seconds !== undefined ? a.seconds.toFixed(1) : '—',
          a.status === 'ok' ? 'OK' : escapeHtml(a.status === 'skipped' ? `skipped: ${a.problem ?? ''}` : `DIFFERENCE: ${a.problem ?? ''}`),
        ]),
        ...result.checks.map((c) => [`check <code>${escapeHtml(c.check)}</code>`, '—', escapeHtml(c.detail), '—', c.ok ? 'OK' : 'FAILED']),
      ]),
  );
  return result;
}

const drillFailures = (r: DrillResult) => [...r.artifacts.filter((a) => a.status === 'difference').map((a) => a.name), ...r.checks.filter((c) => !c.ok).map((c) => `check ${c.check}`)].join(', ');

const artifactResult = (a: VerifyResult['artifacts'][number]) => (a.storedOk ? (a.plaintextOk ? 'stored + plaintext OK' : 'stored OK') : 'FAILED');

/** The drill's figures (RTO, rows compared, checks) as the event's details, the verify's beside them. */
function withDrill(verified: Partial<RunEvent>, drilled: DrillResult | undefined): Partial<RunEvent> {
  if (!drilled) return verified;
  const d = drillOutcome(drilled);
  const error = drilled.ok ? verified.error : { message: `DRILL FAILED: backup ${drilled.backupId} did not restore as recorded (${drillFailures(drilled)})` };
  return { ...verified, ...d, details: { ...d.details, verify: verified.details }, ...(error ? { error } : {}) };
}

function finish(ok: boolean, exitCode: number, outcome: Partial<RunEvent>, failure: () => string): RunOutcome {
  if (ok) {
    core.setOutput('status', 'success');
    core.setOutput('exit-code', '0');
    return { exitCode: 0, outcome };
  }
  core.setOutput('status', 'failure');
  core.setOutput('exit-code', String(exitCode));
  const message = failure();
  core.setFailed(message);
  return { exitCode, outcome, error: outcome.error ?? { message } };
}

/**
 * Several `from` locations: the outputs of one (backup-id, age-seconds at the first location,
 * every problem with the location it was found at) plus `consistent`, and one summary row per location.
 */
async function reportAcross(across: VerifyAcrossResult): Promise<void> {
  const first = across.locations[0]?.result;
  const problems = [
    ...across.locations.flatMap((l) => (l.result?.problems ?? []).map((p) => ({ location: l.location, ...p }))),
    // Differences between locations, and a location where it could not run (missing, unreachable).
    ...across.problems,
  ];
  core.setOutput('ok', String(across.ok));
  core.setOutput('consistent', String(across.consistent));
  core.setOutput('backup-id', across.backupId);
  core.setOutput('age-seconds', first ? String(Math.round(first.ageSeconds)) : '');
  core.setOutput('problems', JSON.stringify(problems));
  core.setOutput('duration-seconds', across.durationSeconds.toFixed(1));
  await writeSummary((s) =>
    s
      .addHeading(`Strongbox verify across ${across.locations.length} locations: ${across.ok ? 'OK' : 'FAILED'}`, 2)
      .addRaw(`Backup <code>${across.backupId}</code>${across.consistent ? ': every location holds it with identical SHA-256s' : ': the locations DIFFER'}${first?.deep ? ', deep check (decrypted)' : ''}. Checked in ${across.durationSeconds.toFixed(1)} s.`, true)
      .addTable([
        [
          { data: 'Location', header: true },
          { data: 'Result', header: true },
        ],
        ...across.locations.map((l) => {
          const bad = [...(l.result?.problems ?? []), ...across.problems.filter((p) => p.location === l.location)].map((p) => p.problem);
          return [`<code>${l.location}</code>`, bad.length ? `FAILED: ${bad.join('; ')}` : 'OK'];
        }),
      ]),
  );
}
