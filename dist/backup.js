import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  prune
} from "./chunks/chunk-I4WSRJ2U.js";
import {
  verify
} from "./chunks/chunk-QPEQ4LHB.js";
import {
  actionsReporter,
  commaList,
  flag,
  list,
  optional,
  runAction,
  secret,
  setOutput,
  signingKeyInput,
  storageInputs,
  summary,
  warning,
  writeSummary
} from "./chunks/chunk-4SDCD446.js";
import {
  StrongboxError,
  UsageError,
  VerificationError,
  backup,
  beginActivity,
  errorMessage,
  exitSoonIfCancelled,
  formatBytes,
  listBackups,
  locationSecrets,
  maskLocation,
  originFromEnv,
  parseGroupBy,
  printable,
  resolveBackup,
  resolveDbLockTimeout,
  resolveLock,
  resolvePolicy
} from "./chunks/chunk-DAVZWY5Q.js";
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

// src/actions/backup-failure.ts
var SILENT = { debug: () => {
}, info: () => {
}, warning: () => {
}, error: () => {
}, setSecret: () => {
} };
var READ_TIMEOUT_MS = 2e4;
async function writeBackupFailureSummary(err, exitCode, state, budgetMs) {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  const timeoutMs = budgetMs === void 0 ? READ_TIMEOUT_MS : Math.max(100, (budgetMs - 300) / Math.max(1, state.destinations.length));
  const scrub = (text) => state.secrets.filter(Boolean).reduce((t, s2) => t.split(s2).join("***"), text).split(/\r?\n\s*/).map((line) => escapeHtml(printable(line))).join("<br>");
  const hint = err instanceof StrongboxError ? err.hint : void 0;
  const rows = [];
  for (const dest of state.destinations) rows.push([`<code>${scrub(dest.display)}</code>`, scrub(await holds(dest, state, timeoutMs))]);
  const s = summary.emptyBuffer();
  s.addHeading("Strongbox backup: FAILED", 2).addRaw(`<p><strong>What failed</strong> (${scrub(state.stage)}, exit code ${exitCode}): ${scrub(errorMessage(err))}</p>`, true);
  if (hint) s.addRaw(`<p><strong>Hint:</strong> ${scrub(hint)}</p>`, true);
  if (state.committedId) s.addRaw(`<p>The backup itself, <code>${state.committedId}</code>, was committed before the failure.</p>`, true);
  if (rows.length) {
    s.addTable([
      [
        { data: "Destination", header: true },
        { data: "What it holds now", header: true }
      ],
      ...rows
    ]);
  } else s.addRaw("<p>No destination was opened: the inputs were refused before anything was written.</p>", true);
  await s.write();
}
async function holds(dest, state, timeoutMs) {
  let timer;
  try {
    const read = listBackups(dest, SILENT);
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(timeoutMs / 1e3)} s`)), timeoutMs);
      timer.unref();
    });
    read.catch(() => void 0);
    const entries = (await Promise.race([read, late])).filter((e) => e.complete && e.manifest);
    const ours = entries.filter(
      (e) => e.id === state.committedId || e.time >= state.started && !!state.runId && e.manifest.origin.runId === state.runId
    );
    const newest = entries[entries.length - 1];
    const newestText = newest ? `newest complete backup there: ${newest.id} ${newest.manifest.startedAt}` : "it holds no complete backup";
    if (ours.length) return `this run's backup ${ours[ours.length - 1].id} is committed there; ${newestText}`;
    return `nothing of this run was committed; ${newestText}`;
  } catch (e) {
    const why = `could not be read now (${errorMessage(e)})`;
    return state.committedId ? `this run's backup ${state.committedId} was committed there; ${why}` : `${why}; check with strongbox list before relying on it`;
  } finally {
    if (timer) clearTimeout(timer);
  }
}
function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

// src/actions/backup.ts
async function runBackupAction() {
  const state = { started: /* @__PURE__ */ new Date(), runId: process.env.GITHUB_RUN_ID, stage: "reading the inputs", destinations: [], secrets: [] };
  await runAction(async () => {
    const passphrase = secret("passphrase");
    const signingKey = await signingKeyInput();
    const recipients = commaList("recipient");
    const postgres = list("postgres");
    const mysql = list("mysql");
    for (const url of postgres) maskLocation("postgres", url, actionsReporter);
    for (const url of mysql) maskLocation("mysql", url, actionsReporter);
    const mysqlPwd = mysql.length && process.env.MYSQL_PWD ? [process.env.MYSQL_PWD] : [];
    for (const pw of mysqlPwd) actionsReporter.setSecret(pw);
    state.secrets.push(...passphrase ? [passphrase] : [], ...postgres.flatMap((u) => locationSecrets("postgres", u)), ...mysql.flatMap((u) => locationSecrets("mysql", u)), ...mysqlPwd);
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
        mysql,
        sqlite: list("sqlite"),
        files: list("files"),
        exclude: list("exclude"),
        rowCounts: optional("row-counts"),
        postgresOptions: {
          schemas: list("schema"),
          excludeSchemas: list("exclude-schema"),
          tables: list("table"),
          excludeTables: list("exclude-table"),
          excludeTableData: list("exclude-table-data"),
          rowSecurity: flag("row-security"),
          pgBin: optional("pg-bin")
        },
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
    const groupBy = parseGroupBy(optional("group-by"), "group-by");
    const lock = resolveLock({ lockWait: optional("lock-wait") }, process.env);
    state.destinations = options.destinations;
    state.stage = "the backup";
    const result = await backup({ ...options, lock, init: flag("init"), signingKey, dbLockTimeoutMs: resolveDbLockTimeout(optional("db-lock-timeout")) });
    state.committedId = result.id;
    const committed = `backup ${result.id} had been committed at ${result.manifest.startedAt} to ${result.destinations.join(", ")}`;
    const after = beginActivity(`verify and retention after backup ${result.id}`, `${committed}; nothing was removed`);
    after.nested = (inner) => `${committed}; ${inner}`;
    try {
      setOutput("backup-id", result.id);
      setOutput("size", String(result.storedBytes));
      setOutput("plaintext-size", String(result.plaintextBytes));
      setOutput("duration-seconds", result.durationSeconds.toFixed(1));
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
        ]).addRaw(`Duration: ${result.durationSeconds.toFixed(1)} s. Encryption: ${result.manifest.encryption.scheme}. ${signingKey ? "Manifest signed." : "Manifest unsigned."}`, true)
      );
      state.stage = "verifying the new backup and applying retention";
      if (policy) await verifyThenPrune(options.destinations, result.id, policy, groupBy, lock);
    } finally {
      after.end();
    }
    setOutput("status", "success");
    setOutput("exit-code", "0");
  }, { what: "the Strongbox backup step", onFailure: (err, code, budgetMs) => writeBackupFailureSummary(err, code, state, budgetMs) });
}
async function verifyThenPrune(destinations, id, policy, groupBy, lock) {
  const pruned = [];
  for (const dest of destinations) {
    const check = await verify({ destination: dest, selector: id, deep: false, reporter: actionsReporter, lock });
    if (!check.ok) throw new VerificationError(`the new backup ${id} failed verification at ${dest.display}; retention was not applied`);
    const r = await prune({ destination: dest, policy, groupBy, dryRun: false, reporter: actionsReporter, lock });
    pruned.push(...r.removed.map((x) => x.id), ...r.incompleteRemoved);
    if (r.retained.length) warning(`${r.retained.length} backup(s) at ${dest.display} could not be deleted (object lock or permissions): ${r.retained.map((x) => x.id).join(", ")}`);
  }
  setOutput("pruned", JSON.stringify([...new Set(pruned)]));
  await writeSummary((s) => s.addRaw(`Retention: removed ${pruned.length} backup(s)${pruned.length ? `: ${pruned.map((x) => `<code>${x}</code>`).join(", ")}` : ""}.`, true));
}

// src/entries/backup.ts
await runBackupAction();
exitSoonIfCancelled();
