import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  prune
} from "./chunks/chunk-7ZK2NGXS.js";
import {
  verify
} from "./chunks/chunk-QE5R4XJC.js";
import {
  actionsReporter,
  commaList,
  flag,
  list,
  optional,
  runAction,
  secret,
  setOutput,
  storageInputs,
  warning,
  writeSummary
} from "./chunks/chunk-VY4AW46I.js";
import {
  UsageError,
  VerificationError,
  backup,
  formatBytes,
  maskUrlPassword,
  originFromEnv,
  resolveBackup,
  resolveLock,
  resolvePolicy
} from "./chunks/chunk-N3PQCJXK.js";
import "./chunks/chunk-7O26Y255.js";
import "./chunks/chunk-Y65T7N5T.js";

// src/actions/fork.ts
import { readFileSync } from "node:fs";
function forkPullRequestReason(env) {
  if (!env.GITHUB_EVENT_NAME?.startsWith("pull_request") || !env.GITHUB_EVENT_PATH) return void 0;
  try {
    const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, "utf8"));
    const pr = event.pull_request;
    const head = pr?.head?.repo;
    if (!pr) return void 0;
    if (!head || head.fork || head.full_name !== pr.base?.repo?.full_name) {
      return "this is a pull request from a fork, and GitHub does not give repository secrets (the encryption key) to such runs";
    }
  } catch {
    return void 0;
  }
  return void 0;
}

// src/actions/backup.ts
async function runBackupAction() {
  await runAction(async () => {
    const passphrase = secret("passphrase");
    const recipients = commaList("recipient");
    const postgres = list("postgres");
    for (const url of postgres) maskUrlPassword(url, actionsReporter);
    const unencrypted = flag("unencrypted");
    if (recipients.length === 0 && passphrase === void 0 && !unencrypted) {
      const skip = forkPullRequestReason(process.env);
      if (skip) {
        warning(`Backup SKIPPED: ${skip}.`);
        setOutput("status", "skipped");
        setOutput("skip-reason", skip);
        await writeSummary((s) => s.addHeading("Strongbox backup: skipped", 2).addRaw(`Skipped: ${skip}.`, true));
        return;
      }
      throw new UsageError(
        "no encryption key: the recipient and passphrase inputs are both empty",
        'an unset repository secret or variable expands to ""; set recipient to an age1\u2026 public key (or passphrase from a secret). No plaintext backup is made; set unencrypted: true only if you really want one.'
      );
    }
    const options = resolveBackup(
      {
        to: list("to"),
        postgres,
        files: list("files"),
        exclude: list("exclude"),
        recipients,
        passphrase,
        passphraseSource: "input passphrase",
        unencrypted,
        deployedSha: optional("deployed-sha"),
        deployedRef: optional("deployed-ref"),
        labels: commaList("label"),
        compression: optional("compression"),
        level: optional("level"),
        confirm: optional("confirm-upload"),
        ...storageInputs()
      },
      actionsReporter,
      originFromEnv(process.env)
    );
    const policy = resolvePolicy({
      keepLast: optional("keep-last"),
      keepHourly: optional("keep-hourly"),
      keepDaily: optional("keep-daily"),
      keepWeekly: optional("keep-weekly"),
      keepMonthly: optional("keep-monthly"),
      keepYearly: optional("keep-yearly"),
      keepWithin: optional("keep-within"),
      keepLabels: commaList("keep-label")
    });
    const lock = resolveLock({ lockWait: optional("lock-wait") }, process.env);
    const result = await backup({ ...options, lock, init: flag("init") });
    setOutput("status", "success");
    setOutput("backup-id", result.id);
    setOutput("size", String(result.storedBytes));
    setOutput("plaintext-size", String(result.plaintextBytes));
    setOutput("duration-seconds", result.durationSeconds.toFixed(1));
    setOutput("exit-code", "0");
    await writeSummary(
      (s) => s.addHeading("Strongbox backup", 2).addRaw(`Backup <code>${result.id}</code>${result.manifest.labels.length ? ` labelled ${result.manifest.labels.map((l) => `<code>${l}</code>`).join(", ")}` : ""} \u2192 ${result.destinations.map((d) => `<code>${d}</code>`).join(", ")}`, true).addTable([
        [
          { data: "Artifact", header: true },
          { data: "Source", header: true },
          { data: "Size", header: true },
          { data: "Stored", header: true },
          { data: "SHA-256 (stored)", header: true }
        ],
        ...result.manifest.artifacts.map((a) => [
          a.name,
          String(a.source.database ?? a.source.path ?? ""),
          formatBytes(a.plaintext.size),
          formatBytes(a.stored.size),
          `<code>${a.stored.sha256.slice(0, 16)}\u2026</code>`
        ])
      ]).addRaw(`Duration: ${result.durationSeconds.toFixed(1)} s. Encryption: ${result.manifest.encryption.scheme}.`, true)
    );
    if (policy) await verifyThenPrune(options.destinations, result.id, policy, lock);
  });
}
async function verifyThenPrune(destinations, id, policy, lock) {
  const pruned = [];
  for (const dest of destinations) {
    const check = await verify({ destination: dest, selector: id, deep: false, reporter: actionsReporter, lock });
    if (!check.ok) throw new VerificationError(`the new backup ${id} failed verification at ${dest.display}; retention was not applied`);
    const r = await prune({ destination: dest, policy, dryRun: false, reporter: actionsReporter, lock });
    pruned.push(...r.removed.map((x) => x.id), ...r.incompleteRemoved);
    if (r.retained.length) warning(`${r.retained.length} backup(s) at ${dest.display} could not be deleted (object lock or permissions): ${r.retained.map((x) => x.id).join(", ")}`);
  }
  setOutput("pruned", JSON.stringify([...new Set(pruned)]));
  await writeSummary((s) => s.addRaw(`Retention: removed ${pruned.length} backup(s)${pruned.length ? `: ${pruned.map((x) => `<code>${x}</code>`).join(", ")}` : ""}.`, true));
}

// src/entries/backup.ts
await runBackupAction();
