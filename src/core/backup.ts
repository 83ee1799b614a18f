import { statSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { recipientFingerprint, type EncryptOptions } from '../codecs/age/index.js';
import { fingerprint, signMessage, type SshPrivateKey } from '../codecs/ssh-signature/index.js';
import type { Destination } from '../destinations/types.js';
import type { DumpContext, LeaveOut, SourceSpec } from '../sources/adapter.js';
import { sourceAdapter, sourceAdapters } from '../sources/index.js';
import { VERSION } from '../version.js';
import { beginActivity, throwIfCancelled } from '../shared/cancel.js';
import { writeArtifact, type ArtifactPlan } from './artifact-writer.js';
import { contentKeyFor } from './collection/content-key.js';
import { writeCollection, type CollectionPlan, type CollectionWritten } from './collection/write.js';
import { formatBytes } from '../shared/format.js';
import { newBackupId } from './backup-id.js';
import { StrongboxError, UsageError, errorMessage } from '../shared/errors.js';
import { serializeManifest } from './manifest.js';
import type { Reporter } from '../shared/reporter.js';
import { checkRepository, createRepository, objectKey } from './repository.js';
import { readRecentHistory } from './recent-history.js';
import type { LockSettings } from './locking.js';
import { acquireLock } from './lock.js';
import { DestinationRun, type DestinationOutcome } from './destination-run.js';
import { DEFAULT_THRESHOLDS, HISTORY_WINDOW, detectAnomalies, inBaseline, type AlertThresholds } from './anomaly.js';
import { DEFAULT_GROUP_BY, seriesKeyOf, seriesOf, type GroupBy } from './series.js';
import type { Alert } from '../shared/alert.js';
import { COLLECTION_FORMAT_VERSION, FORMAT_VERSION, MANIFEST_NAME, SIGNATURE_NAME, SIGNATURE_NAMESPACE, type ArtifactRecord, type Compression, type Manifest, type Origin } from './types.js';

export type { SourceSpec } from '../sources/adapter.js';

export interface BackupOptions {
  destinations: Destination[];
  sources: SourceSpec[];
  /** undefined means unencrypted, which the edges allow only on explicit request. */
  encryption?: EncryptOptions;
  compression: { algorithm: Compression; level?: number };
  labels: string[];
  origin: Origin;
  confirm?: 'hash' | 'size';
  reporter: Reporter;
  now?: () => Date;
  lock?: LockSettings;
  /** Create a repository where none is, by the rules of `strongbox init` (otherwise: not found). */
  init?: boolean;
  /** Signs the manifest (an SSH signature stored before it). */
  signingKey?: SshPrivateKey;
  /** How long pg_dump waits for a table lock held elsewhere (`--db-lock-timeout`); default 5 min. */
  dbLockTimeoutMs?: number;
  /** Stored in the manifest as given (validated by src/config); omitted when empty. */
  metadata?: Record<string, string>;
  /** Anomaly thresholds against the series' history (default 20 % size, 50 % duration, 20 % rows). */
  alerts?: AlertThresholds;
  /** How backups form series, for the history the alerts compare with (default `sources`). */
  groupBy?: GroupBy;
  /** Collections: where the state of each collection is kept between runs (--state-dir); none: deduplicate against the repository. */
  stateDir?: string;
  /** Collections: the secret the content key is derived from (--content-key-env); a secret: never printed. */
  contentKey?: string;
  /** Collections: let a much smaller (or empty) listing through the delete shield. */
  allowShrink?: boolean;
}

export type { DestinationOutcome } from './destination-run.js';

export interface BackupResult {
  id: string;
  manifest: Manifest;
  /** Every destination given, in order: committed (holding the same manifest) or failed, with why. */
  destinations: DestinationOutcome[];
  /** `partial`: committed at some destinations, failed at others (exit code 8 at the edges). */
  status: 'success' | 'partial';
  plaintextBytes: number;
  storedBytes: number;
  durationSeconds: number;
  /** Anomalies against the series' history, as recorded in the manifest (empty when none). */
  alerts: Alert[];
}

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function validateLabels(labels: string[]): void {
  for (const l of labels) {
    if (!LABEL.test(l)) throw new UsageError(`label "${l}" is not allowed`, 'use letters, digits, ".", "_" and "-" (e.g. pre-release, v1.4.2)');
  }
}

export function defaultOrigin(): Origin {
  return { host: hostname() };
}

/**
 * Runs one backup: every source is streamed to every destination, each stored copy confirmed,
 * and only then the manifest written — the commit point. Each destination is an independent
 * repository: one that fails at any stage (repository check, lock, upload, read-back,
 * signature, manifest) is dropped with its partial objects, and the others carry on with the
 * same stream; the result says which committed. A failure of a source (or a cancellation)
 * fails the run everywhere, leaving no manifest anywhere (prune collects any leftovers).
 */
export async function backup(opts: BackupOptions): Promise<BackupResult> {
  const now = opts.now ?? (() => new Date());
  const { reporter } = opts;
  if (opts.destinations.length === 0) throw new UsageError('no destination given', 'pass --to DEST (a path or s3://bucket/prefix)');
  if (opts.sources.length === 0) throw new UsageError('nothing to back up', `pass one or more of ${sourceFlags()}`);
  validateLabels(opts.labels);

  // Every source is checked before anything is created, locked or written: a typo in a
  // path or URL leaves the destination exactly as it was.
  const labels = [...new Set(opts.labels)];
  let plans: Plan[] | undefined;
  let dests: DestinationRun | undefined;
  let id: string | undefined;
  try {
    plans = await planArtifacts(opts.sources, reporter, opts.destinations, opts.dbLockTimeoutMs);
    dests = new DestinationRun(opts.destinations, reporter);
    try {
      await prepareRepositories(dests, now(), !!opts.init, reporter);
      await lockAll(dests, opts.lock, reporter);
      // Timed from when the lock is written (held, or settling), so startedAt (and `--before
      // TIME`) reflects when the data was read, not how long we waited behind a prune.
      const started = now();
      id = newBackupId(started);
      const activity = beginActivity(`backup ${id}`);
      try {
        return await run(opts, dests, id, started, plans);
      } finally {
        activity.end();
      }
    } finally {
      await dests.finish();
    }
  } catch (err) {
    if (err !== null && typeof err === 'object') {
      failures.set(err, {
        ...(id ? { backupId: id } : {}),
        labels,
        ...(plans ? { series: seriesOf({ labels, artifacts: plans }) } : {}),
        destinations: dests
          ? dests.outcomes().map((o) => (o.status === 'failed' ? { location: o.location, status: 'failed', ...(o.error ? { error: o.error } : {}) } : { location: o.location, status: 'not committed' }))
          : opts.destinations.map((d) => ({ location: d.display, status: 'not committed' })),
      });
    }
    throw err;
  }
}

/**
 * Where a failed backup was going and what it would have been, for the edges' failure
 * reports (a notification must say which backup, labels and destinations). Nothing was
 * committed anywhere: each destination either failed itself or was `not committed`.
 */
export interface FailedBackup {
  /** The planned id, once it was assigned (after the locks): the one printed in "Backup <id> → …". */
  backupId?: string;
  labels: string[];
  /** Known once every source was checked. */
  series?: string;
  destinations: { location: string; status: 'failed' | 'not committed'; error?: string }[];
}

const failures = new WeakMap<object, FailedBackup>();

/** What `backup()` knew when it threw `err`; undefined for any other error. */
export function failedBackupOf(err: unknown): FailedBackup | undefined {
  return err !== null && typeof err === 'object' ? failures.get(err) : undefined;
}

/** Checks every destination first, then creates the missing repositories (init) at the fit ones. */
async function prepareRepositories(dests: DestinationRun, now: Date, init: boolean, reporter: Reporter): Promise<void> {
  const missing: Destination[] = [];
  const warnings: string[] = [];
  await dests.each(async (dest) => {
    const check = await checkRepository(dest, init);
    warnings.push(...check.warnings);
    if (check.create) missing.push(dest);
  });
  for (const w of warnings) reporter.warning(w);
  await dests.each(async (dest) => {
    if (!missing.includes(dest)) return;
    await createRepository(dest, now);
    reporter.info(`Created a Strongbox repository at ${dest.display}`);
  });
}

/**
 * Shared locks, taken in one global order so two runs naming the same destinations can't
 * deadlock. Without --lock-wait, the last one's settle check (a pause for racing runs' locks
 * to show, lock.ts) is not waited for: the run starts reading once that lock is written, and
 * its writes wait for the lock to be held (DestinationRun.ready). If a racing run wins the lock
 * instead, the backup fails as it would have (exit 6) having written nothing.
 */
async function lockAll(dests: DestinationRun, settings: LockSettings | undefined, reporter: Reporter): Promise<void> {
  if (settings?.held) return;
  const inOrder = [...dests.live].sort((a, b) => a.display.localeCompare(b.display));
  for (const [i, dest] of inOrder.entries()) {
    let written!: () => void;
    const settling = new Promise<'written'>((resolve) => (written = () => resolve('written')));
    const options = { exclusive: false, operation: 'backup', waitMs: settings?.waitMs, staleMs: settings?.staleMs, runId: settings?.runId, reporter };
    // Only without --lock-wait: a lock won after waiting comes after another run (a prune) may
    // have changed the repository, so what the run read meanwhile would be stale.
    const last = i === inOrder.length - 1 && !settings?.waitMs;
    const lock = acquireLock(dest, last ? { ...options, onWritten: written } : options);
    try {
      if (!last) {
        dests.holdLock(dest, await lock);
        continue;
      }
      lock.catch(() => {}); // a failure after the write reaches the run through ready()
      const first = await Promise.race([settling, lock]);
      if (first === 'written') dests.holdLockOnceSettled(dest, lock);
      else dests.holdLock(dest, first);
    } catch (err) {
      dests.fail(dest, err);
    }
  }
}

async function run(opts: BackupOptions, dests: DestinationRun, id: string, started: Date, plans: Plan[]): Promise<BackupResult> {
  const { reporter } = opts;
  const now = opts.now ?? (() => new Date());
  reporter.info(`Backup ${id} → ${dests.live.map((d) => d.display).join(', ')}`);
  dests.backupId = id;

  const artifacts: ArtifactRecord[] = [];
  const collections: CollectionWritten[] = [];
  // Derived once (scrypt for a passphrase), only when a collection needs it.
  const contentKey = plans.some((p) => p.collection) ? contentKeyFor({ secret: opts.contentKey, encryption: opts.encryption }) : undefined;
  if (contentKey) reporter.debug(`content key ${contentKey.id} (from ${contentKey.source})`);
  try {
    for (const plan of plans) {
      if (plan.collection) {
        const written = await writeCollection(plan, {
          backupId: id,
          live: () => dests.live,
          drop: (dest, err) => dests.fail(dest, err),
          ready: (dest) => dests.ready(dest),
          compression: opts.compression,
          encryption: opts.encryption,
          confirm: opts.confirm ?? 'hash',
          reporter,
          contentKey: contentKey!,
          ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
          allowShrink: !!opts.allowShrink,
        });
        collections.push(written);
        artifacts.push(written.record);
        continue;
      }
      artifacts.push(
        await writeArtifact(plan, {
          backupId: id,
          destinations: dests.live,
          drop: (dest, err) => dests.fail(dest, err),
          ready: (dest) => dests.ready(dest),
          compression: opts.compression,
          encryption: opts.encryption,
          confirm: opts.confirm ?? 'hash',
          reporter,
        }),
      );
    }
    // The last moment a cancellation can still be honoured with nothing committed.
    throwIfCancelled();
  } catch (err) {
    for (const c of collections) await c.discardState();
    await dests.removeEverywhere();
    throw err;
  }

  const finished = now();
  const manifest: Manifest = {
    format: artifacts.some((a) => a.collection) ? COLLECTION_FORMAT_VERSION : FORMAT_VERSION,
    id,
    labels: [...new Set(opts.labels)],
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    tool: { name: 'strongbox', version: VERSION },
    origin: opts.origin,
    encryption: {
      scheme: opts.encryption ? 'age' : 'none',
      recipients: opts.encryption
        ? opts.encryption.passphrase !== undefined
          ? ['scrypt']
          : (opts.encryption.recipients ?? []).map(recipientFingerprint)
        : [],
    },
    artifacts,
    ...(opts.metadata && Object.keys(opts.metadata).length ? { metadata: opts.metadata } : {}),
  };
  const alerts = await anomalies(manifest, dests.live, opts);
  if (alerts.length) manifest.alerts = alerts;
  // The manifest names no destination, so its bytes (and the signature over them) are the
  // same at every destination that commits, whichever others failed.
  const body = serializeManifest(manifest);
  if (opts.signingKey) {
    // Every signature before any manifest: a backup complete anywhere is signed there.
    const signature = Buffer.from(signMessage(opts.signingKey, SIGNATURE_NAMESPACE, body));
    await dests.each(async (dest) => {
      try {
        await dest.putBytes(objectKey(id, SIGNATURE_NAME), signature);
      } catch (err) {
        throw new StrongboxError(`writing the signature of ${id} to ${dest.display} failed: ${errorMessage(err)}`, {
          cause: err,
          hint: 'no manifest was written there, so the backup is not complete there; rerun the backup',
        });
      }
    });
    reporter.info(`Signed the manifest of ${id} with ${fingerprint(opts.signingKey.publicKey.raw)}`);
  }
  // A cancellation before the first manifest still leaves nothing committed anywhere.
  try {
    throwIfCancelled();
  } catch (err) {
    for (const c of collections) await c.discardState();
    await dests.removeEverywhere();
    throw err;
  }
  await dests.each(async (dest) => {
    try {
      await dest.putBytes(objectKey(id, MANIFEST_NAME), body);
    } catch (err) {
      throw new StrongboxError(`writing the manifest of ${id} to ${dest.display} failed: ${errorMessage(err)}`, {
        cause: err,
        hint: 'the backup is not complete there and will not be listed; rerun the backup',
      });
    }
  });
  // Committed: the next run may now take this backup's members as its previous state.
  for (const c of collections) await c.commitState();
  const outcomes = dests.outcomes();
  const status = outcomes.some((o) => o.status === 'failed') ? 'partial' : 'success';
  // A collection counts its members' bytes, and what it refers to: index, refs and packs.
  const plaintextBytes = artifacts.reduce((n, a) => n + (a.collection ? a.collection.bytes : a.plaintext.size), 0);
  const storedBytes = artifacts.reduce((n, a) => n + a.stored.size + (a.collection ? a.collection.refs.stored.size + a.collection.packBytes : 0), 0);
  const where = status === 'partial' ? ` at ${dests.live.length} of ${outcomes.length} destinations` : '';
  reporter.info(`Backup ${id} complete${where}: ${artifacts.length} artifact(s), ${formatBytes(plaintextBytes)} → ${formatBytes(storedBytes)} in ${manifest.durationSeconds.toFixed(1)} s${collectionSummary(artifacts)}`);
  for (const a of alerts) reporter.warning(`alert: ${a.message}`);
  return { id, manifest, destinations: outcomes, status, plaintextBytes, storedBytes, durationSeconds: manifest.durationSeconds, alerts };
}

/**
 * The new backup against its series' history at the destinations it is being committed to
 * (each read merged, by id). Runs before the manifest is written, with the lock held, so it
 * reads only the newest baseline-worthy backups of the series (readRecentHistory), never the
 * whole repository. Never a reason to fail: a listing that fails is a warning, and the
 * comparison uses what could be read.
 */
async function anomalies(manifest: Manifest, destinations: Destination[], opts: BackupOptions): Promise<Alert[]> {
  const { reporter } = opts;
  const history = new Map<string, Manifest>();
  const groupBy = opts.groupBy ?? DEFAULT_GROUP_BY;
  const key = seriesKeyOf(manifest, groupBy);
  const at = Date.parse(manifest.startedAt);
  // The same filter detectAnomalies applies, so the read stops once the window is full.
  const wanted = (m: Manifest) => m.id !== manifest.id && Date.parse(m.startedAt) < at && inBaseline(m) && seriesKeyOf(m, groupBy) === key;
  for (const dest of destinations) {
    try {
      // Damaged manifests are prune's and verify's news; here they only leave the baseline (said at debug).
      for (const m of (await readRecentHistory(dest, { wanted, limit: HISTORY_WINDOW }, reporter)).manifests) history.set(m.id, m);
    } catch (err) {
      reporter.warning(`could not read the backup history at ${dest.display} to look for anomalies: ${errorMessage(err)}; the backup goes on without that comparison`);
    }
  }
  const result = detectAnomalies(manifest, [...history.values()], opts.alerts ?? DEFAULT_THRESHOLDS, groupBy);
  if (result.skipped) reporter.debug(result.skipped);
  else reporter.debug(`anomaly check of ${manifest.id}: against the median of ${result.historyCount} earlier backup(s) of its series, ${result.alerts.length} alert(s)`);
  return result.alerts;
}

/** A single-stream artifact, or a collection (stored member by member). */
type Plan = (ArtifactPlan & { collection?: undefined }) | (CollectionPlan & { collection: true });

/** `; 1200 members (12 new, 3.1 MiB), 1188 reused` for the backup's collections; empty without any. */
function collectionSummary(artifacts: ArtifactRecord[]): string {
  const c = artifacts.filter((a) => a.collection).map((a) => a.collection!);
  if (!c.length) return '';
  const sum = (f: (x: (typeof c)[number]) => number) => c.reduce((n, x) => n + f(x), 0);
  const skipped = sum((x) => x.skipped);
  return `; ${sum((x) => x.members)} members (${sum((x) => x.newMembers)} new, ${formatBytes(sum((x) => x.newBytes))}), ${sum((x) => x.reused)} reused${skipped ? `, ${skipped} skipped` : ''}`;
}

async function planArtifacts(sources: SourceSpec[], reporter: Reporter, destinations: Destination[], lockTimeoutMs?: number): Promise<Plan[]> {
  // The same source twice would store it twice under two names; a doubled flag is a typo.
  const seen = new Set<string>();
  for (const s of sources) {
    const key = `${s.kind}\0${s.location}`;
    if (seen.has(key)) throw new UsageError(`the same ${sourceAdapter(s.kind).sourceFlag} source is given twice`, 'give each source once');
    seen.add(key);
  }
  const ctx: DumpContext = { reporter, lockTimeoutMs, leaveOut: localRepositories(destinations) };
  for (const s of sources) await sourceAdapter(s.kind).checkSource?.(s, ctx);
  const used = new Set<string>();
  const unique = (name: string) => {
    let n = name;
    for (let i = 2; used.has(n); i++) n = `${name}-${i}`;
    used.add(n);
    return n;
  };
  return sources.map((s): Plan => {
    const adapter = sourceAdapter(s.kind);
    const support = adapter.collection;
    if (support?.wanted(s)) {
      return {
        collection: true,
        name: unique(adapter.artifactName(s)),
        kind: s.kind,
        shield: !!support.shield,
        identity: (details) => adapter.sourceIdentity(details),
        open: () => support.open(s, { ...ctx, leaveOut: localRepositories(destinations) }),
      };
    }
    // The repositories are looked up again when the dump starts: `init` may have created one since.
    return {
      name: unique(adapter.artifactName(s)),
      kind: s.kind,
      extension: adapter.extension,
      open: () => adapter.dump(s, { ...ctx, leaveOut: localRepositories(destinations) }),
      ...(adapter.estimateSize ? { estimate: () => adapter.estimateSize!(s, ctx) } : {}),
    };
  });
}

const sourceFlags = () => sourceAdapters.map((a) => `${a.sourceFlag} …`).join(', ');

function statOrUndefined(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

/** Local repositories by device + inode, so a tree holding one (also through a bind mount) leaves it out. */
function localRepositories(destinations: Destination[]): LeaveOut[] {
  const found: LeaveOut[] = [];
  for (const d of destinations) {
    if (!d.localPath) continue;
    const st = statOrUndefined(d.localPath);
    if (st?.isDirectory()) found.push({ dev: st.dev, ino: st.ino, what: `the Strongbox repository ${d.display}` });
  }
  return found;
}
