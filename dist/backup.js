import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  backupLocations,
  buildHistory,
  checkQuotas,
  copy,
  formatSeconds,
  prune,
  quotaTargets,
  resolveAlertSettings,
  resolveBackupConfig,
  resolveCopyTiers,
  shortTime
} from "./chunks/chunk-MR3YNVOX.js";
import {
  escapeHtml,
  escapeHtmlText
} from "./chunks/chunk-HWUY422Q.js";
import {
  verify
} from "./chunks/chunk-PWIRDYHV.js";
import {
  actionsReporter,
  commaList,
  flag,
  getNotifyInputs,
  list,
  optional,
  runAction,
  secret,
  setFailed,
  setOutput,
  storageInputs,
  summary,
  warning,
  writeSummary
} from "./chunks/chunk-D6VJZRYB.js";
import {
  AllDestinationsFailedError,
  ExitCode,
  NotFoundError,
  StrongboxError,
  UsageError,
  VerificationError,
  backup,
  backupOutcome,
  beginActivity,
  errorMessage,
  exitSoonIfCancelled,
  failedBackupOutcome,
  formatBytes,
  given,
  listBackups,
  loadConfigFile,
  logText,
  maskLocation,
  parseGroupBy,
  printable,
  readManifestWithBytes,
  readRecentHistory,
  resolveRetentionPlan,
  seriesKeyOf
} from "./chunks/chunk-ANRYAQVA.js";
import "./chunks/chunk-7O26Y255.js";
import "./chunks/chunk-Y65T7N5T.js";

// src/core/after-backup.ts
async function verifyCommitted(destinations, id, lock, reporter) {
  for (const dest of destinations) {
    const check = await verify({ destination: dest, selector: id, deep: false, reporter, lock });
    if (!check.ok) throw new VerificationError(`the new backup ${id} failed verification at ${dest.display}; nothing was copied and retention was not applied`);
  }
}
async function copyToTier(committed, tier, id, options, reporter) {
  const source = committed.find((d) => d.localPath) ?? committed[0];
  const failed = (error, hint, exitCode) => ({ location: tier.display, status: "failed", error, ...hint ? { hint } : {}, ...exitCode ? { exitCode } : {}, tier: "copy-to" });
  try {
    const r = await copy({ source, destination: tier, selectors: [id], all: false, labels: [], confirm: options.confirm, init: options.init, reporter, lock: options.lock });
    const bad = r.backups.find((x) => x.status === "failed");
    if (bad) return failed(bad.error ?? "not copied", bad.hint, r.exitCode || void 0);
    const check = await verify({ destination: tier, selector: id, deep: false, reporter, lock: options.lock });
    if (!check.ok) return failed(`copied, but the copy failed verification: ${check.problems.map((p) => p.problem).join("; ")}`, `strongbox verify --from ${tier.location ?? tier.display} --backup ${id}`, ExitCode.verifyFailed);
    reporter.info(`backup ${id} copied from ${source.display} to ${tier.display} and verified there`);
    return { location: tier.display, status: "committed", tier: "copy-to" };
  } catch (err) {
    return failed(errorMessage(err), err instanceof StrongboxError ? err.hint : void 0, err instanceof StrongboxError ? err.exitCode : void 0);
  }
}
async function pruneHolders(plan, holders, outcomes, groupBy, lock, reporter, force = false) {
  const all = [];
  for (const { destination: dest, policy } of plan) {
    if (!holders.includes(dest)) continue;
    const r = await prune({ destination: dest, policy, groupBy, dryRun: false, reporter, lock, force });
    const removed = [...r.removed.map((x) => x.id), ...r.incompleteRemoved];
    all.push(...removed);
    const outcome = outcomes.find((o) => o.location === dest.display);
    if (outcome) {
      outcome.pruned = removed;
      if (r.guarded.length) outcome.guarded = r.guarded.map((g) => ({ series: g.series, backup: g.backup, spared: g.spared, forced: g.forced }));
    }
    if (r.retained.length) reporter.warning(`${r.retained.length} backup(s) at ${dest.display} could not be deleted (object lock or permissions): ${r.retained.map((x) => x.id).join(", ")}`);
  }
  return [...new Set(all)];
}

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

// src/actions/backup-inputs.ts
function getBackupInputs(reporter, env = process.env) {
  const passphrase = secret("passphrase");
  const signingKey = secret("signing-key");
  const postgres = list("postgres");
  const mysql = list("mysql");
  for (const url of postgres) maskLocation("postgres", url, reporter);
  for (const url of mysql) maskLocation("mysql", url, reporter);
  const mysqlPwd = mysql.length && env.MYSQL_PWD ? env.MYSQL_PWD : void 0;
  if (mysqlPwd) reporter.setSecret(mysqlPwd);
  const rowSecurity = flag("row-security");
  return {
    config: optional("config"),
    backup: {
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
        ...rowSecurity ? { rowSecurity } : {},
        pgBin: optional("pg-bin")
      },
      recipients: commaList("recipient"),
      passphrase,
      passphraseSource: passphrase !== void 0 ? "input passphrase" : void 0,
      unencrypted: flag("unencrypted") || void 0,
      signingKey,
      signingKeySource: signingKey !== void 0 ? "input signing-key" : void 0,
      labels: commaList("label"),
      meta: list("meta"),
      compression: optional("compression"),
      level: optional("level"),
      confirm: optional("confirm-upload"),
      deployedSha: optional("deployed-sha"),
      deployedRef: optional("deployed-ref"),
      init: flag("init") || void 0,
      lockWait: optional("lock-wait"),
      dbLockTimeout: optional("db-lock-timeout"),
      groupBy: optional("group-by"),
      alertSizeChange: optional("alert-size-change"),
      alertDurationChange: optional("alert-duration-change"),
      alertRowsDrop: optional("alert-rows-drop"),
      failOnAlert: flag("fail-on-alert") || void 0,
      quota: optional("quota"),
      quotaAlert: optional("quota-alert"),
      ...storageInputs()
    },
    copyTo: list("copy-to"),
    retention: {
      keepLast: optional("keep-last"),
      keepHourly: optional("keep-hourly"),
      keepDaily: optional("keep-daily"),
      keepWeekly: optional("keep-weekly"),
      keepMonthly: optional("keep-monthly"),
      keepYearly: optional("keep-yearly"),
      keepWithin: optional("keep-within"),
      keepLabels: commaList("keep-label")
    },
    groupBy: optional("group-by"),
    forcePrune: flag("force-prune"),
    secrets: [passphrase, signingKey, mysqlPwd].filter((s) => !!s)
  };
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
  const scrub = (text) => state.secrets.filter(Boolean).reduce((t, s2) => t.split(s2).join("***"), text).split(/\r?\n\s*/).map((line) => escapeHtmlText(printable(line))).join("<br>");
  const hint = err instanceof StrongboxError ? err.hint : void 0;
  const outcomes = err instanceof AllDestinationsFailedError ? err.outcomes : state.outcomes;
  if (err instanceof AllDestinationsFailedError) setOutput("destinations", JSON.stringify(err.outcomes));
  const reasonOf = (dest) => outcomes?.find((o) => o.location === dest.display);
  const rows = [];
  for (const dest of state.destinations) {
    const o = reasonOf(dest);
    const row = [`<code>${scrub(dest.display)}</code>`, scrub(await holds(dest, state, timeoutMs))];
    if (outcomes) row.push(o?.status === "failed" ? scrub(`failed: ${o.error}${o.hint ? ` (${o.hint})` : ""}`) : "committed");
    rows.push(row);
  }
  const s = summary.emptyBuffer();
  s.addHeading("Strongbox backup: FAILED", 2).addRaw(`<p><strong>What failed</strong> (${scrub(state.stage)}, exit code ${exitCode}): ${scrub(errorMessage(err))}</p>`, true);
  if (hint) s.addRaw(`<p><strong>Hint:</strong> ${scrub(hint)}</p>`, true);
  if (state.committedId) s.addRaw(`<p>The backup itself, <code>${state.committedId}</code>, was committed before the failure.</p>`, true);
  if (rows.length) {
    s.addTable([
      [
        { data: "Destination", header: true },
        { data: "What it holds now", header: true },
        ...outcomes ? [{ data: "This run", header: true }] : []
      ],
      ...rows
    ]);
  } else s.addRaw("<p>No destination was opened: the inputs were refused before anything was written.</p>", true);
  await s.write();
}
function destinationRows(outcomes, secrets) {
  const clean = (text) => escapeHtmlText(printable(secrets.filter(Boolean).reduce((t, s) => t.split(s).join("***"), text)));
  return [
    [
      { data: "Destination", header: true },
      { data: "Status", header: true },
      { data: "Reason", header: true },
      { data: "Pruned", header: true }
    ],
    ...outcomes.map((o) => [
      `<code>${clean(o.location)}</code>${o.tier ? " (copy-to)" : ""}`,
      o.tier && o.status === "committed" ? "copied" : o.status,
      o.status === "failed" ? `${clean(o.error ?? "")}${o.hint ? `<br>${clean(o.hint)}` : ""}` : "",
      (o.pruned === void 0 ? "" : o.pruned.length ? o.pruned.map((id) => `<code>${id}</code>`).join(" ") : "none") + guardNote(o)
    ])
  ];
}
function guardNote(o) {
  const held = (o.guarded ?? []).filter((g) => !g.forced);
  return held.length ? ` (retention guard: kept ${held.reduce((n, g) => n + g.spared.length, 0)})` : "";
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
    const committedHere = state.committedId && state.outcomes?.find((o) => o.location === dest.display)?.status !== "failed";
    return committedHere ? `this run's backup ${state.committedId} was committed there; ${why}` : `${why}; check with strongbox list before relying on it`;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

// src/report/series-summary.ts
var RECENT_BACKUPS = 10;
var UNITS = [
  ["B", 1],
  ["KiB", 1024],
  ["MiB", 1024 ** 2],
  ["GiB", 1024 ** 3],
  ["TiB", 1024 ** 4]
];
function unitFor(max) {
  return [...UNITS].reverse().find(([, n]) => max >= n) ?? UNITS[0];
}
function seriesSummaryMarkdown(series, rows, currentId, limit = RECENT_BACKUPS) {
  const recent = rows.filter((r) => !r.damaged).slice(-limit);
  if (!recent.length) return "";
  const t = (s) => escapeHtml(printable(s));
  const head = `<h3>Recent backups of series <code>${t(series)}</code></h3>`;
  const body = [...recent].reverse().map((r) => {
    const mark = r.id === currentId ? " (this backup)" : "";
    const alerts = r.alerts.length ? `\u26A0\uFE0F ${r.alerts.map((a) => t(a.message)).join("<br>")}` : "\u2014";
    return `<tr><td>${t(shortTime(r.time))}${mark}</td><td><code>${t(r.id)}</code></td><td>${formatBytes(r.storedBytes)}</td><td>${formatBytes(r.plaintextBytes)}</td><td>${formatSeconds(r.durationSeconds)}</td><td>${alerts}</td></tr>`;
  }).join("");
  const table = `<table><tr><th>Time (UTC)</th><th>Backup</th><th>Stored</th><th>Plaintext</th><th>Duration</th><th>Alerts</th></tr>${body}</table>`;
  return `${head}
${table}

${recent.length > 1 ? mermaidSizeChart(recent) : ""}`;
}
function mermaidSizeChart(rows) {
  const max = Math.max(...rows.map((r) => r.storedBytes));
  const [unit, div] = unitFor(max);
  const label = (iso) => `"${new Date(Date.parse(iso)).toISOString().slice(5, 16).replace("T", " ")}"`;
  const values = rows.map((r) => Number((r.storedBytes / div).toFixed(2)));
  const top = Math.max(...values) * 1.1 || 1;
  return [
    "```mermaid",
    "xychart-beta",
    `  title "Stored size (${unit}), last ${rows.length} backups"`,
    `  x-axis [${rows.map((r) => label(r.time)).join(", ")}]`,
    `  y-axis "${unit}" 0 --> ${Number(top.toFixed(2))}`,
    `  bar [${values.join(", ")}]`,
    "```",
    ""
  ].join("\n");
}

// src/actions/series-history.ts
async function writeSeriesHistorySummary(dest, backupId, groupBy, reporter) {
  if (!dest || !process.env.GITHUB_STEP_SUMMARY) return;
  try {
    const markdown = await seriesHistoryMarkdown(dest, backupId, groupBy, reporter);
    if (markdown) await writeSummary((s) => s.addRaw(markdown, true));
  } catch (err) {
    reporter.warning(`the job summary leaves out the recent backups of this series: reading the history at ${dest.display} failed: ${errorMessage(err)}`);
  }
}
async function seriesHistoryMarkdown(dest, backupId, groupBy, reporter) {
  let current;
  try {
    current = (await readManifestWithBytes(dest, backupId)).manifest;
  } catch (err) {
    if (err instanceof NotFoundError) return "";
    throw err;
  }
  const key = seriesKeyOf(current, groupBy);
  const at = Date.parse(current.startedAt);
  const wanted = (m) => Date.parse(m.startedAt) <= at && seriesKeyOf(m, groupBy) === key;
  const recent = await readRecentHistory(dest, { wanted, limit: RECENT_BACKUPS }, reporter);
  const entries = recent.manifests.reverse().map((m) => ({ id: m.id, complete: true, manifest: m, objects: [], time: new Date(m.startedAt) }));
  const history = buildHistory(entries, dest.display, { groupBy });
  const series = history.rows.find((r) => r.id === backupId)?.series;
  if (series == null) return "";
  return seriesSummaryMarkdown(series, history.rows, backupId);
}

// src/actions/backup.ts
async function runBackupAction(deps = {}) {
  const state = { started: /* @__PURE__ */ new Date(), runId: process.env.GITHUB_RUN_ID, stage: "reading the inputs", destinations: [], secrets: [] };
  await runAction(async () => {
    const reporter = { ...actionsReporter, setSecret: (s) => (actionsReporter.setSecret(s), s && state.secrets.push(s), void 0) };
    const inputs = getBackupInputs(reporter);
    state.secrets.push(...inputs.secrets);
    const file = inputs.config !== void 0 ? await loadConfigFile(inputs.config) : void 0;
    const b = inputs.backup;
    if (!given(b.recipients) && b.passphrase === void 0 && !b.unencrypted && !file?.encryption) {
      const skip = forkPullRequestReason(process.env);
      if (skip) {
        warning(`Backup SKIPPED: ${skip}.`);
        setOutput("status", "skipped");
        setOutput("skip-reason", skip);
        await writeSummary((s) => s.addHeading("Strongbox backup: skipped", 2).addRaw(`Skipped: ${skip}.`, true));
        return { exitCode: ExitCode.ok, outcome: { details: { skipped: skip } } };
      }
      throw new UsageError(
        "no encryption key: the recipient and passphrase inputs are both empty",
        `an unset repository secret or variable expands to ""; set recipient to an age1\u2026 public key (or passphrase from a secret)${file ? `, or encryption: in ${file.path}` : ""}. No plaintext backup is made; set unencrypted: true only if you really want one.`
      );
    }
    const options = await resolveBackupConfig(b, file, process.env, reporter);
    const alerting = resolveAlertSettings(b, file);
    const groupBy = parseGroupBy(inputs.groupBy ?? file?.groupBy, "group-by");
    const destinations = backupLocations(options, b, file);
    const tiers = resolveCopyTiers(inputs.copyTo, file, b, options.destinations, reporter, process.env);
    const plan = resolveRetentionPlan(file, { policy: inputs.retention, opened: [...destinations, ...tiers] });
    state.destinations = options.destinations;
    state.stage = "the backup";
    const result = await backup(options);
    state.committedId = result.id;
    state.outcomes = result.destinations;
    const committedAt = destinations.filter((_, i) => result.destinations[i]?.status === "committed");
    const committed = `backup ${result.id} had been committed at ${result.manifest.startedAt} to ${committedAt.map((d) => d.destination.display).join(", ")}`;
    const after = beginActivity(`verify, copy and retention after backup ${result.id}`, `${committed}; nothing was removed`);
    after.nested = (inner) => `${committed}; ${inner}`;
    const outcomes = result.destinations.map((d) => ({ ...d }));
    let quota = [];
    try {
      setOutput("backup-id", result.id);
      setOutput("size", String(result.storedBytes));
      setOutput("plaintext-size", String(result.plaintextBytes));
      setOutput("duration-seconds", result.durationSeconds.toFixed(1));
      setOutput("destinations", JSON.stringify(outcomes));
      setOutput("alerts", JSON.stringify(result.alerts));
      state.stage = "verifying the new backup";
      await verifyCommitted(committedAt.map((d) => d.destination), result.id, options.lock, reporter);
      state.stage = "copying the new backup to the copy-to tiers";
      const holders = [...committedAt];
      for (const tier of tiers) {
        const outcome2 = await copyToTier(committedAt.map((d) => d.destination), tier.destination, result.id, options, reporter);
        outcomes.push(outcome2);
        if (outcome2.status === "committed") holders.push(tier);
      }
      setOutput("copied", JSON.stringify(outcomes.filter((o) => o.tier && o.status === "committed").map((o) => o.location)));
      setOutput("destinations", JSON.stringify(outcomes));
      state.stage = "applying retention";
      const pruned = await pruneHolders(plan, holders.map((h) => h.destination), outcomes, groupBy, options.lock, reporter, inputs.forcePrune);
      setOutput("pruned", JSON.stringify(pruned));
      setOutput("guarded", JSON.stringify(outcomes.flatMap((o) => (o.guarded ?? []).map((g) => ({ location: o.location, ...g })))));
      setOutput("destinations", JSON.stringify(outcomes));
      state.stage = "measuring the quotas";
      const measured = [...quotaTargets(committedAt, alerting.quotaBytes), ...quotaTargets(holders.filter((h) => !committedAt.includes(h)))];
      quota = await checkQuotas(measured, reporter, alerting.quotaAlertPercent);
    } finally {
      after.end();
    }
    const alerts = [...result.alerts, ...quota.flatMap((q) => q.alert ? [q.alert] : [])];
    setOutput("alerts", JSON.stringify(alerts));
    const failed = outcomes.filter((d) => d.status === "failed");
    const outcome = {
      ...backupOutcome(result),
      destinations: outcomes.map((d) => ({ location: d.location, status: d.status, ...d.error ? { error: d.error } : {} })),
      ...alerts.length ? { alerts } : {}
    };
    await writeSummary((s) => summarize(s, result, outcomes, quota, alerts, !!options.signingKey, state.secrets));
    await writeSeriesHistorySummary(committedAt[0]?.destination, result.id, groupBy, reporter);
    if (failed.length) {
      for (const d of failed) warning(logText(`backup ${result.id} was NOT ${d.tier ? "copied to" : "committed at"} ${d.location}: ${d.error}${d.hint ? `
${d.hint}` : ""}`));
      setOutput("status", "partial");
      setOutput("exit-code", String(ExitCode.partial));
      const held = outcomes.filter((d) => d.status === "committed").map((d) => d.location);
      const message = `backup ${result.id} is committed at ${held.join(", ")} but failed at ${failed.map((d) => `${d.location} (${d.error})`).join("; ")}`;
      setFailed(logText(message));
      return { exitCode: ExitCode.partial, outcome, error: { message } };
    }
    if (alerts.length && alerting.failOnAlert) {
      setOutput("status", "alert");
      setOutput("exit-code", String(ExitCode.alert));
      const message = `backup ${result.id} is committed, but raised ${alerts.length} alert(s) and fail-on-alert is set: ${alerts.map((a) => a.message).join("; ")}`;
      setFailed(logText(message));
      return { exitCode: ExitCode.alert, outcome, error: { message } };
    }
    setOutput("status", "success");
    setOutput("exit-code", "0");
    return { exitCode: ExitCode.ok, outcome };
  }, {
    what: "the Strongbox backup step",
    onFailure: (err, code, budgetMs) => writeBackupFailureSummary(err, code, state, budgetMs),
    monitor: { operation: "backup", inputs: () => getNotifyInputs(), failedOutcome: failedBackupOutcome }
  }, deps);
}
function summarize(s, result, outcomes, quota, alerts, signed, secrets) {
  const held = outcomes.filter((d) => d.status === "committed");
  const partial = outcomes.some((d) => d.status === "failed");
  const pruned = [...new Set(outcomes.flatMap((o) => o.pruned ?? []))];
  s.addHeading(partial ? "Strongbox backup: PARTIAL" : "Strongbox backup", 2).addRaw(`Backup <code>${result.id}</code>${result.manifest.labels.length ? ` labelled ${result.manifest.labels.map((l) => `<code>${l}</code>`).join(", ")}` : ""} \u2192 ${held.map((d) => `<code>${d.location}</code>`).join(", ")}`, true).addTable([
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
  ]).addTable(destinationRows(outcomes, secrets)).addRaw(`Duration: ${result.durationSeconds.toFixed(1)} s. Encryption: ${result.manifest.encryption.scheme}. ${signed ? "Manifest signed." : "Manifest unsigned."}`, true);
  if (outcomes.some((o) => o.pruned)) s.addRaw(`Retention: removed ${pruned.length} backup(s)${pruned.length ? `: ${pruned.map((x) => `<code>${x}</code>`).join(", ")}` : ""}.`, true);
  for (const o of outcomes) {
    for (const g of o.guarded ?? []) {
      const where = `series <code>${escapeHtmlText(g.series)}</code> at <code>${escapeHtmlText(o.location)}</code>`;
      if (g.forced) s.addRaw(`\u26A0\uFE0F Retention guard overridden (force-prune) for ${where}: backup <code>${g.backup}</code> carries drop alert(s).`, true);
      else s.addRaw(`\u26A0\uFE0F Retention guard: nothing removed in ${where}, ${g.spared.length} backup(s) kept \u2014 backup <code>${g.backup}</code> carries drop alert(s). Check the data; once the new size is right, run with <code>force-prune: true</code>.`, true);
    }
  }
  if (quota.length) s.addRaw(`Quota: ${quota.map((q) => `<code>${q.location}</code> ${formatBytes(q.usedBytes)} of ${formatBytes(q.quotaBytes)} (${Math.round(q.usedBytes / q.quotaBytes * 100)}%)${q.usedBytes > q.quotaBytes ? " OVER" : q.alert ? " nearly full" : ""}`).join("; ")}.`, true);
  for (const a of alerts) s.addRaw(`\u26A0\uFE0F Alert (${a.kind}): ${escapeHtmlText(a.message)}`, true);
}

// src/entries/backup.ts
await runBackupAction();
exitSoonIfCancelled();
