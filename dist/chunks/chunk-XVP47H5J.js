import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  describeRelease,
  releaseOf
} from "./chunk-PZQOPBRM.js";
import {
  verify
} from "./chunk-S6YNOLOT.js";
import {
  restore,
  restoreNeeds,
  targetContext
} from "./chunk-J4ZO7BED.js";
import {
  RefusedError,
  StrongboxError,
  UsageError,
  VerificationError,
  assertEncryptedAsDeclared,
  assertRepository,
  backup,
  beginActivity,
  checkCanDecrypt,
  checkTrust,
  errorMessage,
  identityToRecipient,
  listBackups,
  reportSignature,
  secondsSince,
  selectTrusted,
  shellWord,
  sourceAdapters,
  throwIfCancelled,
  warnNewerDamaged,
  withLocks
} from "./chunk-XEBPFPTJ.js";

// src/core/rollback.ts
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
var SAFETY_LABEL = "pre-rollback";
function givenTargets(targets) {
  return sourceAdapters.filter((a) => targets[a.kind] !== void 0).map((a) => ({ adapter: a, target: targets[a.kind] }));
}
function expectedConfirmation(opts) {
  const first = givenTargets(opts.targets)[0];
  if (first) return first.adapter.confirmName(first.target);
  throw new UsageError("rollback needs a target", `pass one of ${sourceAdapters.map((a) => `${a.targetFlag} \u2026`).join(", ")}`);
}
async function rollback(opts) {
  const { destination: dest, reporter } = opts;
  const expected = expectedConfirmation(opts);
  if (opts.confirm !== expected) {
    throw new RefusedError(
      `--confirm "${opts.confirm}" does not repeat the target name "${expected}"; nothing was changed`,
      `rerun with --confirm ${expected} to replace ${expected} with the snapshot`
    );
  }
  const encryption = safetyEncryption(opts.decrypt, opts.recipients);
  await assertRepository(dest);
  const activity = beginActivity(`rollback of ${expected}`, "the targets were left unchanged");
  return withLocks([dest], "rollback", true, opts.lock, reporter, async () => {
    const held = { ...opts.lock, held: true };
    const started = (opts.now ?? (() => /* @__PURE__ */ new Date()))();
    const entries = await listBackups(dest, reporter);
    const snapshot = await selectTrusted(dest, entries, { ...opts.selection, unique: true, needs: restoreNeeds(opts) }, opts.trusted, reporter);
    warnNewerDamaged(entries, snapshot, opts.selection.selector, reporter);
    const m = snapshot.manifest;
    const release = releaseOf(m.origin);
    reporter.info(`Rolling back to ${m.id} (${m.startedAt}; ${describeRelease(release)})`);
    activity.what = `rollback of ${expected} to ${m.id}`;
    reportSignature(m.id, await checkTrust(dest, snapshot, opts.trusted), !!opts.trusted?.length, reporter);
    assertEncryptedAsDeclared(m, dest.display, opts.decrypt);
    for (const a of m.artifacts) await checkCanDecrypt(dest, m.id, a, opts.decrypt);
    const ctx = targetContext({ destination: dest, force: true, reporter, dbLockTimeoutMs: opts.dbLockTimeoutMs, pgBin: opts.pgBin });
    const given = givenTargets(opts.targets);
    for (const { adapter, target } of given) await adapter.checkTarget(target, ctx);
    const sources = [];
    for (const { adapter, target } of given) {
      const spec = await adapter.safetySource(target);
      if (spec) sources.push(opts.pgBin ? { ...spec, options: { ...spec.options, pgBin: opts.pgBin } } : spec);
    }
    if (!sources.length) throw new UsageError("nothing to roll back: no target holds anything yet", "restore the snapshot instead (strongbox restore)");
    if (opts.trusted?.length && !opts.signingKey) {
      reporter.warning("the safety backup will be unsigned (no --sign-key given), so restoring it to undo this rollback must be done without --trust");
    }
    reporter.info("Taking the safety backup of the current state\u2026");
    const safety = await backup({
      destinations: [dest],
      sources,
      encryption,
      compression: opts.compression ?? { algorithm: "zstd" },
      labels: [SAFETY_LABEL],
      origin: opts.origin,
      reporter,
      lock: held,
      signingKey: opts.signingKey,
      dbLockTimeoutMs: opts.dbLockTimeoutMs,
      ...opts.now ? { now: opts.now } : {}
    });
    const check = await verify({ destination: dest, selector: safety.id, deep: true, decrypt: opts.decrypt, reporter, lock: held, ...opts.now ? { now: opts.now } : {} });
    if (!check.ok) {
      throw new VerificationError(
        `the safety backup ${safety.id} failed verification (${check.problems.map((p) => p.problem).join("; ")}); nothing was rolled back`
      );
    }
    const undo = undoCommand(dest, safety.id, opts);
    activity.outcome = `the targets were left unchanged (the safety backup ${safety.id} was kept)`;
    activity.nested = (inner) => `${inner}; the safety backup ${safety.id} was kept (to undo: ${undo})`;
    let restored;
    try {
      restored = await restore({
        destination: dest,
        selection: { selector: m.id },
        decrypt: opts.decrypt,
        trusted: opts.trusted,
        targets: opts.targets,
        force: true,
        reporter,
        lock: held,
        dbLockTimeoutMs: opts.dbLockTimeoutMs,
        pgBin: opts.pgBin,
        ...opts.now ? { now: opts.now } : {}
      });
    } catch (err) {
      throw new StrongboxError(`restoring ${m.id} failed: ${errorMessage(err)}`, {
        cause: err,
        exitCode: err instanceof StrongboxError ? err.exitCode : void 0,
        hint: `the targets are as they were if the restore stopped before committing; the safety backup ${safety.id} holds the state before the rollback: ${undo}`
      });
    }
    activity.nested = void 0;
    activity.outcome = `the targets had been rolled back to ${m.id}, the smoke checks did not finish; the safety backup ${safety.id} was kept (to undo: ${undo})`;
    const checks = await runChecks(opts);
    for (const c of checks) {
      const line = `  check ${c.ok ? "ok" : "FAILED"}: ${c.check} \u2014 ${c.detail}`;
      if (c.ok) reporter.info(line);
      else reporter.error(line);
    }
    if (checks.some((c) => !c.ok)) reporter.error(`Smoke checks failed after the rollback. To return to the state before it: ${undo}`);
    const durationSeconds = secondsSince(started, opts.now);
    reporter.info(`Rolled back to ${m.id} in ${durationSeconds.toFixed(1)} s`);
    return {
      backupId: m.id,
      snapshotStartedAt: m.startedAt,
      ...release,
      safetyBackupId: safety.id,
      restored: restored.restored,
      checks,
      undo,
      durationSeconds
    };
  }).finally(() => activity.end());
}
function safetyEncryption(decrypt, extra) {
  if (decrypt.passphrase !== void 0) {
    if (extra.length) throw new UsageError("--recipient cannot be combined with a passphrase", "the age format does not mix passphrases with recipients");
    return { passphrase: decrypt.passphrase };
  }
  const own = (decrypt.identities ?? []).map(identityToRecipient);
  if (!own.length) throw new UsageError("rollback needs the identity or passphrase that opens the snapshot");
  return { recipients: [.../* @__PURE__ */ new Set([...own, ...extra])] };
}
async function runChecks(opts) {
  const checks = [];
  const database = givenTargets(opts.targets).find((t) => t.adapter.countQueryRows);
  for (const sql of opts.checkSql) {
    throwIfCancelled();
    if (!database) {
      const flags = sourceAdapters.filter((a) => a.countQueryRows).map((a) => a.targetFlag);
      checks.push({ check: sql, ok: false, detail: `--check-sql needs a database target (${flags.join(", ")})` });
      continue;
    }
    try {
      const rows = await database.adapter.countQueryRows(database.target, sql, targetContext({ destination: opts.destination, force: true, reporter: opts.reporter }));
      checks.push({ check: sql, ok: rows > 0, detail: rows > 0 ? `${rows} row(s)` : "returned no rows" });
    } catch (err) {
      throwIfCancelled();
      checks.push({ check: sql, ok: false, detail: errorMessage(err) });
    }
  }
  throwIfCancelled();
  if (opts.checkFile) {
    const filesTarget = opts.targets.files;
    const ok = !!filesTarget && existsSync(join(resolve(filesTarget), opts.checkFile));
    checks.push({ check: `file ${opts.checkFile}`, ok, detail: ok ? "exists" : "is missing" });
  }
  return checks;
}
function undoCommand(dest, safetyId, opts) {
  const key = opts.decrypt.passphrase !== void 0 ? "--passphrase-env NAME" : "--identity-file KEY";
  const targets = givenTargets(opts.targets).map(({ adapter, target }) => `${adapter.targetFlag} ${shellWord(adapter.displayTarget(adapter.normalizeTarget(target)))}`);
  const from = dest.location ?? dest.display;
  return `strongbox restore --from ${shellWord(from)} --backup ${safetyId} ${key} ${targets.join(" ")} --force`;
}

export {
  rollback
};
