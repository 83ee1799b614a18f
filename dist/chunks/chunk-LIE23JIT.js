import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  UsageError,
  given,
  maskLocation,
  openLocations,
  originFromEnv,
  parseDuration,
  passphraseFromEnv,
  resolveDbLockTimeout,
  resolveDecryption,
  resolveLock,
  resolvePgBin,
  resolveSigningConfig,
  resolveTrust,
  secretFromEnv,
  urlsFromEnv,
  validateRecipient,
  warnPasswordInArgv
} from "./chunk-R3K3UYMI.js";

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
  return { postgres: url("postgres", t.postgresTarget, t.postgresTargetEnv), mysql: url("mysql", t.mysqlTarget, t.mysqlTargetEnv), sqlite: t.sqliteTarget, files: t.filesTarget };
}
function fromLocation(s, file, env, reporter) {
  return openLocations(s.from !== void 0 ? [s.from] : void 0, file?.destinations.slice(0, 1) ?? [], s, "--from", file, reporter, env)[0].destination;
}
var lockOf = (s, file, env) => resolveLock({ lockWait: s.lockWait ?? file?.lockWait, lockStale: s.lockStale ?? file?.lockStale }, env);
async function resolveRestoreConfig(flags, file, env, reporter) {
  const targets = resolveTargets(flags, env, reporter);
  const decrypt = await resolveKey(flags, file, env, reporter);
  const trusted = await resolveTrusted(flags, file);
  return {
    destination: fromLocation(flags, file, env, reporter),
    selection: { selector: flags.backup?.trim() || "latest" },
    decrypt,
    trusted,
    targets,
    only: flags.only ?? [],
    force: !!flags.force,
    reporter,
    lock: lockOf(flags, file, env),
    dbLockTimeoutMs: resolveDbLockTimeout(flags.dbLockTimeout ?? file?.dbLockTimeout),
    ...resolvePgBin(flags.pgBin)
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
  resolveRestoreConfig,
  resolveVerifyConfig,
  resolveRollbackConfig,
  resolveListConfig
};
