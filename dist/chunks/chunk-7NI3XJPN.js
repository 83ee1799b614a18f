import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  RefusedError,
  UsageError,
  assertRepository,
  checkCanDecrypt,
  checkStored,
  isPostgresDatabaseEmpty,
  listBackups,
  openPlaintext,
  redactPostgresUrl,
  restoreFiles,
  restorePostgres,
  selectBackup,
  withLocks
} from "./chunk-N3PQCJXK.js";

// src/core/restore.ts
import { lstat, readdir, realpath } from "node:fs/promises";
import { resolve, sep } from "node:path";
async function restore(opts) {
  await assertRepository(opts.destination);
  return withLocks([opts.destination], "restore", false, opts.lock, opts.reporter, () => run(opts));
}
async function run(opts) {
  const { destination: dest, reporter } = opts;
  const chosen = selectBackup(await listBackups(dest, reporter), opts.selection);
  const m = chosen.manifest;
  const jobs = planJobs(m, opts);
  await assertRepositoryOutside(dest, opts.filesTarget);
  reporter.info(`Restoring ${m.id} (${m.startedAt}) from ${dest.display}`);
  for (const job of jobs) {
    if (job.artifact.kind === "postgres" && !opts.force && !await isPostgresDatabaseEmpty(job.target)) {
      throw new RefusedError(`database ${job.display} is not empty`, "restoring replaces its objects: rerun with --force if that is intended");
    }
    if (job.artifact.kind === "files" && !opts.force && !await isEmptyOrMissing(job.target)) {
      throw new RefusedError(`directory ${job.display} is not empty`, "rerun with --force to replace it (the old contents are moved away only after the restore succeeds)");
    }
  }
  for (const job of jobs) {
    if (jobs.length > 1) {
      reporter.info(`  checking ${job.artifact.name}\u2026`);
      await checkStored(dest, m.id, job.artifact);
    }
    if (opts.decrypt) await checkCanDecrypt(dest, m.id, job.artifact, opts.decrypt);
    else if (job.artifact.encryption.scheme === "age") {
      throw new UsageError(`backup ${m.id} is encrypted`, "pass --identity-file FILE or --passphrase-env NAME");
    }
  }
  const restored = [];
  for (const job of jobs) {
    reporter.info(`  restoring ${job.artifact.name} \u2192 ${job.display}`);
    const plain = await openPlaintext(dest, m.id, job.artifact, opts.decrypt);
    if (job.artifact.kind === "postgres") await restorePostgres(plain, job.target, { force: opts.force, reporter });
    else await restoreFiles(plain, job.target, { force: opts.force, reporter });
    restored.push({ name: job.artifact.name, kind: job.artifact.kind, target: job.display });
  }
  reporter.info(`Restored ${restored.length} artifact(s) from ${m.id}`);
  return { backupId: m.id, manifest: m, restored };
}
function planJobs(m, opts) {
  const names = m.artifacts.map((a) => a.name);
  for (const n of opts.only ?? []) {
    if (!names.includes(n)) throw new UsageError(`backup ${m.id} has no artifact "${n}"`, `it has: ${names.join(", ")}`);
  }
  const chosen = m.artifacts.filter((a) => !opts.only?.length || opts.only.includes(a.name));
  const jobs = [];
  for (const kind of ["postgres", "files"]) {
    const ofKind = chosen.filter((a) => a.kind === kind);
    const target = kind === "postgres" ? opts.postgresTarget : opts.filesTarget;
    const flag = kind === "postgres" ? "--postgres-target" : "--files-target";
    if (!ofKind.length) {
      if (target) throw new UsageError(`${flag} was given but the selected artifacts of ${m.id} hold no ${kind} data`, `it has: ${names.join(", ")}`);
      continue;
    }
    if (!target) {
      if (opts.only?.length) throw new UsageError(`restoring ${ofKind.map((a) => a.name).join(", ")} needs ${flag}`);
      opts.reporter.warning(`skipping ${ofKind.map((a) => a.name).join(", ")}: no ${flag} given`);
      continue;
    }
    if (ofKind.length > 1) {
      throw new UsageError(`backup ${m.id} holds several ${kind} artifacts (${ofKind.map((a) => a.name).join(", ")}) but one ${flag}`, "choose one with --only NAME");
    }
    const display = kind === "postgres" ? redactPostgresUrl(target) : resolve(target);
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
  if (!dest.localPath || !filesTarget) return;
  const real = async (p) => realpath(p).catch(() => resolve(p));
  const repo = await real(dest.localPath);
  const target = await real(resolve(filesTarget));
  if (repo === target || repo.startsWith(target + sep)) {
    throw new UsageError(
      `the files target ${resolve(filesTarget)} contains the repository ${dest.localPath}`,
      "replacing the target would delete the backups in it; restore into another directory, or keep the repository elsewhere"
    );
  }
}

export {
  restore,
  assertRepositoryOutside
};
