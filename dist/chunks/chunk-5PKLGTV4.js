import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  ExitCode,
  MANIFEST_NAME,
  NotFoundError,
  StrongboxError,
  VerificationError,
  assertEncryptedAsDeclared,
  assertRepository,
  beginActivity,
  checkStored,
  checkTrust,
  describeSignature,
  errorMessage,
  listBackups,
  objectKey,
  openPlaintext,
  selectBackup,
  storedLocation,
  throwIfCancelled,
  withLocks
} from "./chunk-INJM3ATK.js";

// src/core/verify.ts
async function verify(opts) {
  await assertRepository(opts.destination);
  return withLocks([opts.destination], "verify", false, opts.lock, opts.reporter, () => {
    const activity = beginActivity(`verify of ${opts.selector} at ${opts.destination.display}`, "nothing was changed");
    return run(opts).finally(() => activity.end());
  });
}
async function run(opts) {
  const { destination: dest, reporter } = opts;
  const now = (opts.now ?? (() => /* @__PURE__ */ new Date()))();
  const entries = await listBackups(dest, reporter);
  const damaged = entries.filter((e) => e.damaged);
  const named = damaged.find((e) => e.id === opts.selector);
  if (named || !entries.some((e) => e.complete) && damaged.length) {
    const bad = named ? [named] : damaged;
    throw new VerificationError(
      bad.map((e) => `backup ${e.id} at ${dest.display} is damaged: ${e.damaged}`).join("\n"),
      named ? "choose another backup (strongbox list --all)" : "no other complete backup is there; run a new backup and check the storage"
    );
  }
  if (!entries.some((e) => e.complete)) {
    throw new NotFoundError(`no complete backup at ${dest.display}`, "run a backup first, or check the destination");
  }
  const chosen = selectBackup(entries, { selector: opts.selector });
  const m = chosen.manifest;
  const manifestAt = `${dest.display}/${objectKey(m.id, MANIFEST_NAME)}`;
  const problems = [];
  const problem = (p, exitCode2 = ExitCode.verifyFailed) => {
    problems.push({ ...p, exitCode: exitCode2 });
    reporter.error(`FAILED ${p.artifact ? `${p.artifact} ` : ""}${p.object ? `(${p.object})` : `backup ${m.id}`}: ${p.problem}`);
  };
  const ageSeconds = (now.getTime() - Date.parse(m.finishedAt)) / 1e3;
  if (opts.maxAgeMs !== void 0 && ageSeconds * 1e3 > opts.maxAgeMs) {
    problem({ problem: `backup ${m.id} finished ${formatAge(ageSeconds)} ago, older than the allowed ${formatAge(opts.maxAgeMs / 1e3)}` });
  }
  if (opts.selector === "latest") {
    for (const e of entries) {
      if (e.damaged && e.time > chosen.time) problem({ object: `${dest.display}/${e.id}/manifest.json`, problem: `newer backup ${e.id} is unreadable: ${e.damaged}` });
    }
  }
  const deep = opts.deep || opts.decrypt !== void 0;
  if (deep && !opts.deep) reporter.info("A key was given, so this is a deep verification: every artifact is decrypted and its plaintext checked");
  let signature = { signed: false };
  try {
    signature = await checkTrust(dest, chosen, opts.trusted);
  } catch (err) {
    if (!(err instanceof VerificationError)) throw err;
    problem({ object: manifestAt, problem: err.message });
  }
  let encryptionOk = true;
  try {
    assertEncryptedAsDeclared(m, dest.display, opts.decrypt);
  } catch (err) {
    if (!(err instanceof VerificationError)) throw err;
    encryptionOk = false;
    problem({ object: manifestAt, problem: err.message });
  }
  reporter.info(`Verifying ${m.id} at ${dest.display}${deep ? " (deep: decrypting)" : ""}; ${describeSignature(signature, !!opts.trusted?.length)}`);
  const artifacts = [];
  const present = new Map(chosen.objects.map((o) => [o.key, o.size]));
  for (const a of m.artifacts) {
    const where = storedLocation(dest, m.id, a);
    const row = { name: a.name, object: where, storedOk: false };
    artifacts.push(row);
    const size = present.get(objectKey(m.id, a.key));
    if (size === void 0) {
      problem({ artifact: a.name, object: where, problem: "object is missing" });
      continue;
    }
    if (size !== a.stored.size) {
      problem({ artifact: a.name, object: where, problem: `object holds ${size} bytes, the manifest says ${a.stored.size}` });
      continue;
    }
    try {
      if (deep && encryptionOk && (opts.decrypt !== void 0 || a.encryption.scheme === "none")) {
        const plain = await openPlaintext(dest, m.id, a, opts.decrypt);
        for await (const _ of plain) {
        }
        row.storedOk = row.plaintextOk = true;
      } else {
        await checkStored(dest, m.id, a);
        row.storedOk = true;
      }
      reporter.info(`  ok ${a.name} (${where})`);
    } catch (err) {
      throwIfCancelled();
      problem({ artifact: a.name, object: where, problem: errorMessage(err) }, err instanceof StrongboxError ? exitFor(err) : ExitCode.verifyFailed);
    }
  }
  const exitCode = problems.some((p) => p.exitCode === ExitCode.wrongKey) ? ExitCode.wrongKey : problems.length ? ExitCode.verifyFailed : ExitCode.ok;
  return { ok: problems.length === 0, backupId: m.id, finishedAt: m.finishedAt, ageSeconds, deep, artifacts, problems, signature, exitCode };
}
function exitFor(err) {
  return err.exitCode === ExitCode.wrongKey ? ExitCode.wrongKey : ExitCode.verifyFailed;
}
function formatAge(seconds) {
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)}h`;
  return `${(seconds / 86400).toFixed(1)}d`;
}

export {
  verify
};
