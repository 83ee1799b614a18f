import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  assertRepositoryOutside,
  describeRelease,
  releaseOf,
  restore,
  restoreNeeds
} from "./chunk-EGRVLJUQ.js";
import {
  verify
} from "./chunk-MMBQ6T34.js";
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
  checkRestoreTarget,
  checkTrust,
  countQueryRows,
  errorMessage,
  identityToRecipient,
  listBackups,
  parsePostgresUrl,
  printable,
  reportSignature,
  selectTrusted,
  throwIfCancelled,
  warnNewerDamaged,
  withLocks
} from "./chunk-3L74FC7T.js";

// src/core/rollback.ts
import { existsSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
var SAFETY_LABEL = "pre-rollback";
function expectedConfirmation(opts) {
  if (opts.postgresTarget) return parsePostgresUrl(opts.postgresTarget).database;
  if (opts.filesTarget) return basename(resolve(opts.filesTarget));
  throw new UsageError("rollback needs a target", "pass --postgres-target URL and/or --files-target DIR");
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
    await assertRepositoryOutside(dest, opts.filesTarget);
    if (opts.filesTarget) await assertRollbackTarget(opts.filesTarget);
    const sources = [];
    if (opts.postgresTarget) sources.push({ kind: "postgres", url: opts.postgresTarget });
    if (opts.filesTarget && await hasEntries(opts.filesTarget)) sources.push({ kind: "files", path: opts.filesTarget });
    if (!sources.length) throw new UsageError("nothing to roll back: the files target does not exist and no database was given");
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
      dbLockTimeoutMs: opts.dbLockTimeoutMs
    });
    const check = await verify({ destination: dest, selector: safety.id, deep: true, decrypt: opts.decrypt, reporter, lock: held });
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
        postgresTarget: opts.postgresTarget,
        filesTarget: opts.filesTarget,
        force: true,
        reporter,
        lock: held,
        dbLockTimeoutMs: opts.dbLockTimeoutMs
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
    return {
      backupId: m.id,
      snapshotStartedAt: m.startedAt,
      ...release,
      safetyBackupId: safety.id,
      restored: restored.restored,
      checks,
      undo
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
  for (const sql of opts.checkSql) {
    throwIfCancelled();
    if (!opts.postgresTarget) {
      checks.push({ check: sql, ok: false, detail: "--check-sql needs --postgres-target" });
      continue;
    }
    try {
      const rows = await countQueryRows(opts.postgresTarget, sql);
      checks.push({ check: sql, ok: rows > 0, detail: rows > 0 ? `${rows} row(s)` : "returned no rows" });
    } catch (err) {
      throwIfCancelled();
      checks.push({ check: sql, ok: false, detail: errorMessage(err) });
    }
  }
  throwIfCancelled();
  if (opts.checkFile) {
    const ok = !!opts.filesTarget && existsSync(join(resolve(opts.filesTarget), opts.checkFile));
    checks.push({ check: `file ${opts.checkFile}`, ok, detail: ok ? "exists" : "is missing" });
  }
  return checks;
}
function undoCommand(dest, safetyId, opts) {
  const key = opts.decrypt.passphrase !== void 0 ? "--passphrase-env NAME" : "--identity-file KEY";
  const targets = [
    opts.postgresTarget ? `--postgres-target '<target URL>'` : "",
    opts.filesTarget ? `--files-target ${resolve(opts.filesTarget)}` : ""
  ].filter(Boolean);
  return `strongbox restore --from ${dest.display} --backup ${safetyId} ${key} ${targets.join(" ")} --force`;
}
async function hasEntries(dir) {
  try {
    return (await readdir(dir)).length > 0;
  } catch (err) {
    if (err.code === "ENOENT") return false;
    throw err;
  }
}
async function assertRollbackTarget(filesTarget) {
  await checkRestoreTarget(filesTarget);
  const st = await stat(filesTarget).catch((err) => {
    if (err.code === "ENOENT") return void 0;
    throw err;
  });
  if (st && !st.isDirectory()) {
    throw new RefusedError(
      `the files target ${printable(resolve(filesTarget))} is not a directory; nothing was changed`,
      "rollback replaces a directory: give --files-target the directory the snapshot was taken of, or move the file away first"
    );
  }
}

export {
  rollback
};
