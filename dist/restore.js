import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  restore
} from "./chunks/chunk-7NI3XJPN.js";
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
  writeSummary
} from "./chunks/chunk-VY4AW46I.js";
import {
  maskUrlPassword,
  openDestinations,
  resolveLock
} from "./chunks/chunk-N3PQCJXK.js";
import "./chunks/chunk-7O26Y255.js";
import "./chunks/chunk-Y65T7N5T.js";

// src/actions/restore.ts
async function runRestoreAction() {
  await runAction(async () => {
    const postgresTarget = optional("postgres-target");
    if (postgresTarget) maskUrlPassword(postgresTarget, actionsReporter);
    const decrypt = await decryptionInputs();
    const [dest] = openDestinations([getInput("from")], storageInputs(), "from");
    const result = await restore({
      destination: dest,
      selection: { selector: optional("backup") ?? "latest" },
      decrypt,
      postgresTarget,
      filesTarget: optional("files-target"),
      only: commaList("only"),
      force: flag("force"),
      reporter: actionsReporter,
      lock: resolveLock({ lockWait: optional("lock-wait") }, process.env)
    });
    setOutput("backup-id", result.backupId);
    setOutput("git-sha", result.manifest.origin.sha ?? "");
    setOutput("git-ref", result.manifest.origin.ref ?? "");
    setOutput("restored", JSON.stringify(result.restored));
    setOutput("exit-code", "0");
    await writeSummary(
      (s) => s.addHeading("Strongbox restore", 2).addRaw(`Restored backup <code>${result.backupId}</code> taken ${result.manifest.startedAt}${result.manifest.origin.sha ? ` at git sha <code>${result.manifest.origin.sha.slice(0, 12)}</code>` : ""}.`, true).addTable([
        [
          { data: "Artifact", header: true },
          { data: "Target", header: true }
        ],
        ...result.restored.map((r) => [r.name, `<code>${r.target}</code>`])
      ])
    );
  });
}

// src/entries/restore.ts
await runRestoreAction();
