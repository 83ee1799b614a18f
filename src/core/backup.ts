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
import { formatBytes } from '../shared/format.js';
import { newBackupId } from './backup-id.js';
import { StrongboxError, UsageError, errorMessage } from '../shared/errors.js';
import { serializeManifest } from './manifest.js';
import type { Reporter } from '../shared/reporter.js';
import { ensureRepositories, objectKey } from './repository.js';
import { withLocks, type LockSettings } from './locking.js';
import { FORMAT_VERSION, MANIFEST_NAME, SIGNATURE_NAME, SIGNATURE_NAMESPACE, type ArtifactRecord, type Compression, type Manifest, type Origin } from './types.js';

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
}

export interface BackupResult {
  id: string;
  manifest: Manifest;
  destinations: string[];
  plaintextBytes: number;
  storedBytes: number;
  durationSeconds: number;
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
 * and only then the manifest written — the commit point. A failure at any step leaves no
 * manifest, so the partial folder is never listed as restorable (and prune collects it).
 */
export async function backup(opts: BackupOptions): Promise<BackupResult> {
  const now = opts.now ?? (() => new Date());
  const { reporter } = opts;
  if (opts.destinations.length === 0) throw new UsageError('no destination given', 'pass --to DEST (a path or s3://bucket/prefix)');
  if (opts.sources.length === 0) throw new UsageError('nothing to back up', `pass one or more of ${sourceFlags()}`);
  validateLabels(opts.labels);

  // Every source is checked before anything is created, locked or written: a typo in a
  // path or URL leaves the destination exactly as it was.
  const plans = await planArtifacts(opts.sources, reporter, opts.destinations, opts.dbLockTimeoutMs);
  const created = await ensureRepositories(opts.destinations, now(), opts.init, (w) => reporter.warning(w));
  for (const d of created) reporter.info(`Created a Strongbox repository at ${d.display}`);
  return withLocks(opts.destinations, 'backup', false, opts.lock, reporter, () => {
    // Timed from when the lock is held, so startedAt (and `--before TIME`) reflects when the
    // data was read, not how long we waited behind a prune.
    const started = now();
    const id = newBackupId(started);
    const activity = beginActivity(`backup ${id}`);
    return run(opts, id, started, plans).finally(() => activity.end());
  });
}

async function run(opts: BackupOptions, id: string, started: Date, plans: ArtifactPlan[]): Promise<BackupResult> {
  const { reporter } = opts;
  const now = opts.now ?? (() => new Date());
  reporter.info(`Backup ${id} → ${opts.destinations.map((d) => d.display).join(', ')}`);

  const artifacts: ArtifactRecord[] = [];
  try {
    for (const plan of plans) {
      artifacts.push(
        await writeArtifact(plan, {
          backupId: id,
          destinations: opts.destinations,
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
    await removePartial(opts.destinations, id, reporter);
    throw err;
  }

  const finished = now();
  const manifest: Manifest = {
    format: FORMAT_VERSION,
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
  const body = serializeManifest(manifest);
  if (opts.signingKey) {
    // Every signature before any manifest: a backup complete anywhere is signed everywhere.
    const signature = Buffer.from(signMessage(opts.signingKey, SIGNATURE_NAMESPACE, body));
    for (const dest of opts.destinations) {
      try {
        await dest.putBytes(objectKey(id, SIGNATURE_NAME), signature);
      } catch (err) {
        await removePartial(opts.destinations, id, reporter);
        throw new StrongboxError(`writing the signature of ${id} to ${dest.display} failed: ${errorMessage(err)}`, {
          cause: err,
          hint: 'no manifest was written, so the backup is not complete anywhere; rerun the backup',
        });
      }
    }
    reporter.info(`Signed the manifest of ${id} with ${fingerprint(opts.signingKey.publicKey.raw)}`);
  }
  for (const dest of opts.destinations) {
    try {
      await dest.putBytes(objectKey(id, MANIFEST_NAME), body);
    } catch (err) {
      throw new StrongboxError(`writing the manifest of ${id} to ${dest.display} failed: ${errorMessage(err)}`, {
        cause: err,
        hint: 'the backup is not complete there and will not be listed; rerun the backup',
      });
    }
  }
  const plaintextBytes = artifacts.reduce((n, a) => n + a.plaintext.size, 0);
  const storedBytes = artifacts.reduce((n, a) => n + a.stored.size, 0);
  reporter.info(`Backup ${id} complete: ${artifacts.length} artifact(s), ${formatBytes(plaintextBytes)} → ${formatBytes(storedBytes)} in ${manifest.durationSeconds.toFixed(1)} s`);
  return { id, manifest, destinations: opts.destinations.map((d) => d.display), plaintextBytes, storedBytes, durationSeconds: manifest.durationSeconds };
}

async function planArtifacts(sources: SourceSpec[], reporter: Reporter, destinations: Destination[], lockTimeoutMs?: number): Promise<ArtifactPlan[]> {
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
  return sources.map((s): ArtifactPlan => {
    const adapter = sourceAdapter(s.kind);
    // The repositories are looked up again when the dump starts: `init` may have created one since.
    return { name: unique(adapter.artifactName(s)), kind: s.kind, extension: adapter.extension, open: () => adapter.dump(s, { ...ctx, leaveOut: localRepositories(destinations) }) };
  });
}

/** Best effort: a failed run tidies its own objects; prune collects whatever a kill leaves. */
async function removePartial(destinations: Destination[], id: string, reporter: Reporter): Promise<void> {
  for (const dest of destinations) {
    try {
      for await (const o of dest.list(`${id}/`)) await dest.delete(o.key);
    } catch (err) {
      reporter.warning(`could not remove the partial backup ${id} from ${dest.display}: ${errorMessage(err)} (prune will)`);
    }
  }
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
