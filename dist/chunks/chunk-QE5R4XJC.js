import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  NotFoundError,
  assertRepository,
  checkStored,
  errorMessage,
  listBackups,
  objectKey,
  openPlaintext,
  selectBackup,
  storedLocation,
  withLocks
} from "./chunk-N3PQCJXK.js";

// src/core/verify.ts
async function verify(opts) {
  await assertRepository(opts.destination);
  return withLocks([opts.destination], "verify", false, opts.lock, opts.reporter, () => run(opts));
}
async function run(opts) {
  const { destination: dest, reporter } = opts;
  const now = (opts.now ?? (() => /* @__PURE__ */ new Date()))();
  const entries = await listBackups(dest, reporter);
  if (!entries.some((e) => e.complete)) {
    throw new NotFoundError(`no complete backup at ${dest.display}`, "run a backup first, or check the destination");
  }
  const chosen = selectBackup(entries, { selector: opts.selector });
  const m = chosen.manifest;
  const problems = [];
  const ageSeconds = (now.getTime() - Date.parse(m.finishedAt)) / 1e3;
  if (opts.maxAgeMs !== void 0 && ageSeconds * 1e3 > opts.maxAgeMs) {
    problems.push({ problem: `backup ${m.id} finished ${formatAge(ageSeconds)} ago, older than the allowed ${formatAge(opts.maxAgeMs / 1e3)}` });
  }
  if (opts.selector === "latest") {
    for (const e of entries) {
      if (e.damaged && e.time > chosen.time) problems.push({ object: `${dest.display}/${e.id}/manifest.json`, problem: `newer backup ${e.id} is unreadable: ${e.damaged}` });
    }
  }
  reporter.info(`Verifying ${m.id} at ${dest.display}${opts.deep ? " (deep: decrypting)" : ""}`);
  const artifacts = [];
  const present = new Map(chosen.objects.map((o) => [o.key, o.size]));
  for (const a of m.artifacts) {
    const where = storedLocation(dest, m.id, a);
    const row = { name: a.name, object: where, storedOk: false };
    artifacts.push(row);
    const size = present.get(objectKey(m.id, a.key));
    if (size === void 0) {
      problems.push({ artifact: a.name, object: where, problem: "object is missing" });
      continue;
    }
    if (size !== a.stored.size) {
      problems.push({ artifact: a.name, object: where, problem: `object holds ${size} bytes, the manifest says ${a.stored.size}` });
      continue;
    }
    try {
      if (opts.deep && (opts.decrypt !== void 0 || a.encryption.scheme === "none")) {
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
      problems.push({ artifact: a.name, object: where, problem: errorMessage(err) });
      reporter.error(`  FAILED ${a.name}: ${errorMessage(err)}`);
    }
  }
  return { ok: problems.length === 0, backupId: m.id, finishedAt: m.finishedAt, ageSeconds, deep: opts.deep, artifacts, problems };
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
