import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  verify
} from "./chunks/chunk-QPEQ4LHB.js";
import {
  actionsReporter,
  decryptionInputs,
  flag,
  getInput,
  optional,
  runAction,
  setFailed,
  setOutput,
  storageInputs,
  trustInputs,
  writeSummary
} from "./chunks/chunk-4SDCD446.js";
import {
  UsageError,
  describeSignature,
  exitSoonIfCancelled,
  openDestinations,
  parseDuration,
  resolveLock
} from "./chunks/chunk-DAVZWY5Q.js";
import "./chunks/chunk-7O26Y255.js";
import "./chunks/chunk-Y65T7N5T.js";

// src/actions/verify.ts
async function runVerifyAction() {
  await runAction(async () => {
    const deep = flag("deep");
    const maxAge = optional("max-age");
    const maxAgeMs = maxAge ? parseDuration(maxAge, "max-age") : void 0;
    const decrypt = await decryptionInputs();
    if (deep && !decrypt) throw new UsageError("deep verification needs the key", "set the identity (or passphrase) input from a secret");
    const trusted = await trustInputs();
    const [dest] = openDestinations([getInput("from")], storageInputs(), "from");
    const result = await verify({ destination: dest, selector: optional("backup") ?? "latest", deep, decrypt, trusted, maxAgeMs, reporter: actionsReporter, lock: resolveLock({ lockWait: optional("lock-wait") }, process.env) });
    setOutput("ok", String(result.ok));
    setOutput("backup-id", result.backupId);
    setOutput("age-seconds", String(Math.round(result.ageSeconds)));
    setOutput("problems", JSON.stringify(result.problems));
    await writeSummary(
      (s) => s.addHeading(`Strongbox verify: ${result.ok ? "OK" : "FAILED"}`, 2).addRaw(`Backup <code>${result.backupId}</code>, finished ${result.finishedAt}${result.deep ? ", deep check (decrypted)" : ""}; ${describeSignature(result.signature, !!trusted)}.`, true).addTable([
        [
          { data: "Artifact", header: true },
          { data: "Object", header: true },
          { data: "Result", header: true }
        ],
        ...result.artifacts.map((a) => [a.name, `<code>${a.object}</code>`, a.storedOk ? a.plaintextOk ? "stored + plaintext OK" : "stored OK" : "FAILED"]),
        ...result.problems.filter((p) => !p.artifact).map((p) => ["\u2014", "\u2014", p.problem])
      ])
    );
    if (!result.ok) {
      setOutput("status", "failure");
      setOutput("exit-code", String(result.exitCode));
      setFailed(`backup ${result.backupId} failed verification: ${result.problems.length} problem(s), listed above`);
    } else {
      setOutput("status", "success");
      setOutput("exit-code", "0");
    }
  }, { what: "the Strongbox verify step" });
}

// src/entries/verify.ts
await runVerifyAction();
exitSoonIfCancelled();
