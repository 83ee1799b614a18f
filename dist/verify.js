import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  DRILL_ACTION_NAMES,
  drill,
  drillRequested,
  resolveDrillConfig,
  verifyAcross
} from "./chunks/chunk-HNJCMWRL.js";
import {
  escapeHtml
} from "./chunks/chunk-HWUY422Q.js";
import {
  verify
} from "./chunks/chunk-S6YNOLOT.js";
import {
  configInput,
  getDrillInputs,
  getVerifyInputs
} from "./chunks/chunk-JUGL7PNT.js";
import {
  actionsReporter,
  getNotifyInputs,
  runAction,
  setFailed,
  setOutput,
  writeSummary
} from "./chunks/chunk-NRF3XMNW.js";
import {
  resolveVerifyConfig
} from "./chunks/chunk-J4ZO7BED.js";
import {
  describeSignature,
  drillOutcome,
  exitSoonIfCancelled,
  verifyAcrossOutcome,
  verifyOutcome
} from "./chunks/chunk-XEBPFPTJ.js";
import "./chunks/chunk-Y65T7N5T.js";

// src/actions/verify.ts
async function runVerifyAction(deps = {}) {
  await runAction(async () => {
    const inputs = getVerifyInputs();
    drillRequested(getDrillInputs());
    const { destinations, destination, ...options } = await resolveVerifyConfig(inputs, await configInput(inputs), process.env, actionsReporter);
    if (destinations.length > 1) {
      const across = await verifyAcross({ ...options, destinations });
      await reportAcross(across);
      const verified2 = verifyAcrossOutcome(across);
      if (!across.ok) return finish(false, across.exitCode, verified2, () => `backup ${across.backupId} failed verification across ${destinations.length} locations, listed above`);
      const drilled2 = await drillAfterVerify(inputs, across.backupId);
      if (drilled2 && !drilled2.ok) return finish(false, drilled2.exitCode, withDrill(verified2, drilled2), () => `DRILL FAILED: backup ${across.backupId} did not restore as recorded (${drillFailures(drilled2)})`);
      return finish(true, 0, withDrill(verified2, drilled2), () => "");
    }
    const result = await verify({ ...options, destination });
    setOutput("ok", String(result.ok));
    setOutput("backup-id", result.backupId);
    setOutput("age-seconds", String(Math.round(result.ageSeconds)));
    setOutput("problems", JSON.stringify(result.problems));
    setOutput("duration-seconds", result.durationSeconds.toFixed(1));
    await writeSummary(
      (s) => s.addHeading(`Strongbox verify: ${result.ok ? "OK" : "FAILED"}`, 2).addRaw(`Backup <code>${result.backupId}</code>, finished ${result.finishedAt}${result.deep ? ", deep check (decrypted)" : ""}; ${describeSignature(result.signature, !!options.trusted)}. Checked in ${result.durationSeconds.toFixed(1)} s.`, true).addTable([
        [
          { data: "Artifact", header: true },
          { data: "Object", header: true },
          { data: "Result", header: true }
        ],
        ...result.artifacts.map((a) => [a.name, `<code>${a.object}</code>`, artifactResult(a)]),
        ...result.problems.filter((p) => !p.artifact).map((p) => ["\u2014", "\u2014", p.problem])
      ])
    );
    const verified = verifyOutcome(result, destination.display);
    if (!result.ok) return finish(false, result.exitCode, verified, () => `backup ${result.backupId} failed verification: ${result.problems.length} problem(s), listed above`);
    const drilled = await drillAfterVerify(inputs, result.backupId);
    if (drilled && !drilled.ok) return finish(false, drilled.exitCode, withDrill(verified, drilled), () => `DRILL FAILED: backup ${result.backupId} did not restore as recorded (${drillFailures(drilled)})`);
    return finish(true, 0, withDrill(verified, drilled), () => "");
  }, {
    what: "the Strongbox verify step",
    // With drill inputs the step is a drill (the verify is its first half): its event says so and carries the RTO.
    monitor: { operation: () => drillRequested(getDrillInputs()) ? "drill" : "verify", inputs: () => getNotifyInputs() }
  }, deps);
}
async function drillAfterVerify(inputs, backupId) {
  const drillInputs = getDrillInputs();
  if (!drillRequested(drillInputs)) return void 0;
  const file = await configInput(inputs);
  const options = await resolveDrillConfig({ ...inputs, ...drillInputs, from: inputs.from?.[0], backup: backupId }, file, process.env, actionsReporter);
  const result = await drill({ ...options, names: DRILL_ACTION_NAMES });
  setOutput("rto-seconds", String(result.rtoSeconds));
  setOutput("drill", JSON.stringify(result));
  await writeSummary(
    (s) => s.addHeading(`Strongbox restore drill: ${result.ok ? "OK" : "FAILED"}`, 2).addRaw(`Backup <code>${escapeHtml(result.backupId)}</code> restored into scratch targets in ${result.rtoSeconds.toFixed(1)} s (RTO: download, decrypt, decompress and restore of each artifact, one after another; comparisons and checks not counted).`, true).addTable([
      [
        { data: "Artifact", header: true },
        { data: "Scratch target", header: true },
        { data: "Compared", header: true },
        { data: "Seconds", header: true },
        { data: "Result", header: true }
      ],
      // Cells are HTML: the check SQL (`a < b`), psql's error text and target names are escaped.
      ...result.artifacts.map((a) => [
        escapeHtml(a.name),
        a.target ? `<code>${escapeHtml(a.target)}</code>` : "\u2014",
        escapeHtml([a.rows ? `${a.rows.rows} rows in ${a.rows.tables} tables` : "", a.compared ?? ""].filter(Boolean).join(", ")) || "\u2014",
        a.seconds !== void 0 ? a.seconds.toFixed(1) : "\u2014",
        a.status === "ok" ? "OK" : escapeHtml(a.status === "skipped" ? `skipped: ${a.problem ?? ""}` : `DIFFERENCE: ${a.problem ?? ""}`)
      ]),
      ...result.checks.map((c) => [`check <code>${escapeHtml(c.check)}</code>`, "\u2014", escapeHtml(c.detail), "\u2014", c.ok ? "OK" : "FAILED"])
    ])
  );
  return result;
}
var drillFailures = (r) => [...r.artifacts.filter((a) => a.status === "difference").map((a) => a.name), ...r.checks.filter((c) => !c.ok).map((c) => `check ${c.check}`)].join(", ");
var artifactResult = (a) => a.storedOk ? a.plaintextOk ? "stored + plaintext OK" : "stored OK" : "FAILED";
function withDrill(verified, drilled) {
  if (!drilled) return verified;
  const d = drillOutcome(drilled);
  const error = drilled.ok ? verified.error : { message: `DRILL FAILED: backup ${drilled.backupId} did not restore as recorded (${drillFailures(drilled)})` };
  return { ...verified, ...d, details: { ...d.details, verify: verified.details }, ...error ? { error } : {} };
}
function finish(ok, exitCode, outcome, failure) {
  if (ok) {
    setOutput("status", "success");
    setOutput("exit-code", "0");
    return { exitCode: 0, outcome };
  }
  setOutput("status", "failure");
  setOutput("exit-code", String(exitCode));
  const message = failure();
  setFailed(message);
  return { exitCode, outcome, error: outcome.error ?? { message } };
}
async function reportAcross(across) {
  const first = across.locations[0]?.result;
  const problems = [
    ...across.locations.flatMap((l) => (l.result?.problems ?? []).map((p) => ({ location: l.location, ...p }))),
    // Differences between locations, and a location where it could not run (missing, unreachable).
    ...across.problems
  ];
  setOutput("ok", String(across.ok));
  setOutput("consistent", String(across.consistent));
  setOutput("backup-id", across.backupId);
  setOutput("age-seconds", first ? String(Math.round(first.ageSeconds)) : "");
  setOutput("problems", JSON.stringify(problems));
  setOutput("duration-seconds", across.durationSeconds.toFixed(1));
  await writeSummary(
    (s) => s.addHeading(`Strongbox verify across ${across.locations.length} locations: ${across.ok ? "OK" : "FAILED"}`, 2).addRaw(`Backup <code>${across.backupId}</code>${across.consistent ? ": every location holds it with identical SHA-256s" : ": the locations DIFFER"}${first?.deep ? ", deep check (decrypted)" : ""}. Checked in ${across.durationSeconds.toFixed(1)} s.`, true).addTable([
      [
        { data: "Location", header: true },
        { data: "Result", header: true }
      ],
      ...across.locations.map((l) => {
        const bad = [...l.result?.problems ?? [], ...across.problems.filter((p) => p.location === l.location)].map((p) => p.problem);
        return [`<code>${l.location}</code>`, bad.length ? `FAILED: ${bad.join("; ")}` : "OK"];
      })
    ])
  );
}

// src/entries/verify.ts
await runVerifyAction();
exitSoonIfCancelled();
