import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  RefusedError,
  UsageError,
  VerificationError,
  assertEncryptedAsDeclared,
  assertRepository,
  beginActivity,
  checkCanDecrypt,
  checkStored,
  checkTrust,
  describeArtifact,
  fetchVerified,
  findSourceAdapter,
  listBackups,
  objectName,
  openPlaintext,
  printable,
  reportSignature,
  selectTrusted,
  sourceAdapter,
  sourceAdapters,
  throwIfCancelled,
  warnNewerDamaged,
  withLocks
} from "./chunk-R3K3UYMI.js";

// src/core/release.ts
function releaseOf(origin) {
  const o = origin ?? {};
  const deployed = !!o.deployedSha;
  return {
    gitSha: deployed ? o.deployedSha : o.sha,
    // A recorded deployed sha comes with its own ref (or none): never pair it with the run's ref.
    gitRef: deployed ? o.deployedRef : o.ref,
    gitShaSource: deployed ? "deployed-sha" : o.sha ? "backup-run" : "none",
    backupRunSha: o.sha,
    backupRunRef: o.ref
  };
}
function describeRelease(r) {
  if (!r.gitSha) return "no git sha recorded";
  const why = r.gitShaSource === "deployed-sha" ? "the recorded deployed sha" : "no deployed sha recorded: the sha of the run that took it";
  return `release to redeploy: git ${r.gitSha.slice(0, 12)}${r.gitRef ? ` ${r.gitRef}` : ""} (${why})`;
}

// src/core/restore.ts
async function restore(opts) {
  await assertRepository(opts.destination);
  const activity = beginActivity(`restore from ${opts.destination.display}`, "the targets were left unchanged");
  return withLocks([opts.destination], "restore", false, opts.lock, opts.reporter, () => run(opts, activity)).finally(() => activity.end());
}
async function run(opts, activity) {
  const { destination: dest, reporter } = opts;
  const entries = await listBackups(dest, reporter);
  const chosen = await selectTrusted(dest, entries, { ...opts.selection, needs: restoreNeeds(opts) }, opts.trusted, reporter);
  warnNewerDamaged(entries, chosen, opts.selection.selector, reporter);
  const m = chosen.manifest;
  reportSignature(m.id, await checkTrust(dest, chosen, opts.trusted), !!opts.trusted?.length, reporter);
  assertEncryptedAsDeclared(m, dest.display, opts.decrypt);
  const jobs = planJobs(m, opts);
  const present = new Set(chosen.objects.map((o) => o.key));
  const missing = jobs.filter((j) => !present.has(`${m.id}/${j.artifact.key}`));
  if (missing.length) {
    throw new VerificationError(
      `backup ${m.id} is damaged: ${missing.map((j) => `${printable(j.artifact.name)} (${objectName(dest, `${m.id}/${printable(j.artifact.key)}`)}) is missing`).join(", ")}; nothing was written`,
      "restore another backup (strongbox list) and check the storage"
    );
  }
  const ctx = targetContext(opts);
  for (const job of jobs) {
    await job.adapter.checkTarget(job.target, ctx);
    if (!opts.force && !await job.adapter.isTargetEmpty(job.target, ctx)) {
      throw new RefusedError(`${job.adapter.targetNoun} ${job.display} is not empty`, job.adapter.replaceHint);
    }
  }
  reporter.info(`Restoring ${m.id} (${m.startedAt}) from ${dest.display}`);
  activity.what = `restore of ${m.id}`;
  const locals = /* @__PURE__ */ new Map();
  try {
    return await restoreJobs(opts, m, jobs, locals, activity);
  } finally {
    for (const copy of locals.values()) await copy.remove();
  }
}
async function restoreJobs(opts, m, jobs, locals, activity) {
  const { destination: dest, reporter } = opts;
  for (const job of jobs) {
    if (job.artifact.encryption.scheme === "age" && !opts.decrypt) {
      throw new UsageError(`backup ${m.id} is encrypted`, "pass --identity-file FILE or --passphrase-env NAME");
    }
    if (opts.decrypt) await checkCanDecrypt(dest, m.id, job.artifact, opts.decrypt);
    if (job.adapter.verifyBeforeRestore) {
      reporter.info(`  downloading ${printable(job.artifact.name)} (${job.artifact.stored.size} bytes) and checking its SHA-256\u2026`);
      locals.set(job, await fetchVerified(dest, m.id, job.artifact));
    } else if (jobs.length > 1) {
      reporter.info(`  checking ${printable(job.artifact.name)}\u2026`);
      await checkStored(dest, m.id, job.artifact);
    }
  }
  const restored = [];
  for (const job of jobs) {
    throwIfCancelled();
    reporter.info(`  restoring ${describeArtifact(job.artifact)} \u2192 ${job.display}`);
    const plain = await openPlaintext(dest, m.id, job.artifact, opts.decrypt, locals.get(job));
    try {
      await job.adapter.restore(plain, job.target, job.artifact, targetContext(opts));
    } catch (err) {
      plain.destroy();
      throw err;
    }
    restored.push({ name: job.artifact.name, kind: job.artifact.kind, target: job.display });
    const left = jobs.slice(restored.length).map((j) => `${printable(j.artifact.name)} \u2192 ${j.display}`);
    activity.outcome = `${restored.map((r) => `${printable(r.name)} \u2192 ${r.target}`).join(", ")} had been restored${left.length ? `; ${left.join(", ")} ${left.length > 1 ? "were" : "was"} left unchanged` : ""}`;
  }
  reporter.info(`Restored ${restored.length} artifact(s) from ${m.id}`);
  return { backupId: m.id, manifest: m, restored };
}
function targetContext(opts) {
  return {
    reporter: opts.reporter,
    force: opts.force,
    lockTimeoutMs: opts.dbLockTimeoutMs,
    ...opts.pgBin ? { pgBin: opts.pgBin } : {},
    repository: { localPath: opts.destination.localPath, display: opts.destination.display }
  };
}
function restoreNeeds(opts) {
  return { kinds: givenKinds(opts.targets), names: opts.only ?? [] };
}
function givenKinds(targets) {
  return Object.keys(targets).filter((k) => targets[k] !== void 0);
}
var targetFlags = () => sourceAdapters.map((a) => `${a.targetFlag} \u2026`).join(", ");
function planJobs(m, opts) {
  const names = m.artifacts.map((a) => a.name);
  const has = `it has: ${m.artifacts.map(describeArtifact).join(", ")}`;
  for (const n of opts.only ?? []) {
    if (!names.includes(n)) throw new UsageError(`backup ${m.id} has no artifact "${printable(n)}"`, has);
  }
  for (const kind of givenKinds(opts.targets)) sourceAdapter(kind);
  const chosen = m.artifacts.filter((a) => !opts.only?.length || opts.only.includes(a.name));
  for (const a of chosen) if (!findSourceAdapter(a.kind) && opts.only?.includes(a.name)) sourceAdapter(a.kind);
  const jobs = [];
  for (const adapter of sourceAdapters) {
    const { kind, targetFlag: flag } = adapter;
    const ofKind = chosen.filter((a) => a.kind === kind);
    const target = opts.targets[kind];
    if (!ofKind.length) {
      if (target !== void 0) throw new UsageError(`${flag} was given but the selected artifacts of ${m.id} hold no ${kind} data`, has);
      continue;
    }
    if (target === void 0) {
      if (opts.only?.length) throw new UsageError(`restoring ${ofKind.map((a) => printable(a.name)).join(", ")} needs ${flag}`);
      opts.reporter.warning(`skipping ${ofKind.map((a) => printable(a.name)).join(", ")}: no ${flag} given`);
      continue;
    }
    if (ofKind.length > 1) {
      throw new UsageError(`backup ${m.id} holds several ${kind} artifacts (${ofKind.map(describeArtifact).join(", ")}) but one ${flag}`, "choose one with --only NAME");
    }
    jobs.push({ artifact: ofKind[0], adapter, target: adapter.normalizeTarget(target), display: adapter.displayTarget(target) });
  }
  if (!jobs.length) throw new UsageError("nothing to restore: no target given", `pass one of ${targetFlags()}`);
  return jobs;
}

export {
  releaseOf,
  describeRelease,
  restore,
  targetContext,
  restoreNeeds
};
