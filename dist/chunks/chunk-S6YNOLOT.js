import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  DATA_PREFIX,
  ExitCode,
  MANIFEST_NAME,
  NotFoundError,
  StrongboxError,
  VerificationError,
  assertEncryptedAsDeclared,
  assertRepository,
  beginActivity,
  cancelSignal,
  checkMembers,
  checkStored,
  checkTrust,
  damagedError,
  describeSignature,
  errorMessage,
  expectDigest,
  listBackups,
  objectKey,
  objectName,
  openPlaintext,
  packIdOfKey,
  packKey,
  printable,
  readRefs,
  readSignatureStatus,
  refsRecord,
  secondsSince,
  selectTrusted,
  storedLocation,
  throwIfCancelled,
  withLocks,
  withProgress
} from "./chunk-XEBPFPTJ.js";

// src/core/collection/verify-storage.ts
import { pipeline } from "node:stream/promises";
async function listPacks(dest) {
  const sizes = /* @__PURE__ */ new Map();
  for await (const o of dest.list(DATA_PREFIX)) {
    const id = packIdOfKey(o.key);
    if (id) sizes.set(id, o.size);
  }
  return sizes;
}
async function checkCollectionStorage(dest, backupId, record, o) {
  const problems = [];
  const result = { packs: 0, packsOk: 0, problems };
  let refsAt;
  try {
    refsAt = storedLocation(dest, backupId, refsRecord(record));
  } catch (err) {
    problems.push({ object: storedLocation(dest, backupId, record), problem: errorMessage(err) });
    return result;
  }
  const packs = /* @__PURE__ */ new Map();
  const ends = /* @__PURE__ */ new Map();
  try {
    for await (const l of readRefs(dest, backupId, record)) {
      if (l.t === "pack") packs.set(l.id, l);
      else ends.set(l.pack, Math.max(ends.get(l.pack) ?? 0, l.offset + l.length));
    }
  } catch (err) {
    throwIfCancelled();
    const missing = err instanceof NotFoundError;
    problems.push({ object: refsAt, problem: missing ? `refs object of backup ${backupId} is missing` : errorMessage(err) });
    return result;
  }
  result.packs = packs.size;
  for (const [id, end] of ends) {
    const p = packs.get(id);
    const where = objectName(dest, packKey(id));
    if (!p) problems.push({ object: refsAt, problem: `a blob of backup ${backupId} is in pack ${id} (${where}), which its refs do not list` });
    else if (end > p.plain) problems.push({ object: refsAt, problem: `a blob of backup ${backupId} ends at byte ${end} of pack ${id}, which holds ${p.plain} plaintext bytes` });
  }
  for (const p of packs.values()) {
    throwIfCancelled();
    const key = packKey(p.id);
    const where = objectName(dest, key);
    const size = o.packs.get(p.id);
    if (size === void 0) {
      problems.push({ object: where, problem: `pack ${p.id} of backup ${backupId} is missing` });
      continue;
    }
    if (size !== p.size) {
      problems.push({ object: where, problem: `pack ${p.id} of backup ${backupId} holds ${size} bytes, its refs say ${p.size}` });
      continue;
    }
    if (o.readBack) {
      try {
        await readBackPack(dest, key, p, o.progress, o.label);
      } catch (err) {
        throwIfCancelled();
        problems.push({ object: where, problem: `pack ${p.id} of backup ${backupId}: ${errorMessage(err)}` });
        continue;
      }
    }
    result.packsOk++;
  }
  return result;
}
async function readBackPack(dest, key, p, progress, label = "verify") {
  const check = expectDigest(
    { size: p.size, sha256: p.sha256 },
    (actual) => new Error(`stored bytes do not match its refs: ${actual.size} bytes with SHA-256 ${actual.sha256.slice(0, 16)}\u2026, expected ${p.size} bytes with ${p.sha256.slice(0, 16)}\u2026`)
  );
  const source = await dest.get(key);
  await withProgress(
    progress,
    { label: `${label} pack ${printable(p.id.slice(0, 8))}`, total: p.size, done: () => check.size },
    () => pipeline(source, check, async (s) => {
      for await (const _ of s) {
      }
    }, { signal: cancelSignal() })
  );
}

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
  let packSizes;
  const collectionRows = /* @__PURE__ */ new Map();
  for (const a of m.artifacts) {
    if (a.collection) {
      packSizes ??= await listPacks(dest);
      const c = await checkCollectionStorage(dest, m.id, a, { packs: packSizes, readBack: true, progress: reporter.progress, label: `verify ${printable(a.name)}` });
      for (const p of c.problems) problem({ artifact: a.name, ...p });
      if (!c.problems.length) reporter.info(`  ok ${printable(a.name)}: refs and ${c.packs} pack(s) (present, sizes and SHA-256 as recorded)`);
      collectionRows.set(a.name, { total: c.packs, ok: c.packsOk });
    }
    const where = storedLocation(dest, m.id, a);
    const packs = collectionRows.get(a.name);
    const row = { name: a.name, kind: a.kind, object: where, storedOk: false, ...packs ? { packs } : {} };
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
        if (a.collection) row.membersChecked = (await checkMembers(dest, m.id, a, opts.decrypt)).members;
        row.storedOk = row.plaintextOk = true;
      } else {
        await checkStored(dest, m.id, a, progressOf(a));
        row.storedOk = true;
      }
      reporter.info(`  ok ${printable(a.name)} [${printable(a.kind)}] (${where})${row.membersChecked !== void 0 ? `: ${row.membersChecked} members read back and checked` : ""}`);
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
