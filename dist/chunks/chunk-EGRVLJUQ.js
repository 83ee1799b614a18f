import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  RefusedError,
  UsageError,
  VerificationError,
  assertEncryptedAsDeclared,
  assertRepository,
  beginActivity,
  checkCanDecrypt,
  checkRestoreTarget,
  checkStored,
  checkTrust,
  describeArtifact,
  fetchVerified,
  inspectTarget,
  isPostgresDatabaseEmpty,
  listBackups,
  openPlaintext,
  printable,
  redactPostgresUrl,
  refuseMountPoint,
  reportSignature,
  restoreFiles,
  restorePostgres,
  selectTrusted,
  throwIfCancelled,
  warnNewerDamaged,
  withLocks
} from "./chunk-3L74FC7T.js";

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
import { lstat, readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
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
      `backup ${m.id} is damaged: ${missing.map((j) => `${printable(j.artifact.name)} (${dest.display}/${m.id}/${printable(j.artifact.key)}) is missing`).join(", ")}; nothing was written`,
      "restore another backup (strongbox list) and check the storage"
    );
  }
  await assertRepositoryOutside(dest, opts.filesTarget);
  reporter.info(`Restoring ${m.id} (${m.startedAt}) from ${dest.display}`);
  activity.what = `restore of ${m.id}`;
  for (const job of jobs) {
    if (job.artifact.kind === "postgres" && !opts.force && !await isPostgresDatabaseEmpty(job.target)) {
      throw new RefusedError(`database ${job.display} is not empty`, "restoring replaces its objects: rerun with --force if that is intended");
    }
    if (job.artifact.kind === "files") await checkRestoreTarget(job.target);
    if (job.artifact.kind === "files" && !opts.force && !await isEmptyOrMissing(job.target)) {
      throw new RefusedError(`directory ${job.display} is not empty`, "rerun with --force to replace it (the old contents are moved away only after the restore succeeds)");
    }
  }
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
    if (job.artifact.kind === "postgres") {
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
    if (job.artifact.kind === "postgres") await restorePostgres(plain, job.target, { force: opts.force, reporter, lockTimeoutMs: opts.dbLockTimeoutMs });
    else await restoreFiles(plain, job.target, { force: opts.force, reporter });
    restored.push({ name: job.artifact.name, kind: job.artifact.kind, target: job.display });
    const left = jobs.slice(restored.length).map((j) => `${printable(j.artifact.name)} \u2192 ${j.display}`);
    activity.outcome = `${restored.map((r) => `${printable(r.name)} \u2192 ${r.target}`).join(", ")} had been restored${left.length ? `; ${left.join(", ")} ${left.length > 1 ? "were" : "was"} left unchanged` : ""}`;
  }
  reporter.info(`Restored ${restored.length} artifact(s) from ${m.id}`);
  return { backupId: m.id, manifest: m, restored };
}
function restoreNeeds(opts) {
  const kinds = [];
  if (opts.postgresTarget) kinds.push("postgres");
  if (opts.filesTarget) kinds.push("files");
  return { kinds, names: opts.only ?? [] };
}
function planJobs(m, opts) {
  const names = m.artifacts.map((a) => a.name);
  const has = `it has: ${m.artifacts.map(describeArtifact).join(", ")}`;
  for (const n of opts.only ?? []) {
    if (!names.includes(n)) throw new UsageError(`backup ${m.id} has no artifact "${printable(n)}"`, has);
  }
  const chosen = m.artifacts.filter((a) => !opts.only?.length || opts.only.includes(a.name));
  const jobs = [];
  for (const kind of ["postgres", "files"]) {
    const ofKind = chosen.filter((a) => a.kind === kind);
    const target = kind === "postgres" ? opts.postgresTarget : opts.filesTarget;
    const flag = kind === "postgres" ? "--postgres-target" : "--files-target";
    if (!ofKind.length) {
      if (target) throw new UsageError(`${flag} was given but the selected artifacts of ${m.id} hold no ${kind} data`, has);
      continue;
    }
    if (!target) {
      if (opts.only?.length) throw new UsageError(`restoring ${ofKind.map((a) => printable(a.name)).join(", ")} needs ${flag}`);
      opts.reporter.warning(`skipping ${ofKind.map((a) => printable(a.name)).join(", ")}: no ${flag} given`);
      continue;
    }
    if (ofKind.length > 1) {
      throw new UsageError(`backup ${m.id} holds several ${kind} artifacts (${ofKind.map(describeArtifact).join(", ")}) but one ${flag}`, "choose one with --only NAME");
    }
    const display = printable(kind === "postgres" ? redactPostgresUrl(target) : resolve(target));
    jobs.push({ artifact: ofKind[0], target: kind === "files" ? resolve(target) : target, display });
  }
  if (!jobs.length) throw new UsageError("nothing to restore: no target given", "pass --postgres-target URL and/or --files-target DIR");
  return jobs;
}
async function isEmptyOrMissing(dir) {
  try {
    if (!(await lstat(dir)).isDirectory()) return false;
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if (err.code === "ENOENT") return true;
    throw err;
  }
}
async function assertRepositoryOutside(dest, filesTarget) {
  if (!filesTarget) return;
  const target = resolve(filesTarget);
  const found = await inspectTarget(target, dest.localPath);
  if (found.repository !== void 0) {
    const where = found.repository === "" ? "" : ` (as ${printable(join(target, found.repository))}, the same directory by device and inode)`;
    throw new UsageError(
      `the files target ${printable(target)} contains the repository ${dest.display}${where}`,
      "replacing the target would delete the backups in it; restore into another directory, or keep the repository elsewhere"
    );
  }
  await refuseMountPoint(target);
  if (found.mountPoints.length) {
    const shown = found.mountPoints.slice(0, 5).map(printable).join(", ");
    const more = found.mountPoints.length > 5 ? ` and ${found.mountPoints.length - 5} more` : "";
    throw new RefusedError(
      `the files target ${printable(target)} has a file system mounted below it (${shown}${more}): replacing the target would move the mounted volume aside with the old contents and delete its data; nothing was changed`,
      "restore into a new directory instead, or unmount it and rerun; do not delete the target to make room, that would delete the data on the mounted volume"
    );
  }
}

export {
  releaseOf,
  describeRelease,
  restore,
  restoreNeeds,
  assertRepositoryOutside
};
