import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  releaseOf
} from "./chunks/chunk-PZQOPBRM.js";
import {
  configInput,
  getRestoreInputs
} from "./chunks/chunk-JUGL7PNT.js";
import {
  actionsReporter,
  getNotifyInputs,
  runAction,
  setOutput,
  writeSummary
} from "./chunks/chunk-NRF3XMNW.js";
import {
  resolveRestoreConfig,
  restore
} from "./chunks/chunk-J4ZO7BED.js";
import {
  exitSoonIfCancelled,
  restoreOutcome
} from "./chunks/chunk-XEBPFPTJ.js";
import "./chunks/chunk-Y65T7N5T.js";

// src/actions/restore.ts
async function runRestoreAction(deps = {}) {
  await runAction(async () => {
    const inputs = getRestoreInputs();
    const result = await restore(await resolveRestoreConfig(inputs, await configInput(inputs), process.env, actionsReporter));
    setOutput("backup-id", result.backupId);
    const release = releaseOf(result.manifest.origin);
    setOutput("git-sha", release.gitSha ?? "");
    setOutput("git-ref", release.gitRef ?? "");
    setOutput("backup-run-sha", release.backupRunSha ?? "");
    setOutput("backup-run-ref", release.backupRunRef ?? "");
    setOutput("restored", JSON.stringify(result.restored));
    setOutput("duration-seconds", result.durationSeconds.toFixed(1));
    setOutput("status", "success");
    setOutput("exit-code", "0");
    await writeSummary(
      (s) => s.addHeading("Strongbox restore", 2).addRaw(`Restored backup <code>${result.backupId}</code> taken ${result.manifest.startedAt}, in ${result.durationSeconds.toFixed(1)} s${release.gitSha ? `; release to redeploy with it: git <code>${release.gitSha.slice(0, 12)}</code>${release.gitShaSource === "backup-run" ? " (no deployed sha recorded: the commit of the run that took it)" : ""}` : ""}.`, true).addTable([
        [
          { data: "Artifact", header: true },
          { data: "Target", header: true }
        ],
        ...result.restored.map((r) => [r.name, `<code>${r.target}</code>`])
      ])
    );
    return { exitCode: 0, outcome: restoreOutcome(result) };
  }, { what: "the Strongbox restore step", monitor: { operation: "restore", inputs: () => getNotifyInputs() } }, deps);
}

// src/entries/restore.ts
await runRestoreAction();
exitSoonIfCancelled();
