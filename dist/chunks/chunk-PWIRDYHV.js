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
  damagedError,
  describeSignature,
  errorMessage,
  listBackups,
  objectKey,
  objectName,
  openPlaintext,
  printable,
  readSignatureStatus,
  secondsSince,
  selectTrusted,
  storedLocation,
  throwIfCancelled,
  withLocks
} from "./chunk-ANRYAQVA.js";

// src/core/verify.ts
async function verify(opts) {
  await assertRepository(opts.destination);
  return withLocks([opts.destination], "verify", false, opts.lock, opts.reporter, () => {
    const activity = beginActivity(`verify of ${opts.selector} at ${opts.destination.display}`, "nothing was changed");
    return run(opts, activity).finally(() => activity.end());
  });
}
async function run(opts, activity) {
  const { destination: dest, reporter } = opts;
  const now = (opts.now ?? (() => /* @__PURE__ */ new Date()))();
  const progressOf = (a) => ({ progress: reporter.progress, label: `verify ${printable(a.name)}` });
  const entries = await listBackups(dest, reporter);
  const damaged = entries.filter((e) => e.damaged);
  const named = damaged.find((e) => e.id === opts.selector);
  if (named || !entries.some((e) => e.complete) && damaged.length) {
    throw damagedError(named ? [named] : damaged.reverse(), { where: dest.display, otherwise: named ? "choose another backup (strongbox list shows them all)" : void 0 });
  }
  if (!entries.some((e) => e.complete)) {
    throw new NotFoundError(`no complete backup at ${dest.display}`, "run a backup first, or check the destination");
  }
  const chosen = await selectTrusted(dest, entries, { selector: opts.selector }, opts.trusted, reporter);
  const m = chosen.manifest;
  activity.what = `verify of ${m.id} at ${dest.display}`;
  const manifestAt = `${objectName(dest, objectKey(m.id, MANIFEST_NAME))}`;
  const problems = [];
  let headerShown = false;
  const show = (p) => reporter.error(`FAILED ${p.artifact ? `${p.artifact} ` : ""}${p.object ? `(${p.object})` : `backup ${m.id}`}: ${p.problem}`);
  const problem = (p, exitCode2 = ExitCode.verifyFailed) => {
    problems.push({ ...p, exitCode: exitCode2 });
    if (headerShown) show(p);
  };
  const ageSeconds = (now.getTime() - Date.parse(m.finishedAt)) / 1e3;
  if (opts.maxAgeMs !== void 0 && ageSeconds * 1e3 > opts.maxAgeMs) {
    problem({ problem: `backup ${m.id} finished ${formatAge(ageSeconds)} ago, older than the allowed ${formatAge(opts.maxAgeMs / 1e3)}` });
  }
  if (opts.selector === "latest") {
    for (const e of entries) {
      if (e.damaged && e.time > chosen.time) problem({ object: objectName(dest, `${e.id}/manifest.json`), problem: `newer backup ${e.id} is unreadable: ${e.damaged} (${e.damagedHint})` });
    }
  }
  const deep = opts.deep || opts.decrypt !== void 0;
  if (deep && !opts.deep) reporter.info("A key was given, so this is a deep verification: every artifact is decrypted and its plaintext checked");
  const manifestProblems = [];
  let signature = { signed: false };
  try {
    signature = await checkTrust(dest, chosen, opts.trusted);
  } catch (err) {
    if (!(err instanceof VerificationError)) throw err;
    manifestProblems.push(err.message);
    const found = await readSignatureStatus(dest, chosen);
    signature = found.signed && !found.unreadable && found.valid !== false ? { ...found, trusted: false } : found;
  }
  let encryptionOk = true;
  try {
    assertEncryptedAsDeclared(m, dest.display, opts.decrypt);
  } catch (err) {
    if (!(err instanceof VerificationError)) throw err;
    encryptionOk = false;
    manifestProblems.push(err.message);
  }
  for (const p of manifestProblems) problem({ object: manifestAt, problem: p });
  reporter.info(`Verifying ${m.id} at ${dest.display}${deep ? " (deep: decrypting)" : ""}; ${describeSignature(signature, !!opts.trusted?.length)}`);
  headerShown = true;
  for (const p of problems) show(p);
  const artifacts = [];
  const present = new Map(chosen.objects.map((o) => [o.key, o.size]));
  for (const a of m.artifacts) {
    const where = storedLocation(dest, m.id, a);
    const row = { name: a.name, kind: a.kind, object: where, storedOk: false };
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
        const plain = await openPlaintext(dest, m.id, a, opts.decrypt, void 0, progressOf(a));
        for await (const _ of plain) {
        }
        row.storedOk = row.plaintextOk = true;
      } else {
        await checkStored(dest, m.id, a, progressOf(a));
        row.storedOk = true;
      }
      reporter.info(`  ok ${printable(a.name)} [${printable(a.kind)}] (${where})`);
    } catch (err) {
      throwIfCancelled();
      problem({ artifact: a.name, object: where, problem: errorMessage(err) }, err instanceof StrongboxError ? exitFor(err) : ExitCode.verifyFailed);
    }
  }
  const exitCode = problems.some((p) => p.exitCode === ExitCode.wrongKey) ? ExitCode.wrongKey : problems.length ? ExitCode.verifyFailed : ExitCode.ok;
  const durationSeconds = secondsSince(now, opts.now);
  return { ok: problems.length === 0, backupId: m.id, finishedAt: m.finishedAt, ageSeconds, deep, artifacts, problems, signature, exitCode, durationSeconds };
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
