import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  releaseOf,
  restore
} from "./chunks/chunk-MLW6EGMW.js";
import {
  actionsReporter,
  commaList,
  decryptionInputs,
  flag,
  getInput,
  optional,
  runAction,
  setOutput,
  storageInputs,
  targetInputs,
  trustInputs,
  writeSummary
} from "./chunks/chunk-4SDCD446.js";
import {
  exitSoonIfCancelled,
  openDestinations,
  resolveDbLockTimeout,
  resolveLock,
  resolvePgBin
} from "./chunks/chunk-DAVZWY5Q.js";
import "./chunks/chunk-7O26Y255.js";
import "./chunks/chunk-Y65T7N5T.js";

// src/actions/restore.ts
async function runRestoreAction() {
  await runAction(async () => {
    const targets = targetInputs();
    const decrypt = await decryptionInputs();
    const trusted = await trustInputs();
    const [dest] = openDestinations([getInput("from")], storageInputs(), "from");
    const result = await restore({
      destination: dest,
      selection: { selector: optional("backup") ?? "latest" },
      decrypt,
      trusted,
      targets,
      only: commaList("only"),
      force: flag("force"),
      reporter: actionsReporter,
      lock: resolveLock({ lockWait: optional("lock-wait") }, process.env),
      dbLockTimeoutMs: resolveDbLockTimeout(optional("db-lock-timeout")),
      ...resolvePgBin(optional("pg-bin"))
    });
    setOutput("backup-id", result.backupId);
    const release = releaseOf(result.manifest.origin);
    setOutput("git-sha", release.gitSha ?? "");
    setOutput("git-ref", release.gitRef ?? "");
    setOutput("backup-run-sha", release.backupRunSha ?? "");
    setOutput("backup-run-ref", release.backupRunRef ?? "");
    setOutput("restored", JSON.stringify(result.restored));
    setOutput("status", "success");
    setOutput("exit-code", "0");
    await writeSummary(
      (s) => s.addHeading("Strongbox restore", 2).addRaw(`Restored backup <code>${result.backupId}</code> taken ${result.manifest.startedAt}${release.gitSha ? `; release to redeploy with it: git <code>${release.gitSha.slice(0, 12)}</code>${release.gitShaSource === "backup-run" ? " (no deployed sha recorded: the commit of the run that took it)" : ""}` : ""}.`, true).addTable([
        [
          { data: "Artifact", header: true },
          { data: "Target", header: true }
        ],
        ...result.restored.map((r) => [r.name, `<code>${r.target}</code>`])
      ])
    );
  }, { what: "the Strongbox restore step" });
}

// src/entries/restore.ts
await runRestoreAction();
exitSoonIfCancelled();
