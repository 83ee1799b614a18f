import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  verifyAcross
} from "./chunks/chunk-PRHIEWI7.js";
import {
  verify
} from "./chunks/chunk-2RPSDHQG.js";
import {
  configInput,
  getVerifyInputs
} from "./chunks/chunk-IUREPJ2N.js";
import {
  actionsReporter,
  runAction,
  setFailed,
  setOutput,
  writeSummary
} from "./chunks/chunk-NPGSIHNB.js";
import {
  resolveVerifyConfig
} from "./chunks/chunk-LIE23JIT.js";
import {
  describeSignature,
  exitSoonIfCancelled
} from "./chunks/chunk-R3K3UYMI.js";
import "./chunks/chunk-7O26Y255.js";
import "./chunks/chunk-Y65T7N5T.js";

// src/actions/verify.ts
async function runVerifyAction() {
  await runAction(async () => {
    const inputs = getVerifyInputs();
    const { destinations, destination, ...options } = await resolveVerifyConfig(inputs, await configInput(inputs), process.env, actionsReporter);
    if (destinations.length > 1) {
      const across = await verifyAcross({ ...options, destinations });
      await reportAcross(across);
      return finish(across.ok, across.exitCode, () => `backup ${across.backupId} failed verification across ${destinations.length} locations, listed above`);
    }
    const result = await verify({ ...options, destination });
    setOutput("ok", String(result.ok));
    setOutput("backup-id", result.backupId);
    setOutput("age-seconds", String(Math.round(result.ageSeconds)));
    setOutput("problems", JSON.stringify(result.problems));
    await writeSummary(
      (s) => s.addHeading(`Strongbox verify: ${result.ok ? "OK" : "FAILED"}`, 2).addRaw(`Backup <code>${result.backupId}</code>, finished ${result.finishedAt}${result.deep ? ", deep check (decrypted)" : ""}; ${describeSignature(result.signature, !!options.trusted)}.`, true).addTable([
        [
          { data: "Artifact", header: true },
          { data: "Object", header: true },
          { data: "Result", header: true }
        ],
        ...result.artifacts.map((a) => [a.name, `<code>${a.object}</code>`, artifactResult(a)]),
        ...result.problems.filter((p) => !p.artifact).map((p) => ["\u2014", "\u2014", p.problem])
      ])
    );
    finish(result.ok, result.exitCode, () => `backup ${result.backupId} failed verification: ${result.problems.length} problem(s), listed above`);
  }, { what: "the Strongbox verify step" });
}
var artifactResult = (a) => a.storedOk ? a.plaintextOk ? "stored + plaintext OK" : "stored OK" : "FAILED";
function finish(ok, exitCode, failure) {
  if (ok) {
    setOutput("status", "success");
    setOutput("exit-code", "0");
    return;
  }
  setOutput("status", "failure");
  setOutput("exit-code", String(exitCode));
  setFailed(failure());
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
  await writeSummary(
    (s) => s.addHeading(`Strongbox verify across ${across.locations.length} locations: ${across.ok ? "OK" : "FAILED"}`, 2).addRaw(`Backup <code>${across.backupId}</code>${across.consistent ? ": every location holds it with identical SHA-256s" : ": the locations DIFFER"}${first?.deep ? ", deep check (decrypted)" : ""}.`, true).addTable([
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
