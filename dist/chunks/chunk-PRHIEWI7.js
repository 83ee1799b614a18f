import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  verify
} from "./chunk-2RPSDHQG.js";
import {
  ExitCode,
  NoRepositoryError,
  NotFoundError,
  StrongboxError,
  errorMessage,
  isBackupId,
  readManifestWithBytes
} from "./chunk-R3K3UYMI.js";

// src/core/verify-across.ts
import { Buffer } from "node:buffer";
async function verifyAcross(opts) {
  const [first, ...rest] = opts.destinations;
  if (!first || !rest.length) throw new StrongboxError("verifyAcross needs two or more locations");
  const { reporter } = opts;
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
  return { ok, backupId, consistent, locations, problems, exitCode };
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

export {
  verifyAcross
};
