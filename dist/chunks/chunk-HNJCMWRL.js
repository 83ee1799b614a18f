import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  verify
} from "./chunk-S6YNOLOT.js";
import {
  fromLocation,
  lockOf,
  resolveKey,
  resolveTrusted,
  restore,
  targetContext
} from "./chunk-J4ZO7BED.js";
import {
  ExitCode,
  NoRepositoryError,
  NotFoundError,
  RefusedError,
  StrongboxError,
  UsageError,
  assertEncryptedAsDeclared,
  assertRepository,
  beginActivity,
  describeArtifact,
  errorMessage,
  findSourceAdapter,
  formatDuration,
  isBackupId,
  listBackups,
  maskLocation,
  onForcedExit,
  parseDuration,
  printable,
  readManifestWithBytes,
  resolveDbLockTimeout,
  resolvePgBin,
  secondsSince,
  selectTrusted,
  seriesOf,
  sourceAdapter,
  sourceAdapters,
  throwIfCancelled,
  urlsFromEnv,
  warnNewerDamaged,
  warnPasswordInArgv,
  withLocks
} from "./chunk-XEBPFPTJ.js";

// src/core/verify-across.ts
import { Buffer } from "node:buffer";
async function verifyAcross(opts) {
  const [first, ...rest] = opts.destinations;
  if (!first || !rest.length) throw new StrongboxError("verifyAcross needs two or more locations");
  const { reporter } = opts;
  const started = (opts.now ?? (() => /* @__PURE__ */ new Date()))();
  const locations = [];
  const problems = [];
  let backupId = isBackupId(opts.selector) ? opts.selector : void 0;
  const runAt = async (dest, selector) => {
    try {
      const result = await verify({ ...opts, destination: dest, selector });
      locations.push({ location: dest.display, result });
      return result;
    } catch (err) {
      if (!(err instanceof StrongboxError) || !backupId && dest === first) throw err;
      const missing = err instanceof NotFoundError && !(err instanceof NoRepositoryError);
      const exitCode2 = missing ? ExitCode.verifyFailed : err.exitCode;
      locations.push({ location: dest.display, error: { message: err.message, ...err.hint ? { hint: err.hint } : {}, exitCode: exitCode2 } });
      problems.push({ location: dest.display, problem: missing ? `does not hold backup ${backupId}: ${err.message}` : err.message });
      reporter.error(`FAILED at ${dest.display}: ${missing ? `backup ${backupId} is not there (${errorMessage(err)})` : errorMessage(err)}`);
      return void 0;
    }
  };
  const firstResult = await runAt(first, opts.selector);
  backupId ??= firstResult.backupId;
  for (const dest of rest) await runAt(dest, backupId);
  const manifests = [];
  for (const [i, dest] of opts.destinations.entries()) {
    if (!locations[i].result) continue;
    const { manifest, bytes } = await readManifestWithBytes(dest, backupId);
    manifests.push({ dest, manifest, bytes });
  }
  const reference = manifests[0];
  if (reference) {
    for (const other2 of manifests.slice(1)) {
      const found = compareManifests(reference.manifest, other2.manifest, reference.dest.display);
      for (const f of found) problems.push({ location: other2.dest.display, ...f });
      if (!found.length && Buffer.compare(Buffer.from(reference.bytes), Buffer.from(other2.bytes)) !== 0) {
        problems.push({ location: other2.dest.display, problem: `the manifest of ${backupId} differs from the one at ${reference.dest.display} (same artifacts and checksums)` });
      }
    }
  }
  for (const p of problems.filter((p2) => locations.find((l) => l.location === p2.location)?.result)) {
    reporter.error(`FAILED at ${p.location}${p.artifact ? `, artifact ${p.artifact}` : ""}: ${p.problem}`);
  }
  const locationCodes = locations.map((l) => l.result?.exitCode ?? l.error.exitCode);
  const consistent = problems.length === 0 && locations.every((l) => l.result);
  const ok = consistent && locations.every((l) => l.result?.ok);
  const other = locationCodes.find((c) => c !== ExitCode.ok && c !== ExitCode.verifyFailed);
  const exitCode = ok ? ExitCode.ok : other ?? ExitCode.verifyFailed;
  return { ok, backupId, consistent, locations, problems, exitCode, durationSeconds: secondsSince(started, opts.now) };
}
function compareManifests(ref, other, refAt) {
  const out = [];
  const byName = new Map(other.artifacts.map((a) => [a.name, a]));
  for (const a of ref.artifacts) {
    const b = byName.get(a.name);
    if (!b) {
      out.push({ artifact: a.name, problem: `artifact is missing here (it is at ${refAt})` });
      continue;
    }
    if (b.key !== a.key) out.push({ artifact: a.name, problem: `stored as ${b.key}, at ${refAt} as ${a.key}` });
    if (b.stored.size !== a.stored.size || b.stored.sha256 !== a.stored.sha256) {
      out.push({
        artifact: a.name,
        problem: `stored ${b.stored.size} bytes with SHA-256 ${b.stored.sha256}, at ${refAt} ${a.stored.size} bytes with SHA-256 ${a.stored.sha256}`
      });
    }
  }
  const names = new Set(ref.artifacts.map((a) => a.name));
  for (const b of other.artifacts) if (!names.has(b.name)) out.push({ artifact: b.name, problem: `artifact is not at ${refAt}` });
  return out;
}

// src/config/drill.ts
var DRILL_ACTION_NAMES = { scratch: (kind) => `drill-${kind}` };
function drillRequested(s) {
  const requested = [s.postgresScratch, s.postgresScratchEnv, s.mysqlScratch, s.mysqlScratchEnv, s.sqliteScratch, s.filesScratch].some((v) => v !== void 0 && v.trim() !== "");
  const checks = (s.checkSql ?? []).some((q) => q.trim() !== "") || !!s.maxAge?.trim();
  if (checks && !requested) {
    throw new UsageError(
      "drill-check-sql or drill-max-age is set, but every drill scratch input (drill-postgres, drill-mysql, drill-sqlite, drill-files) is empty, so no drill would run",
      'an unset secret or variable expands to ""; check the secret that drill-postgres or drill-mysql reads, or set drill-files/drill-sqlite to a path'
    );
  }
  return requested;
}
function resolveScratch(s, env, reporter) {
  const url = (kind, value, envName) => {
    const flag = `--${kind}-scratch`;
    const v = value?.trim() ? value.trim() : void 0;
    const e = envName?.trim() ? envName.trim() : void 0;
    if (v !== void 0 && e !== void 0) throw new UsageError(`${flag} and ${flag}-env both name the scratch server`, "give one of them");
    const u = e !== void 0 ? urlsFromEnv([e], env, `${flag}-env`)[0] : v;
    if (u !== void 0) maskLocation(kind, u, reporter);
    if (v !== void 0 && s.argv) warnPasswordInArgv(v, flag, `${flag}-env`, reporter, kind);
    return u;
  };
  const path = (p) => p?.trim() ? p.trim() : void 0;
  const out = {};
  const put = (kind, v) => {
    if (v !== void 0) out[kind] = v;
  };
  put("postgres", url("postgres", s.postgresScratch, s.postgresScratchEnv));
  put("mysql", url("mysql", s.mysqlScratch, s.mysqlScratchEnv));
  put("sqlite", path(s.sqliteScratch));
  put("files", path(s.filesScratch));
  return out;
}
async function resolveDrillConfig(flags, file, env, reporter) {
  const scratch = resolveScratch(flags, env, reporter);
  const maxAgeMs = flags.maxAge?.trim() ? parseDuration(flags.maxAge, "--max-age") : void 0;
  const checkSql = (flags.checkSql ?? []).map((q) => q.trim()).filter(Boolean);
  const decrypt = await resolveKey(flags, file, env, reporter);
  return {
    destination: fromLocation(flags, file, env, reporter),
    selection: { selector: flags.backup?.trim() || "latest" },
    decrypt,
    trusted: await resolveTrusted(flags, file),
    scratch,
    checkSql,
    ...flags.only?.length ? { only: flags.only.map((n) => n.trim()).filter(Boolean) } : {},
    ...maxAgeMs !== void 0 ? { maxAgeMs } : {},
    keep: !!flags.keep,
    reporter,
    lock: lockOf(flags, file, env),
    dbLockTimeoutMs: resolveDbLockTimeout(flags.dbLockTimeout ?? file?.dbLockTimeout),
    ...resolvePgBin(flags.pgBin)
  };
}

// src/core/drill.ts
import { randomBytes } from "node:crypto";
import { lstat, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
function drillExitCode(r) {
  return r.artifacts.some((a) => a.status === "difference") || r.checks.some((c) => !c.ok) ? ExitCode.drillFailed : ExitCode.ok;
}
function ageCheck(m, maxAgeMs, now) {
  const age = now.getTime() - Date.parse(m.startedAt);
  const ok = age < maxAgeMs;
  return { check: `max-age ${formatDuration(maxAgeMs)}`, ok, detail: `the backup is ${formatDuration(Math.max(0, age))} old${ok ? "" : `, older than ${formatDuration(maxAgeMs)}`}` };
}
async function drill(opts) {
  await assertRepository(opts.destination);
  const activity = beginActivity(`drill from ${opts.destination.display}`, "only scratch targets were written");
  return withLocks([opts.destination], "drill", false, opts.lock, opts.reporter, () => run(opts)).finally(() => activity.end());
}
async function run(opts) {
  const { destination: dest, reporter } = opts;
  const clock = opts.clock ?? (() => performance.now());
  const now = opts.now ?? (() => /* @__PURE__ */ new Date());
  const lock = { ...opts.lock, held: true };
  const kinds = Object.keys(opts.scratch).filter((k) => opts.scratch[k] !== void 0);
  for (const k of kinds) sourceAdapter(k);
  const names = opts.names ?? { scratch: (k) => `--${k}-scratch`, only: "--only NAME" };
  const entries = await listBackups(dest, reporter);
  const chosen = await selectTrusted(dest, entries, { ...opts.selection, needs: { kinds } }, opts.trusted, reporter);
  warnNewerDamaged(entries, chosen, opts.selection.selector, reporter);
  const m = chosen.manifest;
  assertEncryptedAsDeclared(m, dest.display, opts.decrypt);
  if (m.encryption.scheme === "age" && !opts.decrypt) throw new UsageError(`backup ${m.id} is encrypted`, "pass --identity-file FILE or --passphrase-env NAME");
  const plan = planDrill(m, opts, names);
  const sqlChecks = planChecks(m, plan.drilled, opts.checkSql, names);
  await warnStale(plan.drilled, opts, now());
  const checks = [];
  if (opts.maxAgeMs !== void 0) checks.push(ageCheck(m, opts.maxAgeMs, now()));
  const artifacts = [...plan.skipped];
  const scratches = [];
  const unregister = onForcedExit(() => removeAll(scratches, opts));
  try {
    await prepare(m, plan.drilled, opts, scratches, now(), names);
    reporter.info(`Drilling ${m.id} (${m.startedAt}) from ${dest.display}: ${scratches.length} artifact(s) into scratch targets`);
    for (const s of scratches) artifacts.push(await restoreOne(chosen, s, opts, lock, clock));
    const rtoSeconds = seconds(artifacts.reduce((n, a) => n + (a.seconds ?? 0) * 1e3, 0));
    checks.push(...await runChecks(scratches, artifacts, sqlChecks, opts));
    const kept = opts.keep ? scratches.filter((s) => s.remove).map((s) => s.display) : [];
    const result = {
      backupId: m.id,
      startedAt: m.startedAt,
      series: seriesOf(m),
      labels: m.labels,
      ageSeconds: Math.max(0, Math.round((now().getTime() - Date.parse(m.startedAt)) / 1e3)),
      ok: false,
      exitCode: ExitCode.ok,
      artifacts: sortLike(m, artifacts),
      checks,
      rtoSeconds,
      kept
    };
    result.exitCode = drillExitCode(result);
    result.ok = result.exitCode === ExitCode.ok;
    return result;
  } finally {
    unregister();
    if (!opts.keep) await removeAll(scratches, opts);
  }
}
var seconds = (ms) => Math.round(ms) / 1e3;
var scratchFlags = (names) => sourceAdapters.map((a) => `${names.scratch(a.kind)} \u2026`).join(", ");
var scratchFlag = (a) => `--${a.kind}-scratch`;
var serverKind = (a) => !!a.createScratch;
var SCRATCH_PREFIX = "strongbox_drill_";
var STALE_MS = 24 * 3600 * 1e3;
var stamp = (d) => d.toISOString().replace(/\D/g, "").slice(0, 14);
var scratchDatabaseName = (now, id) => `${SCRATCH_PREFIX}${stamp(now)}_${id}`;
function scratchMadeAt(name) {
  const m = /^strongbox_drill_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})_/.exec(name);
  if (!m) return void 0;
  const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return Number.isNaN(t) ? void 0 : new Date(t);
}
function staleScratchNames(names, now) {
  return names.filter((n) => n.startsWith(SCRATCH_PREFIX)).filter((n) => {
    const at = scratchMadeAt(n);
    return !at || now.getTime() - at.getTime() > STALE_MS;
  });
}
function planDrill(m, opts, names) {
  const only = opts.only?.length ? opts.only : void 0;
  const unknown = (only ?? []).filter((n) => !m.artifacts.some((a) => a.name === n));
  if (unknown.length) {
    throw new UsageError(`${names.only?.split(" ")[0] ?? "--only"} ${unknown.map(printable).join(", ")}: backup ${m.id} has no such artifact`, `its artifacts: ${m.artifacts.map((a) => printable(a.name)).join(", ")}`);
  }
  const drilled = [];
  const skipped = [];
  const missing = [];
  for (const artifact of m.artifacts) {
    if (only && !only.includes(artifact.name)) {
      skipped.push({ name: artifact.name, kind: artifact.kind, status: "skipped", problem: `left out by ${names.only?.split(" ")[0] ?? "--only"}` });
      continue;
    }
    const adapter = findSourceAdapter(artifact.kind);
    if (!adapter) {
      missing.push(`${describeArtifact(artifact)}: this version cannot restore ${printable(artifact.kind)} artifacts`);
      continue;
    }
    if (serverKind(adapter) && opts.scratch[artifact.kind] === void 0) {
      missing.push(`${describeArtifact(artifact)}: no ${names.scratch(artifact.kind)} given`);
      continue;
    }
    drilled.push(artifact);
  }
  if (missing.length) {
    const narrow = names.only ? `, or drill only the others on purpose with ${names.only}` : "";
    throw new UsageError(
      `backup ${m.id} cannot be drilled completely, nothing was restored: ${missing.join("; ")}`,
      `give ${[...new Set(missing.map((x) => /no (\S+) given/.exec(x)?.[1]).filter(Boolean))].join(" and ") || "a scratch target"} (an unset secret or variable expands to "")${narrow}`
    );
  }
  if (!drilled.length) throw new UsageError(`nothing to drill: no artifact of ${m.id} selected`, `pass one of ${scratchFlags(names)}`);
  for (const kind of new Set(drilled.map((a) => a.kind))) {
    const n = drilled.filter((a) => a.kind === kind).length;
    const adapter = sourceAdapter(kind);
    const given = opts.scratch[kind];
    if (n > 1 && given !== void 0 && (!serverKind(adapter) || adapter.scratchName?.(given) !== void 0)) {
      throw new UsageError(`backup ${m.id} holds ${n} ${kind} artifacts but ${names.scratch(kind)} names one target`, serverKind(adapter) ? "name only the server (no database): the drill then creates one scratch database per artifact" : `leave ${names.scratch(kind)} out: the drill then restores each into its own temporary ${adapter.targetNoun}`);
    }
  }
  return { drilled, skipped };
}
function planChecks(m, drilled, checkSql, names) {
  const databases = drilled.filter((a) => findSourceAdapter(a.kind)?.countQueryRows).map((a) => a.name);
  return checkSql.map((check) => {
    const pre = /^([^\s:'"]+):(?!:)\s*([\s\S]+)$/.exec(check);
    if (!pre) return { check, sql: check };
    const [, name, sql] = pre;
    if (!databases.includes(name)) {
      const known = m.artifacts.some((a) => a.name === name);
      throw new UsageError(
        `check-sql ${printable(check)}: ${printable(name)} ${known ? "is not a database artifact drilled here" : `is no artifact of backup ${m.id}`}`,
        databases.length ? `prefix a check with one of ${databases.map(printable).join(", ")} and a colon, or give none (the check then runs on ${printable(databases[0])})` : `give a ${scratchFlags(names)} for a database artifact`
      );
    }
    return { check, sql, artifact: name };
  });
}
async function warnStale(drilled, opts, now) {
  const ctx = targetContext({ destination: opts.destination, force: false, reporter: opts.reporter, dbLockTimeoutMs: opts.dbLockTimeoutMs, pgBin: opts.pgBin });
  for (const kind of new Set(drilled.map((a) => a.kind))) {
    const adapter = sourceAdapter(kind);
    const url = opts.scratch[kind];
    if (!adapter.listScratch || url === void 0) continue;
    try {
      const stale = staleScratchNames(await adapter.listScratch(url, SCRATCH_PREFIX, ctx), now);
      if (stale.length) {
        opts.reporter.warning(
          `the ${kind} scratch server holds ${stale.length} database(s) a killed drill left, older than a day or undated: ${stale.map(printable).join(", ")}; they may hold copies of production data: drop them by hand once no drill is running (nothing was dropped)`
        );
      }
    } catch (err) {
      throwIfCancelled();
      opts.reporter.debug(`could not list the ${kind} scratch server's databases: ${printable(errorMessage(err))}`);
    }
  }
}
function sortLike(m, list) {
  const order = m.artifacts.map((a) => a.name);
  return [...list].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}
async function prepare(m, drilled, opts, scratches, now, names) {
  const ctx = targetContext({ destination: opts.destination, force: false, reporter: opts.reporter, dbLockTimeoutMs: opts.dbLockTimeoutMs, pgBin: opts.pgBin });
  const id = opts.scratchId ?? (() => randomBytes(4).toString("hex"));
  for (const artifact of drilled) {
    throwIfCancelled();
    const adapter = sourceAdapter(artifact.kind);
    const given = opts.scratch[artifact.kind];
    scratches.push(serverKind(adapter) ? await serverScratch(adapter, artifact, given, scratchDatabaseName(now, id()), ctx, names) : await pathScratch(adapter, artifact, given, opts, ctx));
  }
}
async function serverScratch(adapter, artifact, url, fresh, ctx, names) {
  const named = adapter.scratchName(url);
  const { target, created } = await adapter.createScratch(url, named ?? fresh, ctx);
  const display = adapter.displayTarget(target);
  if (!created) {
    throw new UsageError(
      `${names.scratch(artifact.kind)} names the ${adapter.targetNoun} ${display}, which exists; a drill restores only into a database it creates and drops again, so nothing was restored or dropped`,
      `name only the server in ${names.scratch(artifact.kind)} (e.g. ${adapter.kind}://user@host:port/): the drill then creates its own ${SCRATCH_PREFIX}\u2026 database and drops it afterwards`
    );
  }
  return { adapter, artifact, target, display, remove: () => adapter.dropScratch(target, ctx) };
}
async function pathScratch(adapter, artifact, given, opts, ctx) {
  if (given === void 0) {
    const dir = await mkdtemp(join(opts.tempRoot ?? tmpdir(), "strongbox-drill-"));
    const target2 = adapter.normalizeTarget(join(dir, artifact.name + (adapter.kind === "files" ? "" : adapter.extension)));
    return { adapter, artifact, target: target2, display: adapter.displayTarget(target2), remove: () => rm(dir, { recursive: true, force: true }) };
  }
  const target = adapter.normalizeTarget(given);
  const display = adapter.displayTarget(target);
  const existed = await lstat(target).then(() => true, () => false);
  await adapter.checkTarget(target, ctx);
  if (existed && (adapter.kind === "sqlite" || !await adapter.isTargetEmpty(target, ctx))) {
    throw new RefusedError(
      `the scratch ${adapter.targetNoun} ${display} ${adapter.kind === "sqlite" ? "exists" : "is not empty"}; a drill restores only into ${adapter.kind === "sqlite" ? "a new file" : "an empty or new directory"}, so nothing was restored or removed`,
      `give ${scratchFlag(adapter)} a path that does not exist yet, or leave it out (the drill then uses a temporary one)`
    );
  }
  const remove = existed ? async () => {
    for (const name of await readdir(target).catch(() => [])) await rm(join(target, name), { recursive: true, force: true });
  } : () => Promise.all([target, `${target}-wal`, `${target}-shm`, `${target}-journal`].map((p) => rm(p, { recursive: true, force: true }))).then(() => void 0);
  return { adapter, artifact, target, display, remove };
}
async function removeAll(scratches, opts) {
  for (const s of scratches.splice(0)) {
    if (!s.remove) continue;
    try {
      await s.remove();
    } catch (err) {
      opts.reporter.warning(`could not remove the scratch ${s.adapter.targetNoun} ${s.display}: ${printable(errorMessage(err))}; remove it by hand`);
    }
  }
}
async function restoreOne(chosen, s, opts, lock, clock) {
  const m = chosen.manifest;
  const { artifact, adapter } = s;
  const base = { name: artifact.name, kind: artifact.kind, target: s.display };
  const t0 = clock();
  try {
    await restore({
      destination: opts.destination,
      selection: { selector: m.id },
      chosen,
      decrypt: opts.decrypt,
      trusted: opts.trusted,
      targets: { [artifact.kind]: s.target },
      only: [artifact.name],
      force: false,
      reporter: opts.reporter,
      lock,
      dbLockTimeoutMs: opts.dbLockTimeoutMs,
      pgBin: opts.pgBin
    });
  } catch (err) {
    if (err instanceof StrongboxError && err.exitCode === ExitCode.verifyFailed) {
      opts.reporter.error(`DRILL FAILED: ${describeArtifact(artifact)} did not restore as recorded: ${err.message}`);
      return { ...base, status: "difference", seconds: seconds(clock() - t0), problem: err.message };
    }
    throw err;
  }
  const secs = seconds(clock() - t0);
  const exact = artifact.rowCounts && (artifact.rowCountMode ?? "exact") === "exact";
  const rows = exact ? { tables: Object.keys(artifact.rowCounts).length, rows: Object.values(artifact.rowCounts).reduce((a, b) => a + b, 0) } : void 0;
  const found = adapter.compareRestored ? await adapter.compareRestored(s.target, artifact) : void 0;
  if (found?.differences.length) {
    const problem = found.differences.join("; ");
    opts.reporter.error(`DRILL FAILED: ${describeArtifact(artifact)} restored into ${s.display} differs from the backup's record: ${problem}`);
    return { ...base, status: "difference", seconds: secs, compared: found.compared, problem };
  }
  return { ...base, status: "ok", seconds: secs, ...rows ? { rows } : {}, ...found ? { compared: found.compared } : {} };
}
async function runChecks(scratches, artifacts, sqlChecks, opts) {
  if (!sqlChecks.length) return [];
  const restored = new Set(artifacts.filter((a) => a.status === "ok").map((a) => a.name));
  const first = scratches.find((s) => s.adapter.countQueryRows && restored.has(s.artifact.name));
  const ctx = targetContext({ destination: opts.destination, force: false, reporter: opts.reporter, dbLockTimeoutMs: opts.dbLockTimeoutMs, pgBin: opts.pgBin });
  const checks = [];
  for (const { check, sql, artifact } of sqlChecks) {
    throwIfCancelled();
    const database = artifact === void 0 ? first : scratches.find((s) => s.artifact.name === artifact && restored.has(artifact));
    if (!database) {
      checks.push({ check, ok: false, detail: artifact === void 0 ? "no database was restored to run it against" : `${artifact} did not restore as recorded` });
      continue;
    }
    try {
      const rows = await database.adapter.countQueryRows(database.target, sql, ctx);
      checks.push({ check, ok: rows > 0, detail: rows > 0 ? `${rows} row(s) from ${database.artifact.name}` : `returned no rows from ${database.artifact.name}` });
    } catch (err) {
      throwIfCancelled();
      opts.reporter.debug(`check ${check} on ${database.artifact.name}: ${errorMessage(err)}`);
      checks.push({ check, ok: false, detail: `failed on ${database.artifact.name}; the server's message is left out because it can quote row data (STRONGBOX_DEBUG=1 prints it)` });
    }
  }
  return checks;
}

export {
  verifyAcross,
  DRILL_ACTION_NAMES,
  drillRequested,
  resolveDrillConfig,
  drill
};
