import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  Minimatch,
  RefusedError,
  UsageError,
  VerificationError,
  assertEncryptedAsDeclared,
  assertRepository,
  beginActivity,
  bucketTarget,
  checkCanDecrypt,
  checkStored,
  checkTrust,
  describeArtifact,
  fetchVerified,
  findSourceAdapter,
  given,
  listBackups,
  maskLocation,
  objectName,
  openLocations,
  openMembers,
  openPlaintext,
  originFromEnv,
  parseDuration,
  passphraseFromEnv,
  printable,
  readIndex,
  reportSignature,
  resolveDbLockTimeout,
  resolveDecryption,
  resolveLock,
  resolvePgBin,
  resolveSigningConfig,
  resolveTrust,
  secondsSince,
  secretFromEnv,
  selectTrusted,
  sourceAdapter,
  sourceAdapters,
  throwIfCancelled,
  urlsFromEnv,
  validateRecipient,
  warnNewerDamaged,
  warnPasswordInArgv,
  withLocks
} from "./chunk-XEBPFPTJ.js";

// src/core/path-select.ts
var PathSelection = class {
  patterns;
  constructor(patterns) {
    this.patterns = patterns.map((p) => {
      const text = p.trim().replace(/^\.\/+/, "").replace(/\/+$/, "");
      return { text, glob: new Minimatch(text, { dot: true }), matched: false };
    });
    for (const p of this.patterns) if (!p.text) throw new UsageError("--path needs a pattern", 'e.g. --path docs/report.pdf, --path "photos/2026/**" or --path photos');
  }
  select = (name) => {
    const parts = name.split("/");
    let hit = false;
    for (const p of this.patterns) {
      for (let i = 1; i <= parts.length; i++) {
        if (p.glob.match(parts.slice(0, i).join("/"))) {
          p.matched = true;
          hit = true;
          break;
        }
      }
    }
    return hit;
  };
  /** Throws a UsageError naming every pattern that has selected nothing so far. */
  assertAllMatched = (what) => {
    const none = this.patterns.filter((p) => !p.matched);
    if (!none.length) return;
    throw new UsageError(`--path ${none.map((p) => `"${printable(p.text)}"`).join(", ")} matched nothing in ${what}; nothing was written`, 'names are relative to the backed-up tree (or bucket prefix), without a leading slash: docs/report.pdf, photos, "photos/**/*.jpg"');
  };
};

// src/core/restore.ts
var intoMode = (opts) => !!opts.paths?.length || !!opts.dryRun;
async function restore(opts) {
  await assertRepository(opts.destination);
  const activity = beginActivity(`restore from ${opts.destination.display}`, "the targets were left unchanged");
  return withLocks([opts.destination], "restore", false, opts.lock, opts.reporter, () => run(opts, activity)).finally(() => activity.end());
}
async function selectFrom(dest, opts) {
  const entries = await listBackups(dest, opts.reporter);
  const chosen = await selectTrusted(dest, entries, { ...opts.selection, needs: restoreNeeds(opts) }, opts.trusted, opts.reporter);
  warnNewerDamaged(entries, chosen, opts.selection.selector, opts.reporter);
  return chosen;
}
async function run(opts, activity) {
  const { destination: dest, reporter } = opts;
  const started = (opts.now ?? (() => /* @__PURE__ */ new Date()))();
  const chosen = opts.chosen ?? await selectFrom(dest, opts);
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
    if (intoMode(opts) && !canWriteInto(job)) {
      throw new UsageError(`${opts.paths?.length ? "--path" : "--dry-run"} works for file trees and buckets, not for ${printable(job.artifact.name)} (${printable(job.artifact.kind)})`, "restore that artifact in full, or leave it out with --only");
    }
    await job.adapter.checkTarget(job.target, ctx);
    if (!intoMode(opts) && !opts.force && !await job.adapter.isTargetEmpty(job.target, ctx)) {
      throw new RefusedError(`${job.adapter.targetNoun} ${job.display} is not empty`, job.adapter.replaceHint);
    }
  }
  reporter.info(`Restoring ${m.id} (${m.startedAt}) from ${dest.display}`);
  activity.what = `restore of ${m.id}`;
  const locals = /* @__PURE__ */ new Map();
  try {
    return await restoreJobs(opts, m, jobs, locals, activity, started);
  } finally {
    for (const copy of locals.values()) await copy.remove();
  }
}
async function restoreJobs(opts, m, jobs, locals, activity, started) {
  const { destination: dest, reporter } = opts;
  const show = (verb, job) => ({ progress: reporter.progress, label: `${verb} ${printable(job.artifact.name)}` });
  for (const job of jobs) {
    if (job.artifact.encryption.scheme === "age" && !opts.decrypt) {
      throw new UsageError(`backup ${m.id} is encrypted`, "pass --identity-file FILE or --passphrase-env NAME");
    }
    if (opts.decrypt) await checkCanDecrypt(dest, m.id, job.artifact, opts.decrypt);
    if (job.adapter.verifyBeforeRestore) {
      reporter.info(`  downloading ${printable(job.artifact.name)} (${job.artifact.stored.size} bytes) and checking its SHA-256\u2026`);
      locals.set(job, await fetchVerified(dest, m.id, job.artifact, show("download", job)));
    } else if (jobs.length > 1) {
      reporter.info(`  checking ${printable(job.artifact.name)}\u2026`);
      await checkStored(dest, m.id, job.artifact, show("check", job));
    }
  }
  const restored = [];
  for (const job of jobs) {
    throwIfCancelled();
    reporter.info(`  ${opts.dryRun ? "checking what a restore of" : "restoring"} ${describeArtifact(job.artifact)} ${opts.dryRun ? "would change in" : "\u2192"} ${job.display}`);
    const written = await restoreJob(opts, m, job, locals.get(job), show("restore", job));
    restored.push({ name: job.artifact.name, kind: job.artifact.kind, target: job.display, ...job.artifact.collection ? { members: job.artifact.collection.members } : {}, ...written ? { written } : {} });
    const left = jobs.slice(restored.length).map((j) => `${printable(j.artifact.name)} \u2192 ${j.display}`);
    activity.outcome = `${restored.map((r) => `${printable(r.name)} \u2192 ${r.target}`).join(", ")} had been restored${left.length ? `; ${left.join(", ")} ${left.length > 1 ? "were" : "was"} left unchanged` : ""}`;
  }
  const durationSeconds = secondsSince(started, opts.now);
  if (opts.dryRun) reporter.info(`Dry run: nothing was written (${m.id})`);
  else reporter.info(`Restored ${restored.length} artifact(s) from ${m.id} in ${durationSeconds.toFixed(1)} s`);
  return { backupId: m.id, manifest: m, restored, durationSeconds, ...opts.dryRun ? { dryRun: true } : {} };
}
function canWriteInto(job) {
  return job.adapter.restoreInto !== void 0 || !!job.artifact.collection && !job.asFile && job.adapter.collection?.restoreMembers !== void 0;
}
async function restoreJob(opts, m, job, local, show) {
  const { destination: dest } = opts;
  const a = job.artifact;
  const ctx = targetContext(opts);
  const restoreArtifact = a;
  const paths = opts.paths?.length ? new PathSelection(opts.paths) : void 0;
  const what = `${printable(a.name)} of backup ${m.id}`;
  if (a.collection) {
    if (paths) {
      const { members: members2 } = await readIndex(dest, m.id, a, opts.decrypt);
      for await (const member of members2) paths.select(member.name);
      paths.assertAllMatched(what);
    }
    const select = paths ? { select: paths.select } : {};
    const own = !job.asFile && job.adapter.collection?.restoreMembers;
    if (own) return job.adapter.collection.restoreMembers({ [Symbol.asyncIterator]: () => openMembers(dest, m.id, a, opts.decrypt, select) }, job.target, restoreArtifact, { ...ctx, dryRun: !!opts.dryRun });
    const members = openMembers(dest, m.id, a, opts.decrypt, { ...select, root: true });
    if (!job.adapter.fromMembers) throw new UsageError(`${printable(a.name)} is a collection, and ${job.adapter.targetFlag} cannot take one`);
    const plain2 = job.adapter.fromMembers(members, job.asFile);
    return runAdapter(opts, job, plain2, restoreArtifact, ctx, paths, what);
  }
  const plain = await openPlaintext(dest, m.id, a, opts.decrypt, local, show);
  const reopen = () => openPlaintext(dest, m.id, a, opts.decrypt, local, { ...show, label: `${show.label} (again)` });
  return runAdapter(opts, job, plain, restoreArtifact, ctx, paths, what, reopen);
}
async function runAdapter(opts, job, plain, artifact, ctx, paths, what, reopen) {
  try {
    if (intoMode(opts)) {
      return await job.adapter.restoreInto(plain, job.target, artifact, {
        ...ctx,
        dryRun: !!opts.dryRun,
        ...paths ? { select: paths.select, beforeWrite: () => paths.assertAllMatched(what) } : {},
        ...reopen ? { reopen } : {}
      });
    }
    await job.adapter.restore(plain, job.target, artifact, ctx);
    return void 0;
  } catch (err) {
    plain.destroy();
    throw err;
  }
}
function targetContext(opts) {
  return {
    reporter: opts.reporter,
    force: opts.force,
    lockTimeoutMs: opts.dbLockTimeoutMs,
    ...opts.pgBin ? { pgBin: opts.pgBin } : {},
    ...opts.bucket ? { bucket: opts.bucket } : {},
    repository: { localPath: opts.destination.localPath, display: opts.destination.display }
  };
}
function restoreNeeds(opts) {
  const names = opts.only ?? [];
  const kinds = givenKinds(opts.targets).filter((k) => !(k === "files" && names.length));
  return { kinds, names };
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
  const files = findSourceAdapter("files");
  const asFiles = files && opts.targets.files !== void 0 && !chosen.some((a) => a.kind === "files") ? sourceAdapters.filter((ad) => ad.kind !== "files" && ad.collection?.asFile && opts.targets[ad.kind] === void 0 && chosen.some((a) => a.kind === ad.kind && a.collection)) : [];
  for (const adapter of sourceAdapters) {
    const { kind, targetFlag: flag } = adapter;
    const ofKind = chosen.filter((a) => a.kind === kind);
    const target = opts.targets[kind];
    if (asFiles.includes(adapter)) {
      if (ofKind.length > 1) throw new UsageError(`backup ${m.id} holds several ${kind} artifacts (${ofKind.map(describeArtifact).join(", ")}) but one --files-target`, "choose one with --only NAME");
      const t = opts.targets.files;
      jobs.push({ artifact: ofKind[0], adapter: files, target: files.normalizeTarget(t), display: files.displayTarget(t), asFile: adapter.collection.asFile.bind(adapter.collection) });
      continue;
    }
    if (kind === "files" && !ofKind.length && asFiles.length) continue;
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

// src/config/read.ts
var keyGiven = (flags) => flags.identityFile !== void 0 || flags.identity !== void 0 || flags.passphraseEnv !== void 0 || flags.passphrase !== void 0;
async function resolveKey(flags, file, env, reporter) {
  if (keyGiven(flags) || !file?.decryption) {
    const pass = flags.passphrase !== void 0 ? { passphrase: flags.passphrase, passphraseSource: flags.passphraseSource } : passphraseFromEnv(flags.passphraseEnv, env);
    return resolveDecryption({ identityFile: flags.identityFile, identity: flags.identity, ...pass }, reporter);
  }
  const d = file.decryption;
  const identity = d.identityEnv !== void 0 ? secretFromEnv(d.identityEnv, env, file.where(["decryption", "identity-env"]), "the age identity (AGE-SECRET-KEY-1\u2026)", reporter) : void 0;
  const passphrase = d.passphraseEnv !== void 0 ? secretFromEnv(d.passphraseEnv, env, file.where(["decryption", "passphrase-env"]), "the passphrase", void 0) : void 0;
  return resolveDecryption({ identityFile: d.identityFile, identity, passphrase, passphraseSource: d.passphraseEnv !== void 0 ? `$${d.passphraseEnv}` : void 0 }, reporter);
}
function resolveTrusted(flags, file) {
  if (given(flags.trustFiles) || given(flags.trustedKeys)) return resolveTrust({ trustFiles: flags.trustFiles, trustedKeys: flags.trustedKeys });
  return resolveTrust({ trustFiles: file?.trust ?? [] });
}
function resolveTargets(t, env, reporter) {
  const url = (kind, value, envName) => {
    const flag = `--${kind}-target`;
    if (value !== void 0 && envName !== void 0) throw new UsageError(`${flag} and ${flag}-env both name the target database`, "give one of them");
    const u = envName !== void 0 ? urlsFromEnv([envName], env, `${flag}-env`)[0] : value;
    if (u !== void 0) maskLocation(kind, u, reporter);
    if (value !== void 0 && t.argv) warnPasswordInArgv(value, flag, `${flag}-env`, reporter, kind);
    return u;
  };
  return { postgres: url("postgres", t.postgresTarget, t.postgresTargetEnv), mysql: url("mysql", t.mysqlTarget, t.mysqlTargetEnv), sqlite: t.sqliteTarget, files: t.filesTarget, ...t.bucketTarget !== void 0 ? { bucket: t.bucketTarget.trim() } : {} };
}
function fromLocation(s, file, env, reporter) {
  return openLocations(s.from !== void 0 ? [s.from] : void 0, file?.destinations.slice(0, 1) ?? [], s, "--from", file, reporter, env)[0].destination;
}
var lockOf = (s, file, env) => resolveLock({ lockWait: s.lockWait ?? file?.lockWait, lockStale: s.lockStale ?? file?.lockStale }, env);
async function resolveRestoreConfig(flags, file, env, reporter) {
  const targets = resolveTargets(flags, env, reporter);
  const bucket = targets.bucket !== void 0 ? bucketTarget(targets.bucket, flags, env, reporter) : void 0;
  const decrypt = await resolveKey(flags, file, env, reporter);
  const trusted = await resolveTrusted(flags, file);
  return {
    destination: fromLocation(flags, file, env, reporter),
    selection: { selector: flags.backup?.trim() || "latest", ...flags.before?.trim() ? { before: flags.before.trim() } : {} },
    decrypt,
    trusted,
    targets,
    only: flags.only ?? [],
    force: !!flags.force,
    paths: (flags.paths ?? []).filter((p) => p.trim() !== ""),
    dryRun: !!flags.dryRun,
    reporter,
    lock: lockOf(flags, file, env),
    dbLockTimeoutMs: resolveDbLockTimeout(flags.dbLockTimeout ?? file?.dbLockTimeout),
    ...resolvePgBin(flags.pgBin),
    ...bucket ? { bucket } : {}
  };
}
async function resolveVerifyConfig(flags, file, env, reporter) {
  const maxAgeMs = flags.maxAge !== void 0 && flags.maxAge.trim() !== "" ? parseDuration(flags.maxAge, "--max-age") : void 0;
  const decrypt = keyGiven(flags) || flags.deep ? await resolveKey(flags, file, env, reporter) : void 0;
  if (flags.deep && !decrypt) {
    throw new UsageError("--deep needs the key", `pass --identity-file FILE or --passphrase-env NAME${file ? `, or add decryption: { identity-file: \u2026 } to ${file.path}` : ""} (action: the identity or passphrase input, from a secret)`);
  }
  const trusted = await resolveTrusted(flags, file);
  const destinations = openLocations(flags.from, file?.destinations ?? [], flags, "--from", file, reporter, env).map((o) => o.destination);
  return {
    destination: destinations[0],
    destinations,
    selector: flags.backup?.trim() || "latest",
    // A key without --deep still verifies deep: the core does so and says why in one line.
    deep: !!flags.deep,
    decrypt,
    trusted,
    maxAgeMs,
    reporter,
    lock: lockOf({ ...flags, from: void 0 }, file, env)
  };
}
async function resolveRollbackConfig(flags, file, env, reporter, origin = originFromEnv(env)) {
  const targets = resolveTargets(flags, env, reporter);
  const decrypt = await resolveKey(flags, file, env, reporter);
  if (!decrypt) {
    throw new UsageError("rollback needs the key", `pass --identity-file FILE or --passphrase-env NAME${file ? `, or add decryption: { identity-file: \u2026 } to ${file.path}` : ""} (action: the identity or passphrase input, from a secret)`);
  }
  if (!flags.backup?.trim()) throw new UsageError("rollback needs --backup", "the snapshot to return to: an id, or label:NAME (must match one backup)");
  if (!flags.confirm?.trim()) throw new UsageError("rollback needs --confirm", "repeat the target database name (or the files target folder name)");
  const recipients = given(flags.recipients) ? flags.recipients.map((r) => r.trim()) : file?.encryption?.recipients ?? [];
  for (const r of recipients) validateRecipient(r);
  const trusted = await resolveTrusted(flags, file);
  const signingKey = await resolveSigningConfig(flags, file, env, reporter);
  return {
    destination: fromLocation(flags, file, env, reporter),
    selection: { selector: flags.backup.trim(), before: flags.before },
    decrypt,
    recipients,
    trusted,
    signingKey,
    targets,
    confirm: flags.confirm,
    checkSql: flags.checkSql ?? [],
    checkFile: flags.checkFile,
    origin,
    reporter,
    lock: lockOf(flags, file, env),
    dbLockTimeoutMs: resolveDbLockTimeout(flags.dbLockTimeout ?? file?.dbLockTimeout),
    ...resolvePgBin(flags.pgBin)
  };
}
function resolveListConfig(flags, file, env, reporter) {
  const label = flags.label?.trim() || void 0;
  return { destination: fromLocation(flags, file, env, reporter), label, all: !!flags.all };
}

export {
  restore,
  targetContext,
  restoreNeeds,
  resolveKey,
  resolveTrusted,
  fromLocation,
  lockOf,
  resolveRestoreConfig,
  resolveVerifyConfig,
  resolveRollbackConfig,
  resolveListConfig
};
