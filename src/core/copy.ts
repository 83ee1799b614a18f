import { Buffer } from 'node:buffer';
import { objectName } from '../destinations/types.js';
import { pipeline } from 'node:stream/promises';
import { expectDigest } from '../codecs/hash.js';
import type { Destination, PutResult } from '../destinations/types.js';
import { beginActivity, cancelSignal, throwIfCancelled, type Activity } from '../shared/cancel.js';
import { ExitCode, IntegrityError, NotFoundError, StrongboxError, UsageError, VerificationError, errorMessage } from '../shared/errors.js';
import { formatBytes } from '../shared/format.js';
import type { Reporter } from '../shared/reporter.js';
import { confirmStored } from './artifact-writer.js';
import type { ShowProgress } from './artifact-reader.js';
import { printable } from '../shared/text.js';
import { isBackupId } from './backup-id.js';
import { validateLabels } from './backup.js';
import { withLocks, type LockSettings } from './locking.js';
import { assertRepository, ensureRepositories, listBackups, objectKey, selectBackup, type BackupEntry } from './repository.js';
import { MANIFEST_NAME, SIGNATURE_NAME, type Manifest } from './types.js';
import { seriesKeyOf, type GroupBy } from './series.js';
import { collectionArtifacts, readRefs, RefsError, refsRecord } from './collection/refs.js';
import { packKey, type RefsPack } from './collection/format.js';

export interface CopyOptions {
  source: Destination;
  destination: Destination;
  /** `--backup`: ids, `latest`, `label:NAME`; each must match. */
  selectors: string[];
  /** Every complete backup at the source. */
  all: boolean;
  /** Complete backups carrying any of these labels. */
  labels: string[];
  /**
   * `--new`: every complete backup newer than the newest complete backup of its series at the
   * destination (all of a series the destination does not hold yet). What a nightly tier copy
   * wants: a missed night is caught up, and what the tier's own retention removed is not copied again.
   */
  newer?: boolean;
  /** How `newer` forms series (prune's --group-by); default: by sources. */
  groupBy?: GroupBy;
  /** How each object is confirmed at the destination: read back and hashed (default), or its size. */
  confirm?: 'hash' | 'size';
  /** Create the destination repository where none is, by the rules of `strongbox init`. */
  init?: boolean;
  reporter: Reporter;
  lock?: LockSettings;
  now?: () => Date;
}

export interface CopiedBackup {
  id: string;
  /** copied now, skipped (already complete and identical at the destination), or failed. */
  status: 'copied' | 'skipped' | 'failed';
  /** Stored bytes transferred for this backup (0 when skipped). */
  bytes: number;
  error?: string;
  hint?: string;
}

export interface CopyResult {
  source: string;
  destination: string;
  backups: CopiedBackup[];
  copied: number;
  skipped: number;
  failed: number;
  bytes: number;
  /** 0, or 3 when a backup was damaged at the source or conflicts with the destination. */
  exitCode: number;
}

/**
 * Copies complete backups between two repositories as stored bytes (no key needed). Every
 * object is checked against the source manifest while it streams, so a damaged object is never
 * stored; each is confirmed at the destination, then the signature, and the manifest — the
 * commit point, byte-identical so signatures stay valid — is written last. Backups already
 * complete at the destination are skipped, so a rerun finishes what a killed run left.
 */
export async function copy(opts: CopyOptions): Promise<CopyResult> {
  const { source, destination, reporter } = opts;
  const now = opts.now ?? (() => new Date());
  if (!opts.all && !opts.newer && !opts.selectors.length && !opts.labels.length) {
    throw new UsageError('copy needs to know which backups to copy', 'pass --backup ID|latest|label:NAME (repeatable), --label NAME (repeatable), --new or --all');
  }
  validateLabels(opts.labels);
  if (source.display === destination.display) {
    throw new UsageError(`--from and --to both name ${source.display}`, 'copy between two different locations');
  }
  await assertRepository(source);
  const created = await ensureRepositories([destination], now(), opts.init, (w) => reporter.warning(w));
  for (const d of created) reporter.info(`Created a Strongbox repository at ${d.display}`);
  // Shared at both ends: other backups, verifies and copies may run; a prune (exclusive) may not.
  return withLocks([source, destination], 'copy', false, opts.lock, reporter, () => {
    const activity = beginActivity(`copy from ${source.display} to ${destination.display}`, 'nothing was committed');
    return run(opts, activity).finally(() => activity.end());
  });
}

type Selected = { entry: BackupEntry; damaged?: undefined } | { entry: BackupEntry; damaged: string; hint?: string };

async function run(opts: CopyOptions, activity: Activity): Promise<CopyResult> {
  const { source, destination: dest, reporter } = opts;
  const entries = await listBackups(source, reporter);
  const destEntries = await listBackups(dest, reporter);
  const chosen = select(entries, opts, destEntries);
  const atDest = new Map(destEntries.map((e) => [e.id, e]));
  if (!chosen.length) reporter.info(`Nothing to copy: ${dest.display} already holds the newest backup of every series at ${source.display}`);
  else reporter.info(`Copying ${chosen.length} backup(s) from ${source.display} to ${dest.display}`);

  const results: CopiedBackup[] = [];
  const done = () => results.filter((r) => r.status === 'copied').length;
  for (const sel of chosen) {
    throwIfCancelled();
    const { entry } = sel;
    if (sel.damaged !== undefined) {
      results.push(failed(entry.id, `backup ${entry.id} at ${source.display} is damaged: ${sel.damaged}`, sel.hint ?? 'it was not copied; check the source storage'));
      continue;
    }
    const manifest = entry.manifest!;
    const bytes = entry.manifestBytes!;
    const there = atDest.get(entry.id);
    if (there?.complete || there?.damaged) {
      if (there.manifestBytes && Buffer.compare(Buffer.from(there.manifestBytes), Buffer.from(bytes)) === 0) {
        reporter.info(`  skipped ${entry.id}: already complete at ${dest.display}`);
        results.push({ id: entry.id, status: 'skipped', bytes: 0 });
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
      // The destination or the network failed, or we were cancelled: stop here. Damaged bytes
      // at the source: this backup is skipped. Either way what is left has no manifest, so it
      // never looks complete; a rerun (from a good source) overwrites it, prune collects it.
      // Nothing is deleted: unlike a backup's, this id is not ours alone, and a parallel copy
      // of the same backup from another source may have committed those very objects.
      if (!(err instanceof SourceDamage) && !(err instanceof ConflictError)) throw err;
      results.push(failed(entry.id, err.message, err.hint));
    }
  }
  for (const r of results.filter((x) => x.status === 'failed')) {
    reporter.error(`FAILED ${r.id}: ${r.error}`);
    if (r.hint) reporter.info(`hint: ${r.hint}`);
  }
  const sum = (s: CopiedBackup['status']) => results.filter((r) => r.status === s).length;
  const result: CopyResult = {
    source: source.display,
    destination: dest.display,
    backups: results,
    copied: sum('copied'),
    skipped: sum('skipped'),
    failed: sum('failed'),
    bytes: results.reduce((n, r) => n + r.bytes, 0),
    exitCode: sum('failed') ? ExitCode.verifyFailed : ExitCode.ok,
  };
  reporter.info(`Copy to ${dest.display}: ${result.copied} copied (${formatBytes(result.bytes)}), ${result.skipped} skipped, ${result.failed} failed`);
  return result;
}

/** The backups the flags name, each once, oldest first; damaged ones (only --all reaches them) marked. */
function select(entries: BackupEntry[], opts: CopyOptions, destEntries: BackupEntry[]): Selected[] {
  const picked = new Map<string, Selected>();
  // An explicit selector that matches nothing is an error, as for restore (exit 4).
  for (const s of opts.selectors) {
    // A damaged backup named by id is reported like the others, not fatal to the whole run.
    const damaged = isBackupId(s) ? entries.find((e) => e.id === s && e.damaged) : undefined;
    if (damaged) {
      picked.set(damaged.id, { entry: damaged, damaged: damaged.damaged!, hint: damaged.damagedHint });
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
    const series = (e: BackupEntry) => seriesKeyOf(e.manifest!, opts.groupBy);
    const newest = new Map<string, string>();
    for (const e of destEntries) {
      if (!e.complete) continue;
      const k = series(e);
      if ((newest.get(k) ?? '') < e.manifest!.startedAt) newest.set(k, e.manifest!.startedAt);
    }
    for (const e of entries) if (e.complete && e.manifest!.startedAt > (newest.get(series(e)) ?? '')) picked.set(e.id, { entry: e });
    // Nothing newer is the normal state of an up-to-date tier, not an error.
    if (!picked.size && !opts.all && !opts.selectors.length && !opts.labels.length) return [];
  }
  if (!picked.size) {
    const what = [...opts.labels.map((l) => `label ${l}`), ...(opts.all ? ['--all'] : [])].join(', ');
    throw new NotFoundError(`no complete backup at ${opts.source.display} matches ${what}`, 'strongbox list --from SRC shows what is there');
  }
  const order = new Map(entries.map((e, i) => [e.id, i]));
  return [...picked.values()].sort((a, b) => order.get(a.entry.id)! - order.get(b.entry.id)!);
}

/** The source's bytes do not match its own manifest (or an object is missing): this backup is not copied. */
class SourceDamage extends VerificationError {}
class ConflictError extends VerificationError {}

function failed(id: string, error: string, hint?: string): CopiedBackup {
  return { id, status: 'failed', bytes: 0, error, ...(hint ? { hint } : {}) };
}

function conflict(id: string, dest: Destination, damaged?: string): CopiedBackup {
  const e = conflictError(id, dest, damaged);
  return failed(id, e.message, e.hint);
}

function conflictError(id: string, dest: Destination, damaged?: string): ConflictError {
  return new ConflictError(
    damaged
      ? `${dest.display} already holds an unreadable manifest for backup ${id} (${damaged})`
      : `${dest.display} already holds a manifest for backup ${id} that differs from the source's`,
    'it was not overwritten; compare the two (strongbox verify --from SRC --from DST --backup ID) before removing either',
  );
}

async function copyBackup(entry: BackupEntry, m: Manifest, manifestBytes: Uint8Array, opts: CopyOptions): Promise<CopiedBackup> {
  const { source, destination: dest, reporter, confirm = 'hash' } = opts;
  const listed = new Map(entry.objects.map((o) => [o.key, o.size]));
  // A collection's refs object travels with its index, recorded like an artifact.
  const objects = [...m.artifacts, ...collectionArtifacts(m).map(refsRecordOrDamage)];
  // Found from the listing before a byte moves: a missing or truncated object.
  for (const a of objects) {
    const size = listed.get(objectKey(m.id, a.key));
    const where = `${objectName(source, objectKey(m.id, a.key))}`;
    if (size === undefined) throw new SourceDamage(`artifact ${a.name} of backup ${m.id} is missing at the source (${where})`, 'the backup was not copied; check the source storage');
    if (size !== a.stored.size) throw new SourceDamage(`stored object ${where} holds ${size} bytes, its manifest says ${a.stored.size}`, 'the backup is damaged at the source and was not copied');
  }
  let bytes = 0;
  // Packs first: the refs and index copied below name them, the manifest last commits it all.
  const packs = await collectionPacks(source, m);
  bytes += await copyPacks(packs, m.id, opts);
  for (const a of objects) {
    throwIfCancelled();
    const key = objectKey(m.id, a.key);
    const readBack = await copyObject(source, dest, key, a.stored, { progress: reporter.progress, label: `copy ${printable(a.name)} of ${m.id}` }, confirm === 'hash');
    await confirmStored(dest, key, a.stored, confirm, reporter.progress, readBack);
    bytes += a.stored.size;
    reporter.info(`  ${m.id}/${a.key}: ${formatBytes(a.stored.size)} copied and confirmed`);
  }
  const sigKey = objectKey(m.id, SIGNATURE_NAME);
  if (listed.has(sigKey)) {
    const sig = await source.getBytes(sigKey);
    if (!sig) throw new SourceDamage(`the signature ${objectName(source, sigKey)} disappeared while copying`, 'the backup was not copied; rerun the copy');
    await dest.putBytes(sigKey, sig);
    bytes += sig.length;
  }
  // Still all there, as confirmed? (A parallel run's cleanup could have removed some.)
  for (const a of objects) {
    const info = await dest.stat(objectKey(m.id, a.key));
    if (info?.size !== a.stored.size) throw new StrongboxError(`${objectName(dest, objectKey(m.id, a.key))} changed after it was confirmed`, { hint: 'another run is writing this backup there; rerun the copy once it is done' });
  }
  for (const p of packs.values()) {
    const info = await dest.stat(packKey(p.id));
    if (info?.size !== p.size) throw new StrongboxError(`pack ${objectName(dest, packKey(p.id))} of backup ${m.id} changed after it was confirmed`, { hint: 'rerun the copy' });
  }
  throwIfCancelled(); // the last moment a cancellation leaves nothing committed
  const manifestKey = objectKey(m.id, MANIFEST_NAME);
  // Conditional where the store allows it: a parallel copy of the same backup may have committed.
  const written = dest.putBytesIfAbsent ? await dest.putBytesIfAbsent(manifestKey, manifestBytes) : (await dest.putBytes(manifestKey, manifestBytes), true);
  if (!written) {
    const existing = await dest.getBytes(manifestKey);
    if (!existing || Buffer.compare(Buffer.from(existing), Buffer.from(manifestBytes)) !== 0) throw conflictError(m.id, dest);
  }
  bytes += manifestBytes.length;
  reporter.info(`Copied ${m.id} to ${dest.display}`);
  return { id: m.id, status: 'copied', bytes };
}

function refsRecordOrDamage(a: Manifest['artifacts'][number]): Manifest['artifacts'][number] {
  try {
    return refsRecord(a);
  } catch (err) {
    throw new SourceDamage(errorMessage(err), 'the backup is damaged at the source and was not copied');
  }
}

/**
 * The packs the backup's collections use, from their refs at the source (read in full and
 * verified against the manifest before any is copied); a blob in a pack the refs do not list
 * is damage.
 */
async function collectionPacks(source: Destination, m: Manifest): Promise<Map<string, RefsPack>> {
  const packs = new Map<string, RefsPack>();
  for (const a of collectionArtifacts(m)) {
    const named = new Set<string>();
    try {
      for await (const l of readRefs(source, m.id, a)) {
        if (l.t === 'pack') packs.set(l.id, l);
        else named.add(l.pack);
      }
    } catch (err) {
      // A read that failed (the network) stops the run as any source read does; damage skips this backup.
      if (!isRefsDamage(err)) throw err;
      throw new SourceDamage(`the refs of artifact ${printable(a.name)} of backup ${m.id} cannot be read: ${errorMessage(err)}`, 'the backup is damaged at the source and was not copied; check the source storage');
    }
    const unlisted = [...named].filter((id) => !packs.has(id));
    if (unlisted.length) throw new SourceDamage(`the refs of artifact ${printable(a.name)} of backup ${m.id} name pack ${unlisted[0]} in a blob line but not in a pack line`, 'the backup is damaged at the source and was not copied');
  }
  return packs;
}

function isRefsDamage(err: unknown): boolean {
  return err instanceof RefsError || err instanceof IntegrityError || err instanceof NotFoundError || (err instanceof StrongboxError && err.message.startsWith('refs object '));
}

/** Copies each pack the destination lacks (same key and size there: already copied), each checked while it streams and confirmed there. */
async function copyPacks(packs: Map<string, RefsPack>, backupId: string, opts: CopyOptions): Promise<number> {
  const { source, destination: dest, reporter, confirm = 'hash' } = opts;
  let bytes = 0;
  let copied = 0;
  for (const p of packs.values()) {
    throwIfCancelled();
    const key = packKey(p.id);
    const there = await dest.stat(key);
    if (there?.size === p.size) continue;
    const stored = { size: p.size, sha256: p.sha256 };
    let readBack: PutResult['readBack'];
    try {
      readBack = await copyObject(source, dest, key, stored, { progress: reporter.progress, label: `copy pack ${p.id.slice(0, 8)} of ${backupId}` }, confirm === 'hash');
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

/**
 * source get → SHA-256/size check → destination put, one backpressured stream. The check errors
 * the stream before its end when the bytes differ from the manifest, so the put fails and the
 * destination stores nothing under the key (the Destination contract: put is atomic).
 */
/** Returns what the destination read back while storing it (PutResult.readBack), if it did. */
async function copyObject(source: Destination, dest: Destination, key: string, expected: { size: number; sha256: string }, show: ShowProgress, readBack: boolean): Promise<PutResult['readBack']> {
  const where = `${objectName(source, key)}`;
  const signal = cancelSignal();
  let damage: SourceDamage | undefined;
  let readFailure: unknown;
  const body = await source.get(key, { signal }).catch((err: unknown) => {
    if (err instanceof NotFoundError) throw new SourceDamage(`stored object ${where} is missing`, 'the backup was not copied; check the source storage');
    throw new StrongboxError(`reading ${where} failed: ${errorMessage(err)}`, { cause: err, hint: err instanceof StrongboxError ? err.hint : 'check the source and rerun the copy' });
  });
  const check = expectDigest(expected, (actual) => {
    damage = new SourceDamage(
      `stored object ${where} does not match its manifest: ${actual.size} bytes with SHA-256 ${actual.sha256.slice(0, 16)}…, expected ${expected.size} bytes with ${expected.sha256.slice(0, 16)}…`,
      'the backup is damaged at the source and was not copied; check the source storage',
    );
    return damage;
  });
  body.on('error', (err) => (readFailure ??= err));
  // pipeline carries errors both ways: a failed put destroys the reader, a failed check the put's body.
  const feeding = pipeline(body, check, { signal }).catch(() => {});
  const shown = show.progress?.start({ label: show.label, total: expected.size, done: () => check.size });
  let put: PutResult;
  try {
    put = await dest.put(key, check, { signal, readBack });
  } catch (err) {
    shown?.end();
    // A put that failed before reading its body leaves the reader open: close it.
    if (!check.destroyed) check.destroy();
    await feeding;
    throwIfCancelled();
    if (damage) throw damage;
    if (readFailure) throw new StrongboxError(`reading ${where} failed: ${errorMessage(readFailure)}`, { cause: readFailure, hint: 'check the source and rerun the copy; nothing was committed for this backup' });
    throw new StrongboxError(`upload of ${key} to ${dest.display} failed: ${errorMessage(err)}`, {
      cause: err,
      hint: err instanceof StrongboxError && err.hint ? err.hint : 'check the destination and rerun the copy; nothing was committed for this backup',
    });
  }
  shown?.end();
  await feeding;
  // A put that returned although the check failed would be a broken destination; never trust it.
  if (damage) throw damage;
  return put.readBack;
}
