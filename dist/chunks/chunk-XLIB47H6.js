import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  DATA_PREFIX,
  DEFAULT_GROUP_BY,
  DEFAULT_INCOMPLETE_GRACE_MS,
  DEFAULT_THRESHOLDS,
  ExitCode,
  IntegrityError,
  LockedError,
  MANIFEST_NAME,
  NotFoundError,
  RefsError,
  SIGNATURE_NAME,
  StrongboxError,
  UsageError,
  VerificationError,
  applyRetentionBySeries,
  assertRepository,
  beginActivity,
  bucketSource,
  cancelSignal,
  collectionArtifacts,
  collectionsOf,
  confirmStored,
  ensureRepositories,
  errorMessage,
  expectDigest,
  filesCollectionOptions,
  formatBytes,
  given,
  guardsRetention,
  isBackupId,
  listBackups,
  lookupLocation,
  maskLocation,
  objectKey,
  objectName,
  openDestinations,
  originFromEnv,
  packIdOfKey,
  packKey,
  parseGroupBy,
  parseMetaFlags,
  parsePercent,
  parseSize,
  passphraseFromEnv,
  printable,
  readRefs,
  refsRecord,
  resolveBackup,
  resolveCompare,
  resolveDbLockTimeout,
  resolveLock,
  resolvePostgresOptions,
  resolveRowCounts,
  resolveSigningConfig,
  secretFromEnv,
  selectBackup,
  seriesKeyOf,
  seriesNames,
  sourceIdentity,
  throwIfCancelled,
  urlsFromEnv,
  validateLabels,
  warnPasswordInArgv,
  withLocks
} from "./chunk-XEBPFPTJ.js";

// src/core/quota.ts
var DEFAULT_QUOTA_ALERT_PERCENT = 80;
function quotaAlert(u, percent) {
  const share = u.usedBytes / u.quotaBytes * 100;
  const over = u.usedBytes > u.quotaBytes;
  if (!over && !(percent > 0 && share >= percent)) return void 0;
  const held = `${formatBytes(u.usedBytes)} of its ${formatBytes(u.quotaBytes)} quota (${Math.round(share)}%)`;
  return {
    kind: "quota",
    subject: u.location,
    value: u.usedBytes,
    baseline: u.quotaBytes,
    changePercent: Math.round(share * 10) / 10,
    thresholdPercent: over ? 100 : percent,
    message: over ? `${u.location} is OVER its quota: it holds ${held}; prune it (strongbox prune) or raise the quota before the store refuses writes` : `${u.location} is nearly full: it holds ${held}, the alert is at ${percent}%; tighten its retention or raise the quota`
  };
}
async function storedBytes(dest) {
  let total = 0;
  for await (const o of dest.list("")) total += o.size;
  return total;
}
async function checkQuotas(items, reporter, alertPercent = DEFAULT_QUOTA_ALERT_PERCENT) {
  const usage = [];
  for (const { destination, quotaBytes } of items) {
    let usedBytes;
    try {
      usedBytes = await storedBytes(destination);
    } catch (err) {
      reporter.warning(`could not measure ${destination.display} against its quota of ${formatBytes(quotaBytes)}: ${errorMessage(err)}`);
      continue;
    }
    const alert = quotaAlert({ location: destination.display, usedBytes, quotaBytes }, alertPercent);
    usage.push({ location: destination.display, usedBytes, quotaBytes, ...alert ? { alert } : {} });
    if (alert) reporter.warning(alert.message);
  }
  return usage;
}

// src/config/backup.ts
import { resolve as resolvePath } from "node:path";
function resolveAlertSettings(flags, file) {
  const f = file?.alerts;
  const pick = (flag, fileValue, name, key, fallback, max) => {
    const v = flag?.trim() ? flag : void 0;
    if (v !== void 0) return parsePercent(v, name, max);
    if (fileValue !== void 0) return parsePercent(fileValue, file.where(["alerts", key]), max);
    return fallback;
  };
  return {
    thresholds: {
      ...DEFAULT_THRESHOLDS,
      sizeChangePercent: pick(flags.alertSizeChange, f?.sizeChange, "--alert-size-change", "size-change", DEFAULT_THRESHOLDS.sizeChangePercent),
      durationChangePercent: pick(flags.alertDurationChange, f?.durationChange, "--alert-duration-change", "duration-change", DEFAULT_THRESHOLDS.durationChangePercent),
      rowsDropPercent: pick(flags.alertRowsDrop, f?.rowsDrop, "--alert-rows-drop", "rows-drop", DEFAULT_THRESHOLDS.rowsDropPercent, 100)
    },
    failOnAlert: flags.failOnAlert ?? f?.fail ?? false,
    quotaAlertPercent: pick(flags.quotaAlert, f?.quota, "--quota-alert", "quota", DEFAULT_QUOTA_ALERT_PERCENT, 100),
    ...flags.quota?.trim() ? { quotaBytes: parseSize(flags.quota, "--quota") } : {}
  };
}
var SOURCE_FLAGS = ["postgres", "postgresEnv", "mysql", "mysqlEnv", "sqlite", "files", "bucket"];
async function resolveBackupConfig(flags, file, env, reporter, origin = originFromEnv(env)) {
  const flagSources = SOURCE_FLAGS.some((k) => given(flags[k]));
  const postgres = flagSources ? urlSources("postgres", flags.postgres, flags.postgresEnv, env, reporter, !!flags.argv) : [];
  const mysql = flagSources ? urlSources("mysql", flags.mysql, flags.mysqlEnv, env, reporter, !!flags.argv) : [];
  const rowCounts = flags.rowCounts !== void 0 ? resolveRowCounts(flags.rowCounts) : void 0;
  const sourceSpecs = !flagSources && file?.sources ? file.sources.map((s) => fileSource(s, flags, rowCounts, env, reporter)) : [];
  const key = keyFromFlagsOrFile(flags, file, env, reporter);
  const labels = given(flags.labels) ? flags.labels : file?.labels ?? [];
  const metadata = { ...file?.metadata ?? {}, ...parseMetaFlags(flags.meta) };
  const to = given(flags.to) ? flags.to.map((v) => lookupLocation(v, file)?.url ?? v) : file?.destinations.map((d) => d.url) ?? [];
  const options = resolveBackup(
    {
      to,
      postgres,
      mysql,
      sqlite: flagSources ? flags.sqlite ?? [] : [],
      files: flagSources ? flags.files ?? [] : [],
      bucket: flagSources ? flags.bucket ?? [] : [],
      allVersions: flags.allVersions,
      exclude: flags.exclude ?? [],
      incremental: !!flags.incremental,
      compare: flags.compare,
      postgresOptions: flags.postgresOptions,
      rowCounts: flags.rowCounts,
      sourceSpecs,
      ...key,
      labels,
      metadata,
      compression: flags.compression ?? file?.compression,
      level: flags.level ?? (file?.level !== void 0 ? String(file.level) : void 0),
      confirm: flags.confirm,
      deployedSha: flags.deployedSha,
      deployedRef: flags.deployedRef,
      endpoint: flags.endpoint,
      region: flags.region,
      pathStyle: flags.pathStyle,
      preset: flags.preset,
      env
    },
    reporter,
    origin
  );
  const signingKey = await resolveSigningConfig(flags, file, env, reporter);
  const stateDir = flags.stateDir?.trim() ? resolvePath(flags.stateDir.trim()) : file?.stateDir;
  const contentKey = contentKeyOf(flags, file, env, reporter);
  return {
    ...options,
    ...stateDir ? { stateDir } : {},
    ...contentKey !== void 0 ? { contentKey } : {},
    ...flags.allowShrink ? { allowShrink: true } : {},
    signingKey,
    init: !!flags.init,
    lock: resolveLock({ lockWait: flags.lockWait ?? file?.lockWait, lockStale: flags.lockStale ?? file?.lockStale }, env),
    dbLockTimeoutMs: resolveDbLockTimeout(flags.dbLockTimeout ?? file?.dbLockTimeout),
    alerts: resolveAlertSettings(flags, file).thresholds,
    groupBy: parseGroupBy(flags.groupBy ?? file?.groupBy, "group-by")
  };
}
function urlSources(kind, urls, envNames, env, reporter, argv) {
  const all = [...urls ?? [], ...urlsFromEnv(envNames ?? [], env, `--${kind}-env`)];
  for (const url of all) maskLocation(kind, url, reporter);
  if (argv) for (const url of urls ?? []) warnPasswordInArgv(url, `--${kind}`, `--${kind}-env`, reporter, kind);
  return all;
}
function fileSource(s, flags, rowCountsFlag, env, reporter) {
  if (s.kind === "bucket") return bucketSource(s.location, flags, env, reporter, { allVersions: flags.allVersions || s.options.allVersions, compare: resolveCompare(flags.compare) });
  const location = s.env !== void 0 ? secretFromEnv(s.env, env, `${s.at}.${s.kind}-env`, `the ${s.kind} database URL`, reporter).trim() : s.location;
  maskLocation(s.kind, location, reporter);
  const rowCounts = rowCountsFlag ?? s.options.rowCounts ?? "exact";
  let options;
  if (s.kind === "postgres") {
    const f = flags.postgresOptions ?? {};
    options = resolvePostgresOptions(
      {
        schemas: given(f.schemas) ? f.schemas : s.options.schemas,
        excludeSchemas: given(f.excludeSchemas) ? f.excludeSchemas : s.options.excludeSchemas,
        tables: given(f.tables) ? f.tables : s.options.tables,
        excludeTables: given(f.excludeTables) ? f.excludeTables : s.options.excludeTables,
        excludeTableData: given(f.excludeTableData) ? f.excludeTableData : s.options.excludeTableData,
        rowSecurity: f.rowSecurity || s.options.rowSecurity,
        pgBin: f.pgBin
      },
      rowCounts
    );
  } else if (s.kind === "files") {
    options = {
      exclude: given(flags.exclude) ? flags.exclude : s.options.exclude ?? [],
      ...filesCollectionOptions(flags.incremental || s.options.incremental, flags.compare?.trim() ? flags.compare : s.options.compare)
    };
  } else options = { rowCounts };
  return { kind: s.kind, location, options };
}
function contentKeyOf(flags, file, env, reporter) {
  if (flags.contentKey !== void 0 && flags.contentKey.trim() !== "") {
    reporter.setSecret(flags.contentKey);
    return flags.contentKey;
  }
  const name = flags.contentKeyEnv?.trim() || file?.contentKeyEnv;
  if (!name) return void 0;
  const where = flags.contentKeyEnv?.trim() ? "--content-key-env" : file.where(["content-key-env"]);
  return secretFromEnv(name, env, where, "the content key (any long random secret)", reporter);
}
function keyFromFlagsOrFile(flags, file, env, reporter) {
  const flagKey = given(flags.recipients) || flags.passphraseEnv !== void 0 || flags.passphrase !== void 0 || !!flags.unencrypted;
  if (flagKey || !file?.encryption) {
    const fromEnv = flags.passphrase === void 0 ? passphraseFromEnv(flags.passphraseEnv, env) : { passphrase: flags.passphrase, passphraseSource: flags.passphraseSource };
    return { recipients: flags.recipients ?? [], unencrypted: !!flags.unencrypted, ...fromEnv };
  }
  const e = file.encryption;
  const where = file.where(["encryption", "passphrase-env"]);
  const passphrase = e.passphraseEnv !== void 0 ? secretFromEnv(e.passphraseEnv, env, where, "the passphrase", void 0) : void 0;
  return { recipients: e.recipients, unencrypted: e.unencrypted, passphrase, passphraseSource: e.passphraseEnv !== void 0 ? `$${e.passphraseEnv}` : void 0 };
}
function destinationConfigs(flags, file) {
  return given(flags.to) ? flags.to.map((v) => lookupLocation(v, file)) : file?.destinations ?? [];
}
function backupLocations(options, flags, file) {
  const configs = destinationConfigs(flags, file);
  return options.destinations.map((destination, i) => ({ destination, config: configs[i] }));
}
function resolveCopyTiers(values, file, storage, destinations, reporter, env, input = "copy-to") {
  const list = given(values) ? values.map((v) => ({ value: lookupLocation(v, file)?.url ?? v, config: lookupLocation(v, file) })) : (file?.copyTo ?? []).map((config) => ({ value: config.url, config }));
  if (!list.length) return [];
  const tiers = openDestinations(list.map((l) => l.value), storage, input, reporter, env);
  for (const t of tiers) {
    if (destinations.some((d) => d.display === t.display)) {
      throw new UsageError(`${input} names ${t.display}, which is also a destination of the backup`, "a tier is a second place the backup is copied to; list each location once, as a destination or as a tier");
    }
  }
  return tiers.map((destination, i) => ({ destination, config: list[i].config }));
}
function quotaTargets(locations, quotaBytes) {
  return locations.flatMap((l) => {
    const bytes = quotaBytes ?? l.config?.quota?.bytes;
    return bytes ? [{ destination: l.destination, quotaBytes: bytes }] : [];
  });
}

// src/core/copy.ts
import { Buffer } from "node:buffer";
import { pipeline } from "node:stream/promises";
async function copy(opts) {
  const { source, destination, reporter } = opts;
  const now = opts.now ?? (() => /* @__PURE__ */ new Date());
  if (!opts.all && !opts.newer && !opts.selectors.length && !opts.labels.length) {
    throw new UsageError("copy needs to know which backups to copy", "pass --backup ID|latest|label:NAME (repeatable), --label NAME (repeatable), --new or --all");
  }
  validateLabels(opts.labels);
  if (source.display === destination.display) {
    throw new UsageError(`--from and --to both name ${source.display}`, "copy between two different locations");
  }
  await assertRepository(source);
  const created = await ensureRepositories([destination], now(), opts.init, (w) => reporter.warning(w));
  for (const d of created) reporter.info(`Created a Strongbox repository at ${d.display}`);
  return withLocks([source, destination], "copy", false, opts.lock, reporter, () => {
    const activity = beginActivity(`copy from ${source.display} to ${destination.display}`, "nothing was committed");
    return run(opts, activity).finally(() => activity.end());
  });
}
async function run(opts, activity) {
  const { source, destination: dest, reporter } = opts;
  const entries = await listBackups(source, reporter);
  const destEntries = await listBackups(dest, reporter);
  const chosen = select(entries, opts, destEntries);
  const atDest = new Map(destEntries.map((e) => [e.id, e]));
  if (!chosen.length) reporter.info(`Nothing to copy: ${dest.display} already holds the newest backup of every series at ${source.display}`);
  else reporter.info(`Copying ${chosen.length} backup(s) from ${source.display} to ${dest.display}`);
  const results = [];
  const done = () => results.filter((r) => r.status === "copied").length;
  for (const sel of chosen) {
    throwIfCancelled();
    const { entry } = sel;
    if (sel.damaged !== void 0) {
      results.push(failed(entry.id, `backup ${entry.id} at ${source.display} is damaged: ${sel.damaged}`, sel.hint ?? "it was not copied; check the source storage"));
      continue;
    }
    const manifest = entry.manifest;
    const bytes = entry.manifestBytes;
    const there = atDest.get(entry.id);
    if (there?.complete || there?.damaged) {
      if (there.manifestBytes && Buffer.compare(Buffer.from(there.manifestBytes), Buffer.from(bytes)) === 0) {
        reporter.info(`  skipped ${entry.id}: already complete at ${dest.display}`);
        results.push({ id: entry.id, status: "skipped", bytes: 0 });
      } else {
        results.push(conflict(entry.id, dest, there.damaged));
      }
      continue;
    }
    activity.what = `copy of ${entry.id} from ${source.display} to ${dest.display}`;
    activity.outcome = `${done()} backup(s) copied before it; ${entry.id} has no manifest at ${dest.display}, a rerun finishes it`;
    try {
      results.push(await copyBackup(entry, manifest, bytes, opts));
      activity.what = `copy from ${source.display} to ${dest.display}`;
      activity.outcome = `${done()} backup(s) copied and complete there, the others not started`;
    } catch (err) {
      if (!(err instanceof SourceDamage) && !(err instanceof ConflictError)) throw err;
      results.push(failed(entry.id, err.message, err.hint));
    }
  }
  for (const r of results.filter((x) => x.status === "failed")) {
    reporter.error(`FAILED ${r.id}: ${r.error}`);
    if (r.hint) reporter.info(`hint: ${r.hint}`);
  }
  const sum = (s) => results.filter((r) => r.status === s).length;
  const result = {
    source: source.display,
    destination: dest.display,
    backups: results,
    copied: sum("copied"),
    skipped: sum("skipped"),
    failed: sum("failed"),
    bytes: results.reduce((n, r) => n + r.bytes, 0),
    exitCode: sum("failed") ? ExitCode.verifyFailed : ExitCode.ok
  };
  reporter.info(`Copy to ${dest.display}: ${result.copied} copied (${formatBytes(result.bytes)}), ${result.skipped} skipped, ${result.failed} failed`);
  return result;
}
function select(entries, opts, destEntries) {
  const picked = /* @__PURE__ */ new Map();
  for (const s of opts.selectors) {
    const damaged = isBackupId(s) ? entries.find((e2) => e2.id === s && e2.damaged) : void 0;
    if (damaged) {
      picked.set(damaged.id, { entry: damaged, damaged: damaged.damaged, hint: damaged.damagedHint });
      continue;
    }
    const e = selectBackup(entries, { selector: s });
    picked.set(e.id, { entry: e });
  }
  for (const label of opts.labels) {
    for (const e of entries) if (e.complete && e.manifest?.labels.includes(label)) picked.set(e.id, { entry: e });
  }
  if (opts.all) {
    for (const e of entries) {
      if (e.complete) picked.set(e.id, { entry: e });
      else if (e.damaged) picked.set(e.id, { entry: e, damaged: e.damaged, hint: e.damagedHint });
    }
  }
  if (opts.newer) {
    const series = (e) => seriesKeyOf(e.manifest, opts.groupBy);
    const newest = /* @__PURE__ */ new Map();
    for (const e of destEntries) {
      if (!e.complete) continue;
      const k = series(e);
      if ((newest.get(k) ?? "") < e.manifest.startedAt) newest.set(k, e.manifest.startedAt);
    }
    for (const e of entries) if (e.complete && e.manifest.startedAt > (newest.get(series(e)) ?? "")) picked.set(e.id, { entry: e });
    if (!picked.size && !opts.all && !opts.selectors.length && !opts.labels.length) return [];
  }
  if (!picked.size) {
    const what = [...opts.labels.map((l) => `label ${l}`), ...opts.all ? ["--all"] : []].join(", ");
    throw new NotFoundError(`no complete backup at ${opts.source.display} matches ${what}`, "strongbox list --from SRC shows what is there");
  }
  const order = new Map(entries.map((e, i) => [e.id, i]));
  return [...picked.values()].sort((a, b) => order.get(a.entry.id) - order.get(b.entry.id));
}
var SourceDamage = class extends VerificationError {
};
var ConflictError = class extends VerificationError {
};
function failed(id, error, hint) {
  return { id, status: "failed", bytes: 0, error, ...hint ? { hint } : {} };
}
function conflict(id, dest, damaged) {
  const e = conflictError(id, dest, damaged);
  return failed(id, e.message, e.hint);
}
function conflictError(id, dest, damaged) {
  return new ConflictError(
    damaged ? `${dest.display} already holds an unreadable manifest for backup ${id} (${damaged})` : `${dest.display} already holds a manifest for backup ${id} that differs from the source's`,
    "it was not overwritten; compare the two (strongbox verify --from SRC --from DST --backup ID) before removing either"
  );
}
async function copyBackup(entry, m, manifestBytes, opts) {
  const { source, destination: dest, reporter, confirm = "hash" } = opts;
  const listed = new Map(entry.objects.map((o) => [o.key, o.size]));
  const objects = [...m.artifacts, ...collectionArtifacts(m).map(refsRecordOrDamage)];
  for (const a of objects) {
    const size = listed.get(objectKey(m.id, a.key));
    const where = `${objectName(source, objectKey(m.id, a.key))}`;
    if (size === void 0) throw new SourceDamage(`artifact ${a.name} of backup ${m.id} is missing at the source (${where})`, "the backup was not copied; check the source storage");
    if (size !== a.stored.size) throw new SourceDamage(`stored object ${where} holds ${size} bytes, its manifest says ${a.stored.size}`, "the backup is damaged at the source and was not copied");
  }
  let bytes = 0;
  const packs = await collectionPacks(source, m);
  bytes += await copyPacks(packs, m.id, opts);
  for (const a of objects) {
    throwIfCancelled();
    const key = objectKey(m.id, a.key);
    const readBack = await copyObject(source, dest, key, a.stored, { progress: reporter.progress, label: `copy ${printable(a.name)} of ${m.id}` }, confirm === "hash");
    await confirmStored(dest, key, a.stored, confirm, reporter.progress, readBack);
    bytes += a.stored.size;
    reporter.info(`  ${m.id}/${a.key}: ${formatBytes(a.stored.size)} copied and confirmed`);
  }
  const sigKey = objectKey(m.id, SIGNATURE_NAME);
  if (listed.has(sigKey)) {
    const sig = await source.getBytes(sigKey);
    if (!sig) throw new SourceDamage(`the signature ${objectName(source, sigKey)} disappeared while copying`, "the backup was not copied; rerun the copy");
    await dest.putBytes(sigKey, sig);
    bytes += sig.length;
  }
  for (const a of objects) {
    const info = await dest.stat(objectKey(m.id, a.key));
    if (info?.size !== a.stored.size) throw new StrongboxError(`${objectName(dest, objectKey(m.id, a.key))} changed after it was confirmed`, { hint: "another run is writing this backup there; rerun the copy once it is done" });
  }
  for (const p of packs.values()) {
    const info = await dest.stat(packKey(p.id));
    if (info?.size !== p.size) throw new StrongboxError(`pack ${objectName(dest, packKey(p.id))} of backup ${m.id} changed after it was confirmed`, { hint: "rerun the copy" });
  }
  throwIfCancelled();
  const manifestKey = objectKey(m.id, MANIFEST_NAME);
  const written = dest.putBytesIfAbsent ? await dest.putBytesIfAbsent(manifestKey, manifestBytes) : (await dest.putBytes(manifestKey, manifestBytes), true);
  if (!written) {
    const existing = await dest.getBytes(manifestKey);
    if (!existing || Buffer.compare(Buffer.from(existing), Buffer.from(manifestBytes)) !== 0) throw conflictError(m.id, dest);
  }
  bytes += manifestBytes.length;
  reporter.info(`Copied ${m.id} to ${dest.display}`);
  return { id: m.id, status: "copied", bytes };
}
function refsRecordOrDamage(a) {
  try {
    return refsRecord(a);
  } catch (err) {
    throw new SourceDamage(errorMessage(err), "the backup is damaged at the source and was not copied");
  }
}
async function collectionPacks(source, m) {
  const packs = /* @__PURE__ */ new Map();
  for (const a of collectionArtifacts(m)) {
    const named = /* @__PURE__ */ new Set();
    try {
      for await (const l of readRefs(source, m.id, a)) {
        if (l.t === "pack") packs.set(l.id, l);
        else named.add(l.pack);
      }
    } catch (err) {
      if (!isRefsDamage(err)) throw err;
      throw new SourceDamage(`the refs of artifact ${printable(a.name)} of backup ${m.id} cannot be read: ${errorMessage(err)}`, "the backup is damaged at the source and was not copied; check the source storage");
    }
    const unlisted = [...named].filter((id) => !packs.has(id));
    if (unlisted.length) throw new SourceDamage(`the refs of artifact ${printable(a.name)} of backup ${m.id} name pack ${unlisted[0]} in a blob line but not in a pack line`, "the backup is damaged at the source and was not copied");
  }
  return packs;
}
function isRefsDamage(err) {
  return err instanceof RefsError || err instanceof IntegrityError || err instanceof NotFoundError || err instanceof StrongboxError && err.message.startsWith("refs object ");
}
async function copyPacks(packs, backupId, opts) {
  const { source, destination: dest, reporter, confirm = "hash" } = opts;
  let bytes = 0;
  let copied = 0;
  for (const p of packs.values()) {
    throwIfCancelled();
    const key = packKey(p.id);
    const there = await dest.stat(key);
    if (there?.size === p.size) continue;
    const stored = { size: p.size, sha256: p.sha256 };
    let readBack;
    try {
      readBack = await copyObject(source, dest, key, stored, { progress: reporter.progress, label: `copy pack ${p.id.slice(0, 8)} of ${backupId}` }, confirm === "hash");
    } catch (err) {
      if (err instanceof SourceDamage) throw new SourceDamage(`pack ${p.id} of backup ${backupId}: ${err.message}`, err.hint);
      throw err;
    }
    await confirmStored(dest, key, stored, confirm, reporter.progress, readBack);
    bytes += p.size;
    copied++;
  }
  if (packs.size) reporter.info(`  ${backupId}: ${copied} of ${packs.size} pack(s) copied and confirmed (${formatBytes(bytes)}), ${packs.size - copied} already there`);
  return bytes;
}
async function copyObject(source, dest, key, expected, show, readBack) {
  const where = `${objectName(source, key)}`;
  const signal = cancelSignal();
  let damage;
  let readFailure;
  const body = await source.get(key, { signal }).catch((err) => {
    if (err instanceof NotFoundError) throw new SourceDamage(`stored object ${where} is missing`, "the backup was not copied; check the source storage");
    throw new StrongboxError(`reading ${where} failed: ${errorMessage(err)}`, { cause: err, hint: err instanceof StrongboxError ? err.hint : "check the source and rerun the copy" });
  });
  const check = expectDigest(expected, (actual) => {
    damage = new SourceDamage(
      `stored object ${where} does not match its manifest: ${actual.size} bytes with SHA-256 ${actual.sha256.slice(0, 16)}\u2026, expected ${expected.size} bytes with ${expected.sha256.slice(0, 16)}\u2026`,
      "the backup is damaged at the source and was not copied; check the source storage"
    );
    return damage;
  });
  body.on("error", (err) => readFailure ??= err);
  const feeding = pipeline(body, check, { signal }).catch(() => {
  });
  const shown = show.progress?.start({ label: show.label, total: expected.size, done: () => check.size });
  let put;
  try {
    put = await dest.put(key, check, { signal, readBack });
  } catch (err) {
    shown?.end();
    if (!check.destroyed) check.destroy();
    await feeding;
    throwIfCancelled();
    if (damage) throw damage;
    if (readFailure) throw new StrongboxError(`reading ${where} failed: ${errorMessage(readFailure)}`, { cause: readFailure, hint: "check the source and rerun the copy; nothing was committed for this backup" });
    throw new StrongboxError(`upload of ${key} to ${dest.display} failed: ${errorMessage(err)}`, {
      cause: err,
      hint: err instanceof StrongboxError && err.hint ? err.hint : "check the destination and rerun the copy; nothing was committed for this backup"
    });
  }
  shown?.end();
  await feeding;
  if (damage) throw damage;
  return put.readBack;
}

// src/core/retention-guard.ts
var artifactKey = (a) => `${a.name}\0${a.identity}`;
function alertArtifact(a, artifacts) {
  const s = a.subject ?? "";
  return [...artifacts].sort((x, y) => y.name.length - x.name.length).find((x) => s === x.name || s.startsWith(`${x.name} `));
}
function guardRetention(decision, backups, force) {
  const future = new Set(decision.future.map((f) => f.id));
  const newestOf = /* @__PURE__ */ new Map();
  for (const [id, b] of backups) {
    if (future.has(id)) continue;
    for (const a of b.artifacts) {
      const cur = newestOf.get(artifactKey(a));
      const t = cur === void 0 ? void 0 : backups.get(cur).time;
      if (t === void 0 || b.time > t || b.time === t && id > cur) newestOf.set(artifactKey(a), id);
    }
  }
  const inAlert = /* @__PURE__ */ new Map();
  for (const [key, id] of newestOf) {
    const b = backups.get(id);
    const on = (a) => {
      const art = alertArtifact(a, b.artifacts);
      return art !== void 0 && artifactKey(art) === key;
    };
    const alerts = (b.alerts ?? []).filter((a) => guardsRetention(a) && on(a));
    if (alerts.length) inAlert.set(key, { backup: id, alerts });
  }
  const guarded = [];
  if (inAlert.size) {
    const bySeries = /* @__PURE__ */ new Map();
    for (const [id, series] of Object.entries(decision.series)) {
      for (const a of backups.get(id)?.artifacts ?? []) {
        const hit = inAlert.get(artifactKey(a));
        if (!hit) continue;
        let held2 = bySeries.get(series);
        if (!held2) bySeries.set(series, held2 = /* @__PURE__ */ new Map());
        held2.set(artifactKey(a), hit);
      }
    }
    for (const [series, held2] of [...bySeries].sort(([a], [b]) => a.localeCompare(b))) {
      const hits = [...held2.values()];
      const backup = hits.map((h) => h.backup).sort((a, b) => backups.get(b).time - backups.get(a).time || b.localeCompare(a))[0];
      const alerts = [...new Set(hits.flatMap((h) => h.alerts))];
      const spared = decision.remove.filter((r) => decision.series[r.id] === series).map((r) => r.id);
      guarded.push({ series, backup, alerts, spared, forced: force });
    }
  }
  if (force) return { decision, guarded };
  const held = new Set(guarded.flatMap((g) => g.spared));
  if (!held.size) return { decision, guarded };
  const time = (id) => backups.get(id)?.time ?? 0;
  const keep = [...decision.keep, ...decision.remove.filter((r) => held.has(r.id)).map((r) => ({ id: r.id, reasons: ["guarded"] }))];
  keep.sort((a, b) => time(b.id) - time(a.id) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return { decision: { ...decision, keep, remove: decision.remove.filter((r) => !held.has(r.id)) }, guarded };
}

// src/core/collection/gc.ts
async function collectPacks(o) {
  const { destination: dest, reporter } = o;
  const result = { removed: [], bytes: 0, referenced: 0, young: 0, failed: [] };
  const skip = (why) => {
    result.skipped = why;
    reporter.warning(`packs at ${dest.display} not collected: ${why}; nothing under ${DATA_PREFIX} was deleted`);
    return result;
  };
  if (o.unreadable.length) {
    return skip(`the manifest of backup ${o.unreadable.slice(0, 3).join(", ")}${o.unreadable.length > 3 ? ", \u2026" : ""} cannot be read, so the packs it refers to are unknown (repair or delete that backup)`);
  }
  const live = /* @__PURE__ */ new Set();
  for (const e of o.live) {
    for (const a of collectionArtifacts(e.manifest)) {
      try {
        for await (const l of readRefs(dest, e.id, a)) live.add(l.t === "pack" ? l.id : l.pack);
      } catch (err) {
        if (err instanceof LockedError) throw err;
        return skip(`the refs of artifact ${a.name} of backup ${e.id} cannot be read (${errorMessage(err)})`);
      }
    }
  }
  const cutoff = o.now.getTime() - o.graceMs;
  const candidates = [];
  let any = false;
  for await (const obj of dest.list(DATA_PREFIX)) {
    any = true;
    const id = packIdOfKey(obj.key);
    if (id === void 0) continue;
    if (live.has(id)) result.referenced++;
    else if (!obj.lastModified || obj.lastModified.getTime() > cutoff) result.young++;
    else candidates.push({ key: obj.key, size: obj.size });
  }
  if (!any) return result;
  for (const c of candidates) {
    o.beforeDelete?.();
    if (!o.dryRun) {
      try {
        await dest.delete(c.key);
      } catch (err) {
        if (err instanceof LockedError) throw err;
        result.failed.push({ key: c.key, reason: errorMessage(err) });
        continue;
      }
    }
    result.removed.push(c);
    result.bytes += c.size;
  }
  if (result.failed.length) {
    reporter.warning(`${result.failed.length} unreferenced pack(s) at ${dest.display} could not be deleted (${result.failed[0].reason}); the next prune tries again`);
  }
  if (result.removed.length || result.young) {
    reporter.info(
      `${o.dryRun ? "would remove" : "removed"} ${result.removed.length} unreferenced pack(s) (${formatBytes(result.bytes)}) at ${dest.display}; ${result.referenced} in use` + (result.young ? `, ${result.young} unreferenced but newer than the grace period (kept: a running backup may be writing them)` : "")
    );
  }
  return result;
}

// src/core/prune.ts
async function prune(opts) {
  const { destination: dest, reporter } = opts;
  const now = (opts.now ?? (() => /* @__PURE__ */ new Date()))();
  await assertRepository(dest);
  const activity = beginActivity(`prune of ${dest.display}`, "nothing was removed");
  let deleted = 0;
  return withLocks([dest], "prune", true, opts.lock, reporter, async ([lock]) => {
    const current = await listBackups(dest, reporter);
    const unreadable = current.filter((e) => e.damaged).map((e) => ({ id: e.id, problem: e.damaged }));
    const byId = new Map(current.map((e) => [e.id, e]));
    const groupBy = opts.groupBy ?? DEFAULT_GROUP_BY;
    const names = seriesNames(current.flatMap((e) => e.manifest && !e.damaged ? [e.manifest] : []), groupBy);
    const policyDecision = applyRetentionBySeries(
      current.filter((e) => !e.damaged).map((e) => ({
        id: e.id,
        time: e.time,
        complete: e.complete,
        labels: e.manifest?.labels ?? [],
        series: e.manifest ? seriesKeyOf(e.manifest, groupBy) : void 0,
        lastModified: e.complete ? void 0 : e.time
      })),
      opts.policy,
      now,
      { incompleteGraceMs: opts.incompleteGraceMs }
    );
    const complete = new Map(
      current.flatMap((e) => e.manifest && !e.damaged ? [[e.id, { time: e.time.getTime(), alerts: e.manifest.alerts, artifacts: e.manifest.artifacts.map((a) => ({ name: a.name, identity: sourceIdentity(a) })) }]] : [])
    );
    const { decision, guarded } = guardRetention(policyDecision, complete, !!opts.force);
    for (const [id, key] of Object.entries(decision.series)) decision.series[id] = names.get(key) ?? key;
    for (const l of decision.unmatchedLabels) reporter.warning(`--keep-label ${printable(l)} matches no backup at ${dest.display}; it keeps nothing`);
    const result = {
      dryRun: opts.dryRun,
      groupBy,
      series: [],
      kept: decision.keep.map((k) => ({ id: k.id, series: decision.series[k.id], startedAt: byId.get(k.id).manifest.startedAt, labels: byId.get(k.id).manifest.labels, reasons: k.reasons })),
      removed: [],
      unmatchedLabels: decision.unmatchedLabels,
      incompleteRemoved: [],
      incompleteKept: decision.incompleteKeep,
      future: decision.future.map((f) => f.id),
      unreadable,
      retained: [],
      abandonedWrites: [],
      guarded: guarded.map((g) => ({ ...g, series: decision.series[g.backup] })),
      packsRemoved: 0,
      packBytesRemoved: 0,
      packs: { removed: [], bytes: 0, referenced: 0, young: 0, failed: [] }
    };
    for (const g of result.guarded) {
      const why = g.alerts.map((a) => a.message).join("; ");
      if (g.forced) reporter.warning(`series ${printable(g.series)}: backup ${g.backup} carries drop alert(s) (${why}); --force given, so retention applies anyway`);
      else reporter.warning(`series ${printable(g.series)}: nothing removed, ${g.spared.length} backup(s) kept by the retention guard \u2014 backup ${g.backup}, the newest of its data, carries drop alert(s): ${why}. Check the data; once the new size is right, prune with --force`);
    }
    for (const f of result.future) reporter.warning(`backup ${f} is dated in the future (${byId.get(f).manifest.startedAt}); ignored by time rules and kept \u2014 check the clock of the machine that made it`);
    for (const u of unreadable) reporter.warning(`backup ${u.id} kept: its manifest cannot be read (${u.problem})`);
    const remove = async (entry) => {
      if (lock.signal.aborted) throw lock.signal.reason ?? new StrongboxError("lost the prune lock");
      throwIfCancelled();
      if (opts.dryRun) return true;
      try {
        const manifestKey = objectKey(entry.id, MANIFEST_NAME);
        if (entry.objects.some((o) => o.key === manifestKey)) await dest.delete(manifestKey);
        for (const o of entry.objects) if (o.key !== manifestKey) await dest.delete(o.key);
        activity.outcome = `${++deleted} backup(s) had been removed as the policy says; the others are untouched`;
        return true;
      } catch (err) {
        if (err instanceof LockedError) throw err;
        result.retained.push({ id: entry.id, reason: errorMessage(err) });
        reporter.warning(`could not delete backup ${entry.id}: ${errorMessage(err)} \u2014 reported as retained, continuing`);
        return false;
      }
    };
    for (const r of decision.remove) {
      const e = byId.get(r.id);
      if (await remove(e)) result.removed.push({ id: r.id, series: decision.series[r.id], startedAt: e.manifest.startedAt });
    }
    for (const r of decision.incompleteRemove) {
      if (await remove(byId.get(r.id))) result.incompleteRemoved.push(r.id);
    }
    result.series = [...new Set(Object.values(decision.series))].sort().map((name) => ({
      name,
      kept: result.kept.filter((k) => k.series === name).length,
      removed: result.removed.filter((r) => r.series === name).length
    }));
    const grace = opts.incompleteGraceMs ?? DEFAULT_INCOMPLETE_GRACE_MS;
    const gone = new Set(result.removed.map((r) => r.id));
    if (!opts.dryRun) activity.outcome = `${deleted} backup(s) had been removed as the policy says; unreferenced packs were being collected (the next prune collects the rest)`;
    result.packs = await collectPacks({
      destination: dest,
      live: current.filter((e) => e.complete && !e.damaged && e.manifest && !gone.has(e.id)).map((e) => ({ id: e.id, manifest: e.manifest })),
      unreadable: unreadable.map((u) => u.id),
      now,
      graceMs: grace,
      dryRun: opts.dryRun,
      reporter,
      beforeDelete: () => {
        if (lock.signal.aborted) throw lock.signal.reason ?? new StrongboxError("lost the prune lock");
        throwIfCancelled();
      }
    });
    result.packsRemoved = result.packs.removed.length;
    result.packBytesRemoved = result.packs.bytes;
    result.abandonedWrites = await dest.removeAbandonedWrites?.(new Date(now.getTime() - grace), opts.dryRun) ?? [];
    if (result.abandonedWrites.length) {
      reporter.info(`${opts.dryRun ? "would remove" : "removed"} ${result.abandonedWrites.length} unfinished write(s) left by killed runs`);
    }
    const verb = opts.dryRun ? "would remove" : "removed";
    reporter.info(
      `Prune ${dest.display}: ${result.series.length} series, kept ${result.kept.length}, ${verb} ${result.removed.length} backup(s) and ${result.incompleteRemoved.length} incomplete one(s)` + (result.packsRemoved ? `, ${verb} ${result.packsRemoved} unreferenced pack(s) (${formatBytes(result.packBytesRemoved)})` : "") + (result.packs.skipped ? ", packs not collected (see the warning)" : "") + (result.retained.length ? `, ${result.retained.length} could not be deleted` : "")
    );
    return result;
  }).finally(() => activity.end());
}

// src/core/history.ts
function buildHistory(entries, location, filters = {}) {
  const groupBy = filters.groupBy ?? DEFAULT_GROUP_BY;
  const manifests = entries.flatMap((e) => e.manifest && !e.damaged ? [e.manifest] : []);
  const names = seriesNames(manifests, groupBy);
  const shorts = shortSeriesNames([...new Set(names.values())]);
  const all = [];
  for (const e of entries) {
    if (e.damaged) all.push({ ...emptyRow(e), damaged: e.damaged });
    else if (e.complete && e.manifest) {
      const key = seriesKeyOf(e.manifest, groupBy);
      const series = names.get(key);
      all.push(rowOf(e.manifest, series, shorts.get(series), key));
    }
  }
  const rows = all.filter((r) => {
    if (r.damaged) return true;
    if (filters.label !== void 0 && !r.labels.includes(filters.label)) return false;
    if (filters.series !== void 0 && ![r.series, r.seriesShort, r.key].includes(filters.series)) return false;
    return true;
  }).map(({ key: _key, ...r }) => r);
  return { location, groupBy, filters: { series: filters.series, label: filters.label }, rows, series: seriesTotals(rows), totals: totalsOf(rows) };
}
function rowOf(m, series, seriesShort, key) {
  return {
    id: m.id,
    time: m.startedAt,
    series,
    seriesShort,
    key,
    labels: [...m.labels],
    storedBytes: m.artifacts.reduce((n, a) => n + a.stored.size, 0),
    plaintextBytes: m.artifacts.reduce((n, a) => n + a.plaintext.size, 0),
    durationSeconds: typeof m.durationSeconds === "number" && Number.isFinite(m.durationSeconds) ? m.durationSeconds : 0,
    // Written by newer versions only, and not checked by the manifest reader: taken when it is a list.
    alerts: Array.isArray(m.alerts) ? m.alerts.filter((a) => typeof a === "object" && a !== null && typeof a.message === "string") : [],
    metadata: m.metadata ? { ...m.metadata } : {},
    ...collectionsOf(m).length ? { collections: collectionsOf(m) } : {}
  };
}
function emptyRow(e) {
  return { id: e.id, time: e.time.toISOString(), series: null, seriesShort: null, labels: [], storedBytes: 0, plaintextBytes: 0, durationSeconds: 0, alerts: [], metadata: {} };
}
function seriesTotals(rows) {
  const by = /* @__PURE__ */ new Map();
  for (const r of rows) {
    if (r.series === null) continue;
    let t = by.get(r.series);
    if (!t) by.set(r.series, t = { series: r.series, seriesShort: r.seriesShort, backups: 0, storedBytes: 0, plaintextBytes: 0, alerts: 0, first: r.time, last: r.time });
    t.backups++;
    t.storedBytes += r.storedBytes;
    t.plaintextBytes += r.plaintextBytes;
    t.alerts += r.alerts.length;
    t.last = r.time;
  }
  return [...by.values()];
}
function totalsOf(rows) {
  const ok = rows.filter((r) => !r.damaged);
  return {
    backups: ok.length,
    damaged: rows.length - ok.length,
    series: new Set(ok.map((r) => r.series)).size,
    storedBytes: ok.reduce((n, r) => n + r.storedBytes, 0),
    plaintextBytes: ok.reduce((n, r) => n + r.plaintextBytes, 0),
    alerts: ok.reduce((n, r) => n + r.alerts.length, 0)
  };
}
var SHORT_SERIES_MAX = 32;
function shortSeriesNames(names, max = SHORT_SERIES_MAX) {
  const out = /* @__PURE__ */ new Map();
  const used = /* @__PURE__ */ new Map();
  for (const name of [...names].sort()) {
    let short = name.length <= max ? name : abbreviate(name, max);
    const n = (used.get(short) ?? 0) + 1;
    used.set(short, n);
    if (n > 1) short = `${short} #${n}`;
    out.set(name, short);
  }
  return out;
}
function abbreviate(name, max) {
  const parts = name.split("+");
  const kept = [];
  for (const p of parts) {
    const next = [...kept, p].join("+");
    if (kept.length && next.length + ` +${parts.length - kept.length - 1}`.length > max) break;
    kept.push(p);
  }
  let head = kept.join("+");
  if (head.length > max) head = `${head.slice(0, max - 1)}\u2026`;
  const rest = parts.length - kept.length;
  return `${head}${rest ? ` +${rest}` : ""}`;
}

// src/report/collection-text.ts
function describeMembers(f) {
  return `${f.members} member(s), ${formatBytes(f.bytes)}: ${f.newMembers} new (${formatBytes(f.newBytes)}), ${f.reused} reused${f.skipped ? `, ${f.skipped} skipped` : ""}`;
}
function describePacks(f) {
  return `${f.packs} pack(s), ${formatBytes(f.packBytes)} stored, ${f.newPacks} written by this backup`;
}

// src/report/history-text.ts
function formatSeconds(s) {
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
function shortTime(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? printable(iso) : new Date(t).toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "Z");
}
var HEAD = ["TIME", "BACKUP", "SERIES", "STORED", "PLAINTEXT", "DURATION", "ALERTS", "LABELS / METADATA"];
function cells(r) {
  if (r.damaged) return [shortTime(r.time), r.id, "DAMAGED", "-", "-", "-", "-", printable(r.damaged)];
  const tags = [...r.labels.map(printable), ...Object.entries(r.metadata).map(([k, v]) => `${printable(k)}=${printable(v)}`)];
  return [
    shortTime(r.time),
    r.id,
    printable(r.seriesShort ?? ""),
    formatBytes(r.storedBytes),
    formatBytes(r.plaintextBytes),
    formatSeconds(r.durationSeconds),
    r.alerts.length ? `! ${r.alerts.length}` : "-",
    tags.join(" ") || "-"
  ];
}
function formatHistory(h) {
  const lines = [];
  const filter = [h.filters.series !== void 0 ? `series ${printable(h.filters.series)}` : "", h.filters.label !== void 0 ? `label ${printable(h.filters.label)}` : ""].filter(Boolean).join(", ");
  lines.push(`history of ${printable(h.location)} (series by ${h.groupBy}${filter ? `; only ${filter}` : ""})`);
  if (!h.rows.length) {
    lines.push("no backups");
    return lines.join("\n") + "\n";
  }
  const table = [HEAD, ...h.rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...table.map((row) => [...row[i]].length)));
  const pad = (row) => row.map((c, i) => i === row.length - 1 ? c : c.padEnd(widths[i])).join("  ").trimEnd();
  lines.push(pad(HEAD));
  for (const r of h.rows) {
    lines.push(pad(cells(r)));
    for (const c of r.collections ?? []) lines.push(`    ${printable(c.name)}: ${describeMembers(c)}`);
    for (const a of r.alerts) lines.push(`    ! ${printable(a.message)}`);
  }
  lines.push("", "series");
  const long = h.series.some((s) => s.seriesShort !== s.series);
  for (const s of h.series) {
    lines.push(
      `  ${printable(s.seriesShort)}: ${s.backups} backup(s), stored ${formatBytes(s.storedBytes)}, plaintext ${formatBytes(s.plaintextBytes)}, ${s.alerts} alert(s), ${shortTime(s.first)} \u2026 ${shortTime(s.last)}`
    );
    if (long && s.seriesShort !== s.series) lines.push(`    = ${printable(s.series)}`);
  }
  const t = h.totals;
  lines.push(
    "",
    `${filter ? "shown" : "repository"}: ${t.backups} backup(s) in ${t.series} series${t.damaged ? `, ${t.damaged} DAMAGED` : ""}, stored ${formatBytes(t.storedBytes)}, plaintext ${formatBytes(t.plaintextBytes)}, ${t.alerts} alert(s)`
  );
  return lines.join("\n") + "\n";
}

export {
  copy,
  prune,
  checkQuotas,
  resolveAlertSettings,
  resolveBackupConfig,
  backupLocations,
  resolveCopyTiers,
  quotaTargets,
  buildHistory,
  describeMembers,
  describePacks,
  formatSeconds,
  shortTime,
  formatHistory
};
