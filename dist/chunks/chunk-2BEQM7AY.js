import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  verify
} from "./chunk-BCAH7YI4.js";
import {
  fromLocation,
  lockOf,
  resolveKey,
  resolveTrusted,
  restore,
  targetContext
} from "./chunk-XCCNICKF.js";
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
} from "./chunk-KVUWN6E4.js";

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
function drillRequested(s) {
  return [s.postgresScratch, s.postgresScratchEnv, s.mysqlScratch, s.mysqlScratchEnv, s.sqliteScratch, s.filesScratch].some((v) => v !== void 0 && v.trim() !== "");
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
  const entries = await listBackups(dest, reporter);
  const chosen = await selectTrusted(dest, entries, { ...opts.selection, needs: { kinds } }, opts.trusted, reporter);
  warnNewerDamaged(entries, chosen, opts.selection.selector, reporter);
  const m = chosen.manifest;
  assertEncryptedAsDeclared(m, dest.display, opts.decrypt);
  if (m.encryption.scheme === "age" && !opts.decrypt) throw new UsageError(`backup ${m.id} is encrypted`, "pass --identity-file FILE or --passphrase-env NAME");
  const checks = [];
  if (opts.maxAgeMs !== void 0) checks.push(ageCheck(m, opts.maxAgeMs, now()));
  const artifacts = [];
  const scratches = [];
  const unregister = onForcedExit(() => removeAll(scratches, opts));
  try {
    await prepare(m, opts, artifacts, scratches);
    if (!scratches.length) throw new UsageError(`nothing to drill: no scratch target for any artifact of ${m.id}`, `pass one of ${scratchFlags()}`);
    reporter.info(`Drilling ${m.id} (${m.startedAt}) from ${dest.display}: ${scratches.length} artifact(s) into scratch targets`);
    const began = clock();
    for (const s of scratches) artifacts.push(await restoreOne(m, s, opts, lock, clock));
    const rtoSeconds = seconds(clock() - began);
    checks.push(...await runChecks(scratches, artifacts, opts));
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
var scratchFlags = () => sourceAdapters.map((a) => `${scratchFlag(a)} \u2026`).join(", ");
var scratchFlag = (a) => `--${a.kind}-scratch`;
var serverKind = (a) => !!a.createScratch;
function sortLike(m, list) {
  const order = m.artifacts.map((a) => a.name);
  return [...list].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}
async function prepare(m, opts, artifacts, scratches) {
  const ctx = targetContext({ destination: opts.destination, force: false, reporter: opts.reporter, dbLockTimeoutMs: opts.dbLockTimeoutMs, pgBin: opts.pgBin });
  const id = opts.scratchId ?? (() => randomBytes(4).toString("hex"));
  for (const kind of Object.keys(opts.scratch)) {
    if (opts.scratch[kind] === void 0) continue;
    const n = m.artifacts.filter((a) => a.kind === kind).length;
    const adapter = sourceAdapter(kind);
    if (n > 1 && (!serverKind(adapter) || adapter.scratchName?.(opts.scratch[kind]) !== void 0)) {
      throw new UsageError(`backup ${m.id} holds ${n} ${kind} artifacts but ${scratchFlag(adapter)} names one target`, serverKind(adapter) ? "name only the server (no database): the drill then creates one scratch database per artifact" : `leave ${scratchFlag(adapter)} out: the drill then restores each into its own temporary ${adapter.targetNoun}`);
    }
  }
  for (const artifact of m.artifacts) {
    throwIfCancelled();
    const adapter = findSourceAdapter(artifact.kind);
    const given = opts.scratch[artifact.kind];
    if (!adapter || serverKind(adapter) && given === void 0) {
      const why = adapter ? `no ${scratchFlag(adapter)} given` : `this version cannot restore ${printable(artifact.kind)} artifacts`;
      opts.reporter.warning(`not drilling ${describeArtifact(artifact)}: ${why}`);
      artifacts.push({ name: artifact.name, kind: artifact.kind, status: "skipped", problem: why });
      continue;
    }
    scratches.push(serverKind(adapter) ? await serverScratch(adapter, artifact, given, id, ctx) : await pathScratch(adapter, artifact, given, opts, ctx));
  }
}
async function serverScratch(adapter, artifact, url, id, ctx) {
  const named = adapter.scratchName(url);
  const { target, created } = await adapter.createScratch(url, named ?? `strongbox_drill_${id()}`, ctx);
  const display = adapter.displayTarget(target);
  const remove = created ? () => adapter.dropScratch(target, ctx) : void 0;
  if (!created) {
    await adapter.checkTarget(target, ctx);
    if (!await adapter.isTargetEmpty(target, ctx)) {
      throw new RefusedError(
        `the scratch ${adapter.targetNoun} ${display} is not empty; a drill restores only into an empty or new one, so nothing was restored or dropped`,
        `name only the server in ${scratchFlag(adapter)} (the drill then creates and drops its own database), or an empty database`
      );
    }
  }
  return { adapter, artifact, target, display, remove };
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
async function restoreOne(m, s, opts, lock, clock) {
  const { artifact, adapter } = s;
  const base = { name: artifact.name, kind: artifact.kind, target: s.display };
  const t0 = clock();
  try {
    await restore({
      destination: opts.destination,
      selection: { selector: m.id },
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
async function runChecks(scratches, artifacts, opts) {
  if (!opts.checkSql.length) return [];
  const restored = new Set(artifacts.filter((a) => a.status === "ok").map((a) => a.name));
  const database = scratches.find((s) => s.adapter.countQueryRows && restored.has(s.artifact.name));
  const ctx = targetContext({ destination: opts.destination, force: false, reporter: opts.reporter, dbLockTimeoutMs: opts.dbLockTimeoutMs });
  const checks = [];
  for (const sql of opts.checkSql) {
    throwIfCancelled();
    if (!database) {
      checks.push({ check: sql, ok: false, detail: "no database was restored to run it against" });
      continue;
    }
    try {
      const rows = await database.adapter.countQueryRows(database.target, sql, ctx);
      checks.push({ check: sql, ok: rows > 0, detail: rows > 0 ? `${rows} row(s) from ${database.artifact.name}` : `returned no rows from ${database.artifact.name}` });
    } catch (err) {
      throwIfCancelled();
      checks.push({ check: sql, ok: false, detail: errorMessage(err) });
    }
  }
  return checks;
}

export {
  verifyAcross,
  drillRequested,
  resolveDrillConfig,
  drill
};
