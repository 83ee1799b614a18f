import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  rollback
} from "./chunks/chunk-XVP47H5J.js";
import "./chunks/chunk-PZQOPBRM.js";
import "./chunks/chunk-S6YNOLOT.js";
import {
  configInput,
  getRollbackInputs
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
  resolveRollbackConfig
} from "./chunks/chunk-J4ZO7BED.js";
import {
  ExitCode,
  childEnvironment,
  exitSoonIfCancelled,
  rollbackOutcome
} from "./chunks/chunk-XEBPFPTJ.js";
import "./chunks/chunk-Y65T7N5T.js";

// src/actions/git-changes.ts
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
var run = promisify(execFile);
async function changesBetween(workspace, from, to) {
  if (!workspace || !from || !to || from === to || !existsSync(join(workspace, ".git"))) return void 0;
  const git = async (args) => (await run("git", args, { cwd: workspace, env: childEnvironment(), maxBuffer: 8 << 20 })).stdout;
  try {
    const commits = (await git(["log", "--oneline", "--no-decorate", "-n", "200", `${from}..${to}`])).split("\n").filter(Boolean);
    const migrations = (await git(["diff", "--name-only", from, to])).split("\n").filter((f) => /migrat|schema|\.sql$/i.test(f));
    return { commits, migrations };
  } catch {
    return void 0;
  }
}

// src/actions/rollback.ts
async function runRollbackAction(deps = {}) {
  await runAction(async () => {
    const inputs = getRollbackInputs();
    const result = await rollback(await resolveRollbackConfig(inputs, await configInput(inputs), process.env, actionsReporter));
    setOutput("backup-id", result.backupId);
    setOutput("git-sha", result.gitSha ?? "");
    setOutput("git-ref", result.gitRef ?? "");
    setOutput("backup-run-sha", result.backupRunSha ?? "");
    setOutput("backup-run-ref", result.backupRunRef ?? "");
    setOutput("safety-backup-id", result.safetyBackupId);
    const failed = result.checks.filter((c) => !c.ok);
    setOutput("checks-ok", String(failed.length === 0));
    setOutput("duration-seconds", result.durationSeconds.toFixed(1));
    const current = process.env.GITHUB_SHA;
    const changes = await changesBetween(process.env.GITHUB_WORKSPACE, result.gitSha, current);
    await writeSummary((s) => {
      s.addHeading("Strongbox rollback", 2).addTable([
        [
          { data: "", header: true },
          { data: "Backup", header: true },
          { data: "Git", header: true }
        ],
        ["From (now, saved as safety backup)", `<code>${result.safetyBackupId}</code>`, current ? `<code>${current.slice(0, 12)}</code>` : ""],
        ["To (snapshot restored; release to redeploy)", `<code>${result.backupId}</code> (${result.snapshotStartedAt})`, result.gitSha ? `<code>${result.gitSha.slice(0, 12)}</code> ${result.gitRef ?? ""}` : "not recorded"]
      ]).addRaw(
        result.gitShaSource === "backup-run" ? "Note: this snapshot did not record <code>deployed-sha</code>; git-sha is the commit of the run that took it, which for a pre-deploy snapshot is the release being rolled back. Pass <code>deployed-sha</code> when taking snapshots." : result.backupRunSha ? `git-sha is the recorded deployed sha; the snapshot was taken by the run at <code>${result.backupRunSha.slice(0, 12)}</code> (backup-run-sha).` : "",
        true
      ).addRaw(`Restored: ${result.restored.map((r) => `${r.name} \u2192 <code>${r.target}</code>`).join(", ")}; the rollback took ${result.durationSeconds.toFixed(1)} s (safety backup, its verification, restore, checks).`, true);
      if (result.checks.length) {
        s.addHeading("Smoke checks", 3).addList(result.checks.map((c) => `${c.ok ? "\u2705" : "\u274C"} ${c.check}: ${c.detail}`));
      }
      if (changes) {
        s.addHeading(`Undone by this rollback: ${changes.commits.length} commit(s)`, 3).addList(changes.commits.length ? changes.commits : ["(none)"]);
        if (changes.migrations.length) s.addHeading("Migration / schema files changed between the two", 3).addList(changes.migrations.map((m) => `<code>${m}</code>`));
      }
      s.addRaw(`To undo the rollback: <code>${result.undo}</code>`, true);
    });
    if (failed.length) {
      setOutput("status", "failure");
      setOutput("exit-code", String(ExitCode.verifyFailed));
      setFailed(`rolled back to ${result.backupId}, but ${failed.length} smoke check(s) failed: ${failed.map((c) => `${c.check} (${c.detail})`).join("; ")}
To return to the state before the rollback: ${result.undo}`);
    } else {
      setOutput("status", "success");
      setOutput("exit-code", "0");
    }
    return { exitCode: failed.length ? ExitCode.verifyFailed : ExitCode.ok, outcome: rollbackOutcome(result) };
  }, { what: "the Strongbox rollback step", monitor: { operation: "rollback", inputs: () => getNotifyInputs() } }, deps);
}

// src/entries/rollback.ts
await runRollbackAction();
exitSoonIfCancelled();
